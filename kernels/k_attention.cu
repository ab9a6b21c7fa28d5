/* The fused-softmax attention path: per sequence, for each query head of a
 * KV group (g), scores S = Q K^T of a chunk of KV heads and a block of query
 * rows by one strided-batched cuBLAS product (bf16 in, fp32 out), the causal
 * softmax to bf16 P, and O = P V by another. Query head h = kh * group + g
 * uses KV head kh, so within a chunk the query heads are group * hd apart
 * and the KV heads hd apart: two strides, no pointer arrays. A block of
 * rows r0 .. r0 + rows only needs keys 0 .. r0 + rows (causal).
 *
 * The backward recomputes S and P, then dP = dO V^T, dV += P^T dO, dS =
 * scale P (dP - D) (k_softmax.cu), dQ = dS K, dK += dS^T Q; dK and dV
 * collect over row blocks and the group's query heads in fp32 scratch and
 * are rounded to bf16 once per sequence.
 *
 * cuBLAS is column-major: a row-major [r, c] matrix with row stride ld is a
 * column-major c x r matrix with leading dimension ld, which is how every
 * operand below is passed. */
#include <limits.h>
#include <math.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

size_t align_up(size_t n)
{
    return (n + 255) & ~(size_t)255;
}

/* Fewest query rows per block the planner goes down to. */
constexpr int min_rows = 16;

/* The scores (fp32) and probabilities (bf16) of hb heads x rb rows x cols
 * keys. */
size_t chunk_bytes(int hb, int rb, int cols)
{
    size_t e = (size_t)hb * rb * cols;
    return align_up(e * sizeof(float)) + align_up(e * sizeof(wf_bf16));
}

/* The backward's fp32 dK and dV accumulators, [longest, kv * hd] each. */
size_t acc_bytes(int kv_heads, int hd, int longest)
{
    return 2 * align_up((size_t)longest * kv_heads * hd * sizeof(float));
}

struct plan {
    int hb, rb; /* KV heads per chunk, query rows per block */
};

/* The largest chunk and block that fit avail bytes for a sequence of len:
 * rows are halved first down to 256, then heads, then rows again. */
bool plan_for(int kv, int len, size_t avail, plan *p)
{
    int hb = kv, rb = len;
    while (chunk_bytes(hb, rb, len) > avail) {
        if (rb > 256)
            rb = (rb + 1) / 2;
        else if (hb > 1)
            hb = (hb + 1) / 2;
        else if (rb > min_rows)
            rb = (rb + 1) / 2;
        else
            return false;
    }
    p->hb = hb;
    p->rb = rb;
    return true;
}

/* Everything one call shares; lds as cuBLAS takes them. */
struct ctx {
    cublasHandle_t h;
    cudaStream_t stream;
    int kv, hd, group;
    float scale;
    const wf_bf16 *q, *k, *v, *dout;
    int ldq, ldk, ldv, lddo;
    wf_bf16 *out, *dq;
    int ldo, lddq;
    float *dkacc, *dvacc; /* [longest, kv * hd], backward only */
    char *base;           /* the block buffers' scratch */
    size_t avail;         /* its bytes */
    wf_error *err;
};

/* One block of query rows of one chunk of KV heads, for group member g. */
struct blk {
    int t0;       /* the sequence's first token */
    int r0, rows; /* query rows r0 .. r0 + rows of the sequence */
    int kh0, nb;  /* KV heads kh0 .. kh0 + nb */
    int g;
    int cols() const { return r0 + rows; }
    size_t qoff(int ld, int hd, int group) const
    {
        return (size_t)(t0 + r0) * ld + ((size_t)kh0 * group + g) * hd;
    }
    size_t kvoff(int ld, int hd) const { return (size_t)t0 * ld + (size_t)kh0 * hd; }
};

/* A block's scores (fp32; then dP) and probabilities (bf16; then dS), both
 * [nb, rows, cols]; the plan made them fit c.avail. */
struct bufs {
    float *s;
    wf_bf16 *p;
};

bufs buffers(const ctx &c, const blk &b)
{
    size_t e = (size_t)b.nb * b.rows * b.cols();
    return {(float *)c.base, (wf_bf16 *)(c.base + align_up(e * sizeof(float)))};
}

int cublas_fail(wf_error *err, cublasStatus_t st, const char *what)
{
    return wf_error_set(err, WF_EIO, "attention: cublasGemmStridedBatchedEx (%s): %s", what,
                        cublasGetStatusString(st));
}

