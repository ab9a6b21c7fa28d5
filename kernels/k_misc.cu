/* Conversions, elementwise helpers, packed-sequence positions and the Qwen2
 * bias add. */
#include <stdint.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

/* Blocks of the grid-stride loops: a few waves of full occupancy on H100. */
constexpr unsigned grid_cap = 1024;

/* Calls vec(k) for each 4-element vector k < nv (elements 4k .. 4k + 3) and
 * one(i) for each element i in [4 nv, n), grid-stride: nv = 0 when the
 * pointers do not allow vectors. */
template <typename Vec, typename One>
__device__ __forceinline__ void split_loop(size_t nv, size_t n, Vec vec, One one)
{
    size_t first = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    size_t step = (size_t)gridDim.x * blockDim.x;
    for (size_t k = first; k < nv; k += step)
        vec(k);
    for (size_t i = 4 * nv + first; i < n; i += step)
        one(i);
}

__global__ void f32_to_bf16(const float *x, wf_bf16 *y, size_t nv, size_t n)
{
    split_loop(
        nv, n,
        [&](size_t k) {
            float4 v = reinterpret_cast<const float4 *>(x)[k];
            /* __stwb keeps the store one 8-byte instruction */
            __stwb(reinterpret_cast<uint2 *>(y) + k,
                   make_uint2(pack_bf16(v.x, v.y), pack_bf16(v.z, v.w)));
        },
        [&](size_t i) { y[i] = __float2bfloat16_rn(x[i]); });
}

__global__ void bf16_to_f32(const wf_bf16 *x, float *y, size_t nv, size_t n)
{
    split_loop(
        nv, n,
        [&](size_t k) {
            uint2 v = reinterpret_cast<const uint2 *>(x)[k];
            float2 lo = unpack_bf16(v.x), hi = unpack_bf16(v.y);
            reinterpret_cast<float4 *>(y)[k] = make_float4(lo.x, lo.y, hi.x, hi.y);
        },
        [&](size_t i) { y[i] = __bfloat162float(x[i]); });
}

__global__ void add_f32(float *y, const float *x, size_t nv, size_t n)
{
    split_loop(
        nv, n,
        [&](size_t k) {
            float4 a = reinterpret_cast<const float4 *>(y)[k];
            float4 b = reinterpret_cast<const float4 *>(x)[k];
            reinterpret_cast<float4 *>(y)[k] =
                make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w);
        },
        [&](size_t i) { y[i] += x[i]; });
}

__global__ void scale_f32(float *x, size_t nv, size_t n, float s)
{
    split_loop(
        nv, n,
        [&](size_t k) {
            float4 a = reinterpret_cast<const float4 *>(x)[k];
            reinterpret_cast<float4 *>(x)[k] = make_float4(a.x * s, a.y * s, a.z * s, a.w * s);
        },
        [&](size_t i) { x[i] *= s; });
}

/* The 4-element vectors of an n-element operation on pointers p and q:
 * n / 4 when both are 16-byte aligned (8 bytes suffice for bf16), else 0. */
size_t vectors(size_t n, const void *p, size_t p_align, const void *q, size_t q_align)
{
    return (uintptr_t)p % p_align == 0 && (uintptr_t)q % q_align == 0 ? n / 4 : 0;
}

unsigned split_blocks(size_t nv, size_t n)
{
    size_t work = nv ? nv + n % 4 : n, b = (work + threads - 1) / threads;
    return (unsigned)(b < grid_cap ? b : grid_cap);
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
    size_t nv = vectors(n, x, 16, y, 8);
    f32_to_bf16<<<split_blocks(nv, n), threads, 0, stream>>>(x, y, nv, n);
    return cudaGetLastError();
}

cudaError_t wf_k_bf16_to_f32(const wf_bf16 *x, float *y, size_t n, cudaStream_t stream)
{
    if (n == 0)
        return cudaSuccess;
    size_t nv = vectors(n, x, 8, y, 16);
    bf16_to_f32<<<split_blocks(nv, n), threads, 0, stream>>>(x, y, nv, n);
    return cudaGetLastError();
}

cudaError_t wf_k_add_f32(float *y, const float *x, size_t n, cudaStream_t stream)
{
    if (n == 0)
        return cudaSuccess;
    size_t nv = vectors(n, y, 16, x, 16);
    add_f32<<<split_blocks(nv, n), threads, 0, stream>>>(y, x, nv, n);
    return cudaGetLastError();
}

cudaError_t wf_k_scale_f32(float *x, size_t n, float s, cudaStream_t stream)
{
    if (n == 0)
        return cudaSuccess;
    size_t nv = vectors(n, x, 16, x, 16);
    scale_f32<<<split_blocks(nv, n), threads, 0, stream>>>(x, nv, n, s);
    return cudaGetLastError();
}

cudaError_t wf_k_positions(const int32_t *starts, int n, int T, int32_t *pos, cudaStream_t stream)
{
    if (n <= 0 || T <= 0)
        return cudaSuccess;
    positions<<<blocks_for((size_t)T), threads, 0, stream>>>(starts, n, T, pos);
    return cudaGetLastError();
}

cudaError_t wf_k_probe(void)
{
    cudaFuncAttributes attr;
    return cudaFuncGetAttributes(&attr, positions);
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
