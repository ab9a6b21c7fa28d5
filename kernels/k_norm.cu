/* RMSNorm over fp32 rows (the residual stream) and Qwen3's per-head q/k
 * norm over bf16 heads, forward and input gradient, with the CPU's
 * arithmetic (ops.c, ops_backward.c): inverse RMS 1 / sqrtf(ss / dim + eps)
 * in fp32, the backward's dot product in double.
 *
 * One warp per row (or head), grid-stride; each lane takes V consecutive
 * elements per step: V = 4 (16-byte fp32, 8-byte bf16 vectors) when the
 * width, every row stride and every pointer allow it, else V = 1. The second
 * pass re-reads the row, which the first has just brought into L1. */
#include <math.h>
#include <stdint.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

constexpr int vec = 4;
constexpr int warps_per_block = 8;
constexpr int block_threads = warps_per_block * 32;
/* Blocks of the grid-stride loops: a few waves of full occupancy on H100. */
constexpr size_t grid_cap = 1024;

__device__ __forceinline__ float inv_rms(float ss, int dim, float eps)
{
    return 1.0f / sqrtf(ss / (float)dim + eps);
}

__device__ __forceinline__ size_t first_warp()
{
    return blockIdx.x * (size_t)warps_per_block + (threadIdx.x >> 5);
}

__device__ __forceinline__ size_t warp_step()
{
    return (size_t)gridDim.x * warps_per_block;
}

/* The sum of squares of a row of dim elements, over the warp. */
template <int V, typename T> __device__ float row_sumsq(const T *x, int dim)
{
    float ss = 0.0f;
    for (int i = (threadIdx.x & 31) * V; i < dim; i += 32 * V) {
        float v[V];
        load(x + i, v);
#pragma unroll
        for (int j = 0; j < V; j++)
            ss += v[j] * v[j];
    }
    return warp_sum(ss);
}

/* y = bf16(w * (x * inv)) over a row of dim elements; lane by lane, each
 * element read before the same lane writes it (so y may equal x). */
template <int V, typename T>
__device__ void row_scale(const T *x, int dim, const float *w, float inv, wf_bf16 *y)
{
    for (int i = (threadIdx.x & 31) * V; i < dim; i += 32 * V) {
        float v[V], wv[V];
        load(x + i, v);
        load(w + i, wv);
#pragma unroll
        for (int j = 0; j < V; j++)
            v[j] = wv[j] * (v[j] * inv);
        store(y + i, v);
    }
}

/* The warp's sum over a row of w_i dy_i x_i in double (the backward's
 * coefficient needs it), its sum of squares of x in *ss. */
template <int V, typename T>
__device__ double row_dot(const T *x, const float *w, const T *dy, int dim, float *ss)
{
    float s = 0.0f;
    double dot = 0.0;
    for (int i = (threadIdx.x & 31) * V; i < dim; i += 32 * V) {
        float xv[V], wv[V], dv[V];
        load(x + i, xv);
        load(w + i, wv);
        load(dy + i, dv);
#pragma unroll
        for (int j = 0; j < V; j++) {
            s += xv[j] * xv[j];
            dot += (double)wv[j] * dv[j] * xv[j];
        }
    }
    *ss = warp_sum(s);
    return warp_sum(dot);
}

/* dx_j (+)= inv w_j dy_j - coef x_j over a row; each element of dy read
 * before the same lane writes dx there (so dx may equal dy). */
template <int V, typename T>
__device__ void row_grad(const T *x, const float *w, const T *dy, int dim, float inv, float coef,
                         T *dx, int accumulate)
{
    for (int i = (threadIdx.x & 31) * V; i < dim; i += 32 * V) {
        float xv[V], wv[V], dv[V], g[V];
        load(x + i, xv);
        load(w + i, wv);
        load(dy + i, dv);
        if (accumulate)
            load(dx + i, g);
#pragma unroll
        for (int j = 0; j < V; j++) {
            float d = inv * wv[j] * dv[j] - coef * xv[j];
            g[j] = accumulate ? g[j] + d : d;
        }
        store(dx + i, g);
    }
}

template <int V>
__global__ void rmsnorm(const float *x, size_t ldx, int rows, int dim, const float *w, float eps,
                        wf_bf16 *y, size_t ldy, float *rstd)
{
    for (size_t r = first_warp(); r < (size_t)rows; r += warp_step()) {
        float inv = inv_rms(row_sumsq<V>(x + r * ldx, dim), dim, eps);
        row_scale<V>(x + r * ldx, dim, w, inv, y + r * ldy);
        if (rstd && (threadIdx.x & 31) == 0)
            rstd[r] = inv;
    }
}

/* dx_j = inv w_j dy_j - x_j inv^3 / dim * sum_i w_i dy_i x_i. */
template <int V>
__global__ void rmsnorm_backward(const float *x, size_t ldx, int rows, int dim, const float *w,
                                 float eps, const float *rstd, const float *dy, size_t lddy,
                                 float *dx, size_t lddx, int accumulate)
{
    for (size_t r = first_warp(); r < (size_t)rows; r += warp_step()) {
        const float *xr = x + r * ldx, *dyr = dy + r * lddy;
        float ss;
        double dot = row_dot<V>(xr, w, dyr, dim, &ss);
        float inv = rstd ? rstd[r] : inv_rms(ss, dim, eps);
        float coef = (float)(dot * inv * inv * inv / (double)dim);
        row_grad<V>(xr, w, dyr, dim, inv, coef, dx + r * lddx, accumulate);
    }
}