int cuda_fail(wf_error *err, cudaError_t e, const char *what)
{
    return wf_error_set(err, WF_EIO, "attention: %s: %s", what, cudaGetErrorString(e));
}

/* C = A op B with bf16 A and B, fp32 accumulation, alpha 1. */
int gemm(const ctx &c, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
         const wf_bf16 *a, int lda, long long sa, const wf_bf16 *b, int ldb, long long sb,
         float beta, void *out, cudaDataType ct, int ldc, long long sc, int batch, const char *what)
{
    const float alpha = 1.0f;
    cublasStatus_t st = cublasGemmStridedBatchedEx(
        c.h, ta, tb, m, n, k, &alpha, a, CUDA_R_16BF, lda, sa, b, CUDA_R_16BF, ldb, sb, &beta, out,
        ct, ldc, sc, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    return st == CUBLAS_STATUS_SUCCESS ? 0 : cublas_fail(c.err, st, what);
}

/* S (fp32, [nb, rows, cols]) = Q K^T, then P = causal softmax. */
int scores(const ctx &c, const blk &b, const bufs &f)
{
    int cols = b.cols();
    long long ss = (long long)b.rows * cols;
    int rc = gemm(c, CUBLAS_OP_T, CUBLAS_OP_N, cols, b.rows, c.hd, c.k + b.kvoff(c.ldk, c.hd),
                  c.ldk, c.hd, c.q + b.qoff(c.ldq, c.hd, c.group), c.ldq, (long long)c.group * c.hd,
                  0.0f, f.s, CUDA_R_32F, cols, ss, b.nb, "S = Q K^T");
    if (rc)
        return rc;
    cudaError_t e = wf_k_causal_softmax(f.s, f.p, b.nb, b.rows, cols, b.r0, c.scale, c.stream);
    return e == cudaSuccess ? 0 : cuda_fail(c.err, e, "wf_k_causal_softmax");
}

int block_forward(const ctx &c, const blk &b)
{
    bufs f = buffers(c, b);
    int rc = scores(c, b, f);
    if (rc)
        return rc;
    int cols = b.cols();
    return gemm(c, CUBLAS_OP_N, CUBLAS_OP_N, c.hd, b.rows, cols, c.v + b.kvoff(c.ldv, c.hd), c.ldv,
                c.hd, f.p, cols, (long long)b.rows * cols, 0.0f,
                c.out + b.qoff(c.ldo, c.hd, c.group), CUDA_R_16BF, c.ldo, (long long)c.group * c.hd,
                b.nb, "O = P V");
}

int block_backward(const ctx &c, const blk &b)
{
    bufs f = buffers(c, b);
    int rc = scores(c, b, f);
    if (rc)
        return rc;
    int cols = b.cols(), kvd = c.kv * c.hd;
    long long ss = (long long)b.rows * cols, qs = (long long)c.group * c.hd;
    const wf_bf16 *dob = c.dout + b.qoff(c.lddo, c.hd, c.group);
    float *dk = c.dkacc + (size_t)b.kh0 * c.hd, *dv = c.dvacc + (size_t)b.kh0 * c.hd;
    if ((rc = gemm(c, CUBLAS_OP_T, CUBLAS_OP_N, cols, b.rows, c.hd, c.v + b.kvoff(c.ldv, c.hd),
                   c.ldv, c.hd, dob, c.lddo, qs, 0.0f, f.s, CUDA_R_32F, cols, ss, b.nb,
                   "dP = dO V^T")))
        return rc;
    if ((rc = gemm(c, CUBLAS_OP_N, CUBLAS_OP_T, c.hd, cols, b.rows, dob, c.lddo, qs, f.p, cols, ss,
                   1.0f, dv, CUDA_R_32F, kvd, c.hd, b.nb, "dV += P^T dO")))
        return rc;
    cudaError_t e =
        wf_k_causal_softmax_backward(f.p, f.s, f.p, b.nb, b.rows, cols, b.r0, c.scale, c.stream);
    if (e != cudaSuccess)
        return cuda_fail(c.err, e, "wf_k_causal_softmax_backward");
    if ((rc = gemm(c, CUBLAS_OP_N, CUBLAS_OP_N, c.hd, b.rows, cols, c.k + b.kvoff(c.ldk, c.hd),
                   c.ldk, c.hd, f.p, cols, ss, 0.0f, c.dq + b.qoff(c.lddq, c.hd, c.group),
                   CUDA_R_16BF, c.lddq, qs, b.nb, "dQ = dS K")))
        return rc;
    return gemm(c, CUBLAS_OP_N, CUBLAS_OP_T, c.hd, cols, b.rows, c.q + b.qoff(c.ldq, c.hd, c.group),
                c.ldq, qs, f.p, cols, ss, 1.0f, dk, CUDA_R_32F, kvd, c.hd, b.nb, "dK += dS^T Q");
}

/* Every block of one sequence through fn. */
int sequence(const ctx &c, int t0, int len, int (*fn)(const ctx &, const blk &))
{
    plan pl;
    if (!plan_for(c.kv, len, c.avail, &pl))
        return wf_error_set(c.err, WF_ENOMEM,
                            "attention: scratch of %zu bytes too small for a sequence of %d",
                            c.avail, len);
    for (int r0 = 0; r0 < len; r0 += pl.rb)
        for (int kh0 = 0; kh0 < c.kv; kh0 += pl.hb)
            for (int g = 0; g < c.group; g++) {
                blk b = {t0,
                         r0,
                         len - r0 < pl.rb ? len - r0 : pl.rb,
                         kh0,
                         c.kv - kh0 < pl.hb ? c.kv - kh0 : pl.hb,
                         g};
                int rc = fn(c, b);
                if (rc)
                    return rc;
            }
    return 0;
}

__global__ void acc_to_bf16(const float *acc, int len, int w, wf_bf16 *out, size_t ld)
{
    size_t n = (size_t)len * w;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        out[(i / w) * ld + i % w] = __float2bfloat16_rn(acc[i]);
}

bool ld_ok(size_t ld, int width)
{
    return ld >= (size_t)width && ld <= (size_t)INT_MAX;
}

/* Checks the shapes and starts and fills the common part of c; *longest
 * gets the longest sequence. */
int setup(cublasHandle_t h, const wf_k_attn *a, ctx *c, int *longest, wf_error *err)
{
    *c = ctx{};
    c->h = h;
    c->err = err;
    if (a->heads <= 0 || a->kv_heads <= 0 || a->hd <= 0 || a->heads % a->kv_heads || a->n < 0)
        return wf_error_set(err, WF_EINVAL, "attention: bad shape: %d heads, %d kv heads, hd %d",
                            a->heads, a->kv_heads, a->hd);
    *longest = 0;
    for (int s = 0; s < a->n; s++) {
        if (a->starts[s] < 0 || a->starts[s + 1] <= a->starts[s])
            return wf_error_set(err, WF_EINVAL, "attention: sequence %d: bad starts %d..%d", s,
                                (int)a->starts[s], (int)a->starts[s + 1]);
        int len = a->starts[s + 1] - a->starts[s];
        *longest = len > *longest ? len : *longest;
    }
    c->kv = a->kv_heads;
    c->hd = a->hd;
    c->group = a->heads / a->kv_heads;
    c->scale = 1.0f / sqrtf((float)a->hd);
    cublasStatus_t st = cublasGetStream(h, &c->stream);
    if (st != CUBLAS_STATUS_SUCCESS)
        return wf_error_set(err, WF_EIO, "attention: cublasGetStream: %s",
                            cublasGetStatusString(st));
    return 0;
}

/* Checks the scratch and gives the block buffers what follows skip bytes. */
int place(const wf_k_attn *a, ctx *c, size_t skip, int longest, wf_error *err)
{
    size_t need = wf_k_attention_scratch_min(a->heads, a->kv_heads, a->hd, longest);
    if (!a->scratch || a->scratch_bytes < need)
        return wf_error_set(err, WF_ENOMEM,
                            "attention: scratch of %zu bytes, at least %zu needed for %d tokens",
                            a->scratch_bytes, need, longest);
    c->base = (char *)a->scratch + skip;
    c->avail = a->scratch_bytes - skip;
    return 0;
}

int check_ld(const wf_k_attn *a, size_t ldq, size_t ldk, size_t ldv, size_t ldo, wf_error *err)
{
    int qd = a->heads * a->hd, kvd = a->kv_heads * a->hd;
    if (ld_ok(ldq, qd) && ld_ok(ldk, kvd) && ld_ok(ldv, kvd) && ld_ok(ldo, qd))
        return 0;
    return wf_error_set(err, WF_EINVAL,
                        "attention: row strides %zu %zu %zu %zu do not fit rows of %d and %d", ldq,
                        ldk, ldv, ldo, qd, kvd);
}

} // namespace

