/* LoRA input dropout with lora.c's masks (dropout.h): the same draw for the
 * same (token, feature pair), so nothing is stored between forward and
 * backward. Both kernels are memory-bound passes: 8 elements per thread
 * step as 16-byte accesses when the shapes allow, one pair otherwise, over
 * a grid-stride loop of a few blocks per SM. Fused into the LoRA products
 * instead, the masks made those kernels wait on their loads: they were
 * four times slower than this pass and a cuBLAS product. */
extern "C" {
#include "model_transformer/dropout.h"
}

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

constexpr unsigned max_grid = 2048;

struct drop_args {
    uint32_t key, threshold;
    float scale;
    size_t row0;
};

/* f(r, c, row) for every step of V columns of [rows, cols], grid-stride:
 * row r, first column c, and row the mask's key of row r. */
template <int V, typename F>
__device__ __forceinline__ void each_step(int rows, int cols, const drop_args &d, F f)
{
    int steps = (cols + V - 1) / V;
    size_t n = (size_t)rows * steps;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        int r = (int)(i / (size_t)steps), c = (int)(i % (size_t)steps) * V;
        f(r, c, wf_tf_dropout_row(d.key, d.row0 + (size_t)r));
    }
}

/* f[j] = keep ? f[j] * scale : 0 for V columns from c (even) of a row, of
 * which only the first n exist. */
template <int V>
__device__ __forceinline__ void mask(uint32_t row, int c, int n, const drop_args &d, float (&f)[V])
{
#pragma unroll
    for (int k = 0; k < V / 2; k++) {
        uint32_t keep = wf_tf_dropout_pair(row, (uint32_t)(c / 2 + k), d.threshold);
        for (int h = 0; h < 2 && 2 * k + h < n; h++)
            f[2 * k + h] = keep >> h & 1 ? f[2 * k + h] * d.scale : 0.0f;
    }
}

/* out = drop(x): V = 8 reads and writes 16 bytes at a time (cols, ldx, ldo
 * multiples of 8 and 16-byte aligned bases); V = 2 a pair. */
template <int V>
__global__ void dropout(const wf_bf16 *__restrict__ x, size_t ldx, int rows, int cols, drop_args d,
                        wf_bf16 *__restrict__ out, size_t ldo)
{
    each_step<V>(rows, cols, d, [&](int r, int c, uint32_t row) {
        const wf_bf16 *xr = x + (size_t)r * ldx + c;
        wf_bf16 *orow = out + (size_t)r * ldo + c;
        int n = min(V, cols - c);
        float f[V];
        if (n == V)
            load(xr, f);
        else
            f[0] = __bfloat162float(xr[0]); /* the odd last column: V = 2, n = 1 */
        mask(row, c, n, d, f);
        if (n == V)
            store(orow, f);
        else
            orow[0] = __float2bfloat16_rn(f[0]);
    });
}

/* dx += drop(g) in fp32: V = 8 as two float4 (cols a multiple of 8, ldg and
 * lddx of 4, 16-byte aligned bases); V = 2 a pair. */
template <int V>
__global__ void dropout_backward(const float *__restrict__ g, size_t ldg, int rows, int cols,
                                 drop_args d, float *__restrict__ dx, size_t lddx)
{
    each_step<V>(rows, cols, d, [&](int r, int c, uint32_t row) {
        const float *gr = g + (size_t)r * ldg + c;
        float *dr = dx + (size_t)r * lddx + c;
        int n = min(V, cols - c);
        float gv[V], dv[V];
        if (n == V) {
            load(gr, gv);
            load(dr, dv);
        } else { /* the odd last column: V = 2, n = 1 */
            gv[0] = gr[0];
            dv[0] = dr[0];
        }
        mask(row, c, n, d, gv);
        for (int j = 0; j < n; j++)
            dv[j] += gv[j];
        if (n == V)
            store(dr, dv);
        else
            dr[0] = dv[0];
    });
}

drop_args drop_of(const wf_k_drop *d)
{
    return drop_args{d->key, d->threshold, wf_tf_dropout_scale(d->threshold), d->row0};
}

unsigned grid_for(int rows, int cols, int v)
{
    size_t steps = (size_t)rows * (size_t)((cols + v - 1) / v);
    size_t b = (steps + threads - 1) / threads;
    return (unsigned)(b < max_grid ? b : max_grid);
}

/* 16-byte rows: a row stride of whole 16-byte units from an aligned base. */
bool aligned(const void *p, size_t ld, size_t per_16_bytes)
{
    return ld % per_16_bytes == 0 && (uintptr_t)p % 16 == 0;
}

} // namespace

cudaError_t wf_k_lora_dropout(const wf_bf16 *x, size_t ldx, int rows, int cols, const wf_k_drop *d,
                              wf_bf16 *out, size_t ldo, cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    if (cols % 8 == 0 && aligned(x, ldx, 8) && aligned(out, ldo, 8))
        dropout<8><<<grid_for(rows, cols, 8), threads, 0, stream>>>(x, ldx, rows, cols, drop_of(d),
                                                                    out, ldo);
    else
        dropout<2><<<grid_for(rows, cols, 2), threads, 0, stream>>>(x, ldx, rows, cols, drop_of(d),
                                                                    out, ldo);
    return cudaGetLastError();
}

cudaError_t wf_k_lora_dropout_backward(const float *g, size_t ldg, int rows, int cols,
                                       const wf_k_drop *d, float *dx, size_t lddx,
                                       cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    if (cols % 8 == 0 && aligned(g, ldg, 4) && aligned(dx, lddx, 4))
        dropout_backward<8><<<grid_for(rows, cols, 8), threads, 0, stream>>>(g, ldg, rows, cols,
                                                                             drop_of(d), dx, lddx);
    else
        dropout_backward<2><<<grid_for(rows, cols, 2), threads, 0, stream>>>(g, ldg, rows, cols,
                                                                             drop_of(d), dx, lddx);
    return cudaGetLastError();
}
