/* The causal softmax of the fused-softmax attention path and its backward,
 * one block per score row. Rows are at most a sequence long, so three
 * passes over a row stay in L2. */
#include <math.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

constexpr int row_threads = 256;

__global__ void causal_softmax(const float *s, wf_bf16 *p, int rows, int cols, int first,
                               float scale)
{
    __shared__ float sh[32];
    size_t row = blockIdx.x;
    const float *sr = s + row * cols;
    wf_bf16 *pr = p + row * cols;
    int seen = first + (int)(row % rows) + 1;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < seen; j += blockDim.x)
        mx = fmaxf(mx, scale * sr[j]);
    mx = block_max(mx, sh, -INFINITY);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < seen; j += blockDim.x)
        sum += expf(scale * sr[j] - mx);
    float inv = 1.0f / block_sum(sum, sh);
    for (int j = threadIdx.x; j < cols; j += blockDim.x)
        pr[j] = __float2bfloat16_rn(j < seen ? expf(scale * sr[j] - mx) * inv : 0.0f);
}

/* The row's D = sum_j p_j dp_j is complete (block_sum synchronises) before
 * any ds is written, and each thread writes only what it read, so ds may
 * equal p. */
__global__ void causal_softmax_backward(const wf_bf16 *p, const float *dp, wf_bf16 *ds, int rows,
                                        int cols, int first, float scale)
{
    __shared__ double sh[32];
    size_t row = blockIdx.x;
    const wf_bf16 *pr = p + row * cols;
    const float *dpr = dp + row * cols;
    wf_bf16 *dsr = ds + row * cols;
    int seen = first + (int)(row % rows) + 1;
    double d = 0.0;
    for (int j = threadIdx.x; j < seen; j += blockDim.x)
        d += (double)__bfloat162float(pr[j]) * dpr[j];
    float df = (float)block_sum(d, sh);
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        float g = j < seen ? scale * __bfloat162float(pr[j]) * (dpr[j] - df) : 0.0f;
        dsr[j] = __float2bfloat16_rn(g);
    }
}

} // namespace

cudaError_t wf_k_causal_softmax(const float *s, wf_bf16 *p, int batch, int rows, int cols,
                                int first, float scale, cudaStream_t stream)
{
    if (batch <= 0 || rows <= 0 || cols <= 0)
        return cudaSuccess;
    causal_softmax<<<(unsigned)((size_t)batch * rows), row_threads, 0, stream>>>(s, p, rows, cols,
                                                                                 first, scale);
    return cudaGetLastError();
}

cudaError_t wf_k_causal_softmax_backward(const wf_bf16 *p, const float *dp, wf_bf16 *ds, int batch,
                                         int rows, int cols, int first, float scale,
                                         cudaStream_t stream)
{
    if (batch <= 0 || rows <= 0 || cols <= 0)
        return cudaSuccess;
    causal_softmax_backward<<<(unsigned)((size_t)batch * rows), row_threads, 0, stream>>>(
        p, dp, ds, rows, cols, first, scale);
    return cudaGetLastError();
}