size_t wf_k_attention_scratch_min(int heads, int kv_heads, int hd, int longest)
{
    (void)heads;
    int rb = longest < min_rows ? longest : min_rows;
    return acc_bytes(kv_heads, hd, longest) + chunk_bytes(1, rb, longest);
}

size_t wf_k_attention_scratch_bytes(int heads, int kv_heads, int hd, int longest, size_t cap)
{
    size_t full = acc_bytes(kv_heads, hd, longest) + chunk_bytes(kv_heads, longest, longest);
    size_t least = wf_k_attention_scratch_min(heads, kv_heads, hd, longest);
    size_t want = full < cap ? full : cap;
    return want > least ? want : least;
}

int wf_k_attention_forward(cublasHandle_t cublas, const wf_k_attn *a, const wf_bf16 *q, size_t ldq,
                           const wf_bf16 *k, size_t ldk, const wf_bf16 *v, size_t ldv, wf_bf16 *out,
                           size_t ldo, wf_error *err)
{
    ctx c;
    int longest = 0, rc;
    if ((rc = setup(cublas, a, &c, &longest, err)) || a->n == 0)
        return rc;
    if ((rc = check_ld(a, ldq, ldk, ldv, ldo, err)) || (rc = place(a, &c, 0, longest, err)))
        return rc;
    c.q = q, c.k = k, c.v = v, c.out = out;
    c.ldq = (int)ldq, c.ldk = (int)ldk, c.ldv = (int)ldv, c.ldo = (int)ldo;
    for (int s = 0; s < a->n; s++)
        if ((rc = sequence(c, a->starts[s], a->starts[s + 1] - a->starts[s], block_forward)))
            return rc;
    return 0;
}

