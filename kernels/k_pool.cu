/* Pooling at the last token of each sequence with the final RMSNorm, and
 * its backward into those rows, with grad.c's arithmetic (the norm of
 * ops.c, the backward's dot product in double). */
#include <math.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

constexpr int row_threads = 256;

__device__ __forceinline__ const float *last_row(const float *x, int h, const int32_t *starts)
{
    return x + (size_t)(starts[blockIdx.x + 1] - 1) * h;
}

/* One block per sequence. */
__global__ void pool(const float *x, int h, const int32_t *starts, const float *w, float eps,
                     float *pooled, float *rstd)
{
    __shared__ float sh[32];
    const float *xr = last_row(x, h, starts);
    float *pr = pooled + (size_t)blockIdx.x * h;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < h; i += blockDim.x)
        ss += xr[i] * xr[i];
    float inv = 1.0f / sqrtf(block_sum(ss, sh) / (float)h + eps);
    for (int i = threadIdx.x; i < h; i += blockDim.x)
        pr[i] = w[i] * (xr[i] * inv);
    if (rstd && threadIdx.x == 0)
        rstd[blockIdx.x] = inv;
}

__global__ void pool_backward(const float *x, int h, const int32_t *starts, const float *w,
                              float eps, const float *rstd, const float *dpooled, float *dx)
{
    __shared__ float shf[32];
    __shared__ double shd[32];
    const float *xr = last_row(x, h, starts), *dy = dpooled + (size_t)blockIdx.x * h;
    float *dxr = dx + (xr - x);
    float ss = 0.0f;
    double dot = 0.0;
    for (int i = threadIdx.x; i < h; i += blockDim.x) {
        ss += xr[i] * xr[i];
        dot += (double)w[i] * dy[i] * xr[i];
    }
    ss = block_sum(ss, shf);
    dot = block_sum(dot, shd);
    float inv = rstd ? rstd[blockIdx.x] : 1.0f / sqrtf(ss / (float)h + eps);
    float coef = (float)(dot * inv * inv * inv / (double)h);
    for (int j = threadIdx.x; j < h; j += blockDim.x)
        dxr[j] += inv * w[j] * dy[j] - coef * xr[j];
}

} // namespace

cudaError_t wf_k_pool(const float *x, int h, const int32_t *starts, int n, const float *w,
                      float eps, float *pooled, float *rstd, cudaStream_t stream)
{
    if (n <= 0 || h <= 0)
        return cudaSuccess;
    pool<<<(unsigned)n, row_threads, 0, stream>>>(x, h, starts, w, eps, pooled, rstd);
    return cudaGetLastError();
}

cudaError_t wf_k_pool_backward(const float *x, int h, const int32_t *starts, int n, const float *w,
                               float eps, const float *rstd, const float *dpooled, float *dx,
                               cudaStream_t stream)
{
    if (n <= 0 || h <= 0)
        return cudaSuccess;
    pool_backward<<<(unsigned)n, row_threads, 0, stream>>>(x, h, starts, w, eps, rstd, dpooled, dx);
    return cudaGetLastError();
}
