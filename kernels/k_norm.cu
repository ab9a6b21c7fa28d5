/* RMSNorm over fp32 rows (the residual stream) and Qwen3's per-head q/k
 * norm over bf16 heads, forward and input gradient, with the CPU's
 * arithmetic (ops.c, ops_backward.c): inverse RMS 1 / sqrtf(ss / dim + eps)
 * in fp32, the backward's dot product in double. */
#include <math.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

constexpr int row_threads = 256;
/* Heads per block of the per-head kernels: one warp each. */
constexpr int heads_per_block = 8;

__device__ __forceinline__ float inv_rms(float ss, int dim, float eps)
{
    return 1.0f / sqrtf(ss / (float)dim + eps);
}

/* One block per row. */
__global__ void rmsnorm(const float *x, size_t ldx, int dim, const float *w, float eps, wf_bf16 *y,
                        size_t ldy, float *rstd)
{
    __shared__ float sh[32];
    const float *xr = x + blockIdx.x * ldx;
    wf_bf16 *yr = y + blockIdx.x * ldy;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        ss += xr[i] * xr[i];
    float inv = inv_rms(block_sum(ss, sh), dim, eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        yr[i] = __float2bfloat16_rn(w[i] * (xr[i] * inv));
    if (rstd && threadIdx.x == 0)
        rstd[blockIdx.x] = inv;
}

/* dx_j = inv w_j dy_j - x_j inv^3 / dim * sum_i w_i dy_i x_i; one block per
 * row. */
__global__ void rmsnorm_backward(const float *x, size_t ldx, int dim, const float *w, float eps,
                                 const float *rstd, const float *dy, size_t lddy, float *dx,
                                 size_t lddx, int accumulate)
{
    __shared__ float shf[32];
    __shared__ double shd[32];
    const float *xr = x + blockIdx.x * ldx, *dyr = dy + blockIdx.x * lddy;
    float *dxr = dx + blockIdx.x * lddx;
    float ss = 0.0f;
    double dot = 0.0;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        ss += xr[i] * xr[i];
        dot += (double)w[i] * dyr[i] * xr[i];
    }
    ss = block_sum(ss, shf);
    dot = block_sum(dot, shd);
    float inv = rstd ? rstd[blockIdx.x] : inv_rms(ss, dim, eps);
    float coef = (float)(dot * inv * inv * inv / (double)dim);
    for (int j = threadIdx.x; j < dim; j += blockDim.x) {
        float g = inv * w[j] * dyr[j] - coef * xr[j];
        dxr[j] = accumulate ? dxr[j] + g : g;
    }
}

/* One warp per (token, head); each lane reads the elements it later
 * writes, so y may equal x. */
__global__ void headnorm(const wf_bf16 *x, size_t ldx, int T, int heads, int hd, const float *w,
                         float eps, wf_bf16 *y, size_t ldy)
{
    size_t row = (size_t)blockIdx.x * heads_per_block + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= (size_t)T * heads)
        return; /* whole warps only: the sums below are warp-wide */
    size_t t = row / heads, h = row % heads;
    const wf_bf16 *xr = x + t * ldx + h * hd;
    wf_bf16 *yr = y + t * ldy + h * hd;
    float ss = 0.0f;
    for (int i = lane; i < hd; i += 32) {
        float v = __bfloat162float(xr[i]);
        ss += v * v;
    }
    float inv = inv_rms(warp_sum(ss), hd, eps);
    for (int i = lane; i < hd; i += 32)
        yr[i] = __float2bfloat16_rn(w[i] * (__bfloat162float(xr[i]) * inv));
}

__global__ void headnorm_backward(const wf_bf16 *x, size_t ldx, int T, int heads, int hd,
                                  const float *w, float eps, const wf_bf16 *dy, size_t lddy,
                                  wf_bf16 *dx, size_t lddx)
{
    size_t row = (size_t)blockIdx.x * heads_per_block + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= (size_t)T * heads)
        return;
    size_t t = row / heads, h = row % heads;
    const wf_bf16 *xr = x + t * ldx + h * hd, *dyr = dy + t * lddy + h * hd;
    wf_bf16 *dxr = dx + t * lddx + h * hd;
    float ss = 0.0f;
    double dot = 0.0;
    for (int i = lane; i < hd; i += 32) {
        float v = __bfloat162float(xr[i]);
        ss += v * v;
        dot += (double)w[i] * __bfloat162float(dyr[i]) * v;
    }
    float inv = inv_rms(warp_sum(ss), hd, eps);
    float coef = (float)(warp_sum(dot) * inv * inv * inv / (double)hd);
    for (int j = lane; j < hd; j += 32) {
        float g = inv * w[j] * __bfloat162float(dyr[j]) - coef * __bfloat162float(xr[j]);
        dxr[j] = __float2bfloat16_rn(g);
    }
}

unsigned head_blocks(int T, int heads)
{
    return (unsigned)(((size_t)T * heads + heads_per_block - 1) / heads_per_block);
}

} // namespace

cudaError_t wf_k_rmsnorm(const float *x, size_t ldx, int rows, int dim, const float *w, float eps,
                         wf_bf16 *y, size_t ldy, float *rstd, cudaStream_t stream)
{
    if (rows <= 0 || dim <= 0)
        return cudaSuccess;
    rmsnorm<<<(unsigned)rows, row_threads, 0, stream>>>(x, ldx, dim, w, eps, y, ldy, rstd);
    return cudaGetLastError();
}

cudaError_t wf_k_rmsnorm_backward(const float *x, size_t ldx, int rows, int dim, const float *w,
                                  float eps, const float *rstd, const float *dy, size_t lddy,
                                  float *dx, size_t lddx, int accumulate, cudaStream_t stream)
{
    if (rows <= 0 || dim <= 0)
        return cudaSuccess;
    rmsnorm_backward<<<(unsigned)rows, row_threads, 0, stream>>>(x, ldx, dim, w, eps, rstd, dy,
                                                                 lddy, dx, lddx, accumulate);
    return cudaGetLastError();
}

cudaError_t wf_k_headnorm(const wf_bf16 *x, size_t ldx, int T, int heads, int hd, const float *w,
                          float eps, wf_bf16 *y, size_t ldy, cudaStream_t stream)
{
    if (T <= 0 || heads <= 0 || hd <= 0)
        return cudaSuccess;
    headnorm<<<head_blocks(T, heads), heads_per_block * 32, 0, stream>>>(x, ldx, T, heads, hd, w,
                                                                         eps, y, ldy);
    return cudaGetLastError();
}

cudaError_t wf_k_headnorm_backward(const wf_bf16 *x, size_t ldx, int T, int heads, int hd,
                                   const float *w, float eps, const wf_bf16 *dy, size_t lddy,
                                   wf_bf16 *dx, size_t lddx, cudaStream_t stream)
{
    if (T <= 0 || heads <= 0 || hd <= 0)
        return cudaSuccess;
    headnorm_backward<<<head_blocks(T, heads), heads_per_block * 32, 0, stream>>>(
        x, ldx, T, heads, hd, w, eps, dy, lddy, dx, lddx);
    return cudaGetLastError();
}
