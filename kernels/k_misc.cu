/* Conversions, elementwise helpers, packed-sequence positions and the Qwen2
 * bias add. */
#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

__global__ void f32_to_bf16(const float *x, wf_bf16 *y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = __float2bfloat16_rn(x[i]);
}

__global__ void bf16_to_f32(const wf_bf16 *x, float *y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = __bfloat162float(x[i]);
}

__global__ void add_f32(float *y, const float *x, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] += x[i];
}

__global__ void scale_f32(float *x, size_t n, float s)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] *= s;
}

/* Binary search for the sequence s with starts[s] <= t < starts[s + 1]. */
__global__ void positions(const int32_t *starts, int n, int T, int32_t *pos)
{
    for (int t = blockIdx.x * blockDim.x + threadIdx.x; t < T; t += gridDim.x * blockDim.x) {
        int lo = 0, hi = n; /* starts[lo] <= t < starts[hi] */
        while (hi - lo > 1) {
            int mid = lo + (hi - lo) / 2;
            if (starts[mid] <= t)
                lo = mid;
            else
                hi = mid;
        }
        pos[t] = t - starts[lo];
    }
}

template <typename T> __global__ void bias_add(T *y, size_t ldy, int rows, int cols, const float *b)
{
    size_t n = (size_t)rows * cols;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t r = i / cols, c = i % cols;
        T *e = y + r * ldy + c;
        *e = (T)((float)*e + b[c]);
    }
}

} // namespace

cudaError_t wf_k_f32_to_bf16(const float *x, wf_bf16 *y, size_t n, cudaStream_t stream)
{
    if (n == 0)
        return cudaSuccess;
    f32_to_bf16<<<blocks_for(n), threads, 0, stream>>>(x, y, n);
    return cudaGetLastError();
}

cudaError_t wf_k_bf16_to_f32(const wf_bf16 *x, float *y, size_t n, cudaStream_t stream)
{
    if (n == 0)
        return cudaSuccess;
    bf16_to_f32<<<blocks_for(n), threads, 0, stream>>>(x, y, n);
    return cudaGetLastError();
}

cudaError_t wf_k_add_f32(float *y, const float *x, size_t n, cudaStream_t stream)
{
    if (n == 0)
        return cudaSuccess;
    add_f32<<<blocks_for(n), threads, 0, stream>>>(y, x, n);
    return cudaGetLastError();
}

cudaError_t wf_k_scale_f32(float *x, size_t n, float s, cudaStream_t stream)
{
    if (n == 0)
        return cudaSuccess;
    scale_f32<<<blocks_for(n), threads, 0, stream>>>(x, n, s);
    return cudaGetLastError();
}

cudaError_t wf_k_positions(const int32_t *starts, int n, int T, int32_t *pos, cudaStream_t stream)
{
    if (n <= 0 || T <= 0)
        return cudaSuccess;
    positions<<<blocks_for((size_t)T), threads, 0, stream>>>(starts, n, T, pos);
    return cudaGetLastError();
}

cudaError_t wf_k_bias_add_bf16(wf_bf16 *y, size_t ldy, int rows, int cols, const float *b,
                               cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    bias_add<<<blocks_for((size_t)rows * cols), threads, 0, stream>>>(y, ldy, rows, cols, b);
    return cudaGetLastError();
}

cudaError_t wf_k_bias_add_f32(float *y, size_t ldy, int rows, int cols, const float *b,
                              cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    bias_add<<<blocks_for((size_t)rows * cols), threads, 0, stream>>>(y, ldy, rows, cols, b);
    return cudaGetLastError();
}