/* Zeroes the accumulators, runs the blocks, rounds dK and dV into place. */
static int sequence_backward(const ctx &c, int t0, int len, wf_bf16 *dk, size_t lddk, wf_bf16 *dv,
                             size_t lddv)
{
    size_t kvd = (size_t)c.kv * c.hd, bytes = (size_t)len * kvd * sizeof(float);
    cudaError_t e = cudaMemsetAsync(c.dkacc, 0, bytes, c.stream);
    if (e == cudaSuccess)
        e = cudaMemsetAsync(c.dvacc, 0, bytes, c.stream);
    if (e != cudaSuccess)
        return cuda_fail(c.err, e, "cudaMemsetAsync");
    int rc = sequence(c, t0, len, block_backward);
    if (rc)
        return rc;
    unsigned nb = blocks_for((size_t)len * kvd);
    acc_to_bf16<<<nb, threads, 0, c.stream>>>(c.dkacc, len, (int)kvd, dk + (size_t)t0 * lddk, lddk);
    acc_to_bf16<<<nb, threads, 0, c.stream>>>(c.dvacc, len, (int)kvd, dv + (size_t)t0 * lddv, lddv);
    e = cudaGetLastError();
    return e == cudaSuccess ? 0 : cuda_fail(c.err, e, "acc_to_bf16");
}

int wf_k_attention_backward(cublasHandle_t cublas, const wf_k_attn *a, const wf_bf16 *q, size_t ldq,
                            const wf_bf16 *k, size_t ldk, const wf_bf16 *v, size_t ldv,
                            const wf_bf16 *dout, size_t lddo, wf_bf16 *dq, size_t lddq, wf_bf16 *dk,
                            size_t lddk, wf_bf16 *dv, size_t lddv, wf_error *err)
{
    ctx c;
    int longest = 0, rc;
    if ((rc = setup(cublas, a, &c, &longest, err)) || a->n == 0)
        return rc;
    if ((rc = check_ld(a, ldq, ldk, ldv, lddo, err)) ||
        (rc = check_ld(a, lddq, lddk, lddv, lddq, err)))
        return rc;
    size_t acc = acc_bytes(a->kv_heads, a->hd, longest);
    if ((rc = place(a, &c, acc, longest, err)))
        return rc;
    c.dkacc = (float *)a->scratch;
    c.dvacc = (float *)((char *)a->scratch + acc / 2);
    c.q = q, c.k = k, c.v = v, c.dout = dout, c.dq = dq;
    c.ldq = (int)ldq, c.ldk = (int)ldk, c.ldv = (int)ldv, c.lddo = (int)lddo, c.lddq = (int)lddq;
    for (int s = 0; s < a->n; s++)
        if ((rc = sequence_backward(c, a->starts[s], a->starts[s + 1] - a->starts[s], dk, lddk, dv,
                                    lddv)))
            return rc;
    return 0;
}
