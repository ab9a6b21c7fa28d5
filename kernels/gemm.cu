/* Row-major matrix products on cuBLAS, which is column-major: a row-major
 * M [r, c] with leading dimension ld is, read column-major, M^T [c, r] with
 * the same ld. So row-major C = op(A) op(B) is column-major
 * C^T = op(B)^T op(A)^T: the same call with A and B swapped, the same
 * transpose flags, and m, n exchanged. Inputs are always bf16 with fp32
 * accumulation (issue 7); C is fp32 or bf16. */
#include "driver.cuh"

static cublasOperation_t op(int trans)
{
    return trans ? CUBLAS_OP_T : CUBLAS_OP_N;
}

/* Row-major C[M, N] = alpha op(A)[M, K] op(B)[K, N] + beta C, where A is
 * stored [M, K] (or [K, M] when ta) with leading dimension lda, and B [K, N]
 * (or [N, K] when tb) with ldb. */
int wf_gemm(const wf_cu_ctx *x, int ta, int tb, size_t M, size_t N, size_t K, float alpha,
            const wf_bf16 *A, size_t lda, const wf_bf16 *B, size_t ldb, float beta, void *C,
            cudaDataType_t ctype, size_t ldc, wf_error *err)
{
    if (M == 0 || N == 0)
        return 0;
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX ||
        ldc > INT32_MAX)
        return wf_error_set(err, WF_EINVAL, "matrix product %zux%zux%zu is too large for cuBLAS", M,
                            N, K);
    if (K == 0) /* cuBLAS would only scale C; nothing calls this with K = 0 */
        return wf_error_set(err, WF_EINVAL, "matrix product with an empty inner dimension");
    return WF_CUBLAS(cublasGemmEx(x->blas, op(tb), op(ta), (int)N, (int)M, (int)K, &alpha, B,
                                  CUDA_R_16BF, (int)ldb, A, CUDA_R_16BF, (int)lda, &beta, C, ctype,
                                  (int)ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

/* y = x W^T of a frozen linear layer, W [out, in], and its input gradient
 * dX = dY W: the two products every projection needs. */

int wf_gemm_xwt(const wf_cu_ctx *x, size_t rows, size_t in, size_t out, const wf_bf16 *X,
                const wf_bf16 *W, float beta, void *Y, cudaDataType_t ytype, size_t ldy,
                wf_error *err)
{
    return wf_gemm(x, 0, 1, rows, out, in, 1.0f, X, in, W, in, beta, Y, ytype, ldy, err);
}

int wf_gemm_dyw(const wf_cu_ctx *x, size_t rows, size_t out, size_t in, const wf_bf16 *dY,
                size_t lddy, const wf_bf16 *W, float beta, float *dX, wf_error *err)
{
    return wf_gemm(x, 0, 0, rows, in, out, 1.0f, dY, lddy, W, in, beta, dX, CUDA_R_32F, in, err);
}