/* One warp per (token, head). */
template <int V>
__global__ void headnorm(const wf_bf16 *x, size_t ldx, int T, int heads, int hd, const float *w,
                         float eps, wf_bf16 *y, size_t ldy)
{
    for (size_t row = first_warp(); row < (size_t)T * heads; row += warp_step()) {
        size_t t = row / heads, h = row % heads;
        const wf_bf16 *xr = x + t * ldx + h * hd;
        float inv = inv_rms(row_sumsq<V>(xr, hd), hd, eps);
        row_scale<V>(xr, hd, w, inv, y + t * ldy + h * hd);
    }
}

template <int V>
__global__ void headnorm_backward(const wf_bf16 *x, size_t ldx, int T, int heads, int hd,
                                  const float *w, float eps, const wf_bf16 *dy, size_t lddy,
                                  wf_bf16 *dx, size_t lddx)
{
    for (size_t row = first_warp(); row < (size_t)T * heads; row += warp_step()) {
        size_t t = row / heads, h = row % heads;
        const wf_bf16 *xr = x + t * ldx + h * hd, *dyr = dy + t * lddy + h * hd;
        float ss;
        double dot = row_dot<V>(xr, w, dyr, hd, &ss);
        float inv = inv_rms(ss, hd, eps);
        float coef = (float)(dot * inv * inv * inv / (double)hd);
        row_grad<V>(xr, w, dyr, hd, inv, coef, dx + t * lddx + h * hd, 0);
    }
}

/* Whether a matrix at p with row stride ld (elements of size bytes) suits
 * the vector path, given a width that is a multiple of vec. */
bool vec_ok(const void *p, size_t ld, size_t bytes)
{
    return ld % vec == 0 && (uintptr_t)p % (vec * bytes) == 0;
}

/* The norm weights are read as float4 on the vector path. */
bool w_ok(const float *w)
{
    return (uintptr_t)w % (vec * sizeof(float)) == 0;
}

unsigned warp_blocks(size_t rows)
{
    size_t b = (rows + warps_per_block - 1) / warps_per_block;
    return (unsigned)(b < grid_cap ? b : grid_cap);
}

} // namespace

cudaError_t wf_k_rmsnorm(const float *x, size_t ldx, int rows, int dim, const float *w, float eps,
                         wf_bf16 *y, size_t ldy, float *rstd, cudaStream_t stream)
{
    if (rows <= 0 || dim <= 0)
        return cudaSuccess;
    unsigned b = warp_blocks((size_t)rows);
    if (dim % vec == 0 && vec_ok(x, ldx, 4) && vec_ok(y, ldy, 2) && w_ok(w))
        rmsnorm<vec><<<b, block_threads, 0, stream>>>(x, ldx, rows, dim, w, eps, y, ldy, rstd);
    else
        rmsnorm<1><<<b, block_threads, 0, stream>>>(x, ldx, rows, dim, w, eps, y, ldy, rstd);
    return cudaGetLastError();
}

cudaError_t wf_k_rmsnorm_backward(const float *x, size_t ldx, int rows, int dim, const float *w,
                                  float eps, const float *rstd, const float *dy, size_t lddy,
                                  float *dx, size_t lddx, int accumulate, cudaStream_t stream)
{
    if (rows <= 0 || dim <= 0)
        return cudaSuccess;
    unsigned b = warp_blocks((size_t)rows);
    if (dim % vec == 0 && vec_ok(x, ldx, 4) && vec_ok(dy, lddy, 4) && vec_ok(dx, lddx, 4) &&
        w_ok(w))
        rmsnorm_backward<vec><<<b, block_threads, 0, stream>>>(x, ldx, rows, dim, w, eps, rstd, dy,
                                                               lddy, dx, lddx, accumulate);
    else
        rmsnorm_backward<1><<<b, block_threads, 0, stream>>>(x, ldx, rows, dim, w, eps, rstd, dy,
                                                             lddy, dx, lddx, accumulate);
    return cudaGetLastError();
}

cudaError_t wf_k_headnorm(const wf_bf16 *x, size_t ldx, int T, int heads, int hd, const float *w,
                          float eps, wf_bf16 *y, size_t ldy, cudaStream_t stream)
{
    if (T <= 0 || heads <= 0 || hd <= 0)
        return cudaSuccess;
    unsigned b = warp_blocks((size_t)T * heads);
    if (hd % vec == 0 && vec_ok(x, ldx, 2) && vec_ok(y, ldy, 2) && w_ok(w))
        headnorm<vec><<<b, block_threads, 0, stream>>>(x, ldx, T, heads, hd, w, eps, y, ldy);
    else
        headnorm<1><<<b, block_threads, 0, stream>>>(x, ldx, T, heads, hd, w, eps, y, ldy);
    return cudaGetLastError();
}

cudaError_t wf_k_headnorm_backward(const wf_bf16 *x, size_t ldx, int T, int heads, int hd,
                                   const float *w, float eps, const wf_bf16 *dy, size_t lddy,
                                   wf_bf16 *dx, size_t lddx, cudaStream_t stream)
{
    if (T <= 0 || heads <= 0 || hd <= 0)
        return cudaSuccess;
    unsigned b = warp_blocks((size_t)T * heads);
    if (hd % vec == 0 && vec_ok(x, ldx, 2) && vec_ok(dy, lddy, 2) && vec_ok(dx, lddx, 2) && w_ok(w))
        headnorm_backward<vec>
            <<<b, block_threads, 0, stream>>>(x, ldx, T, heads, hd, w, eps, dy, lddy, dx, lddx);
    else
        headnorm_backward<1>
            <<<b, block_threads, 0, stream>>>(x, ldx, T, heads, hd, w, eps, dy, lddy, dx, lddx);
    return cudaGetLastError();
}
