/* SwiGLU, forward and backward, in fp32 arithmetic on bf16 operands, with
 * ops.c's and ops_backward.c's formulas. Each thread step takes V columns of
 * one row: V = 8 (16-byte bf16 loads) when every row stride is a multiple of
 * 8 elements, cols too and every pointer 16-byte aligned (the fused gate|up
 * layout of the driver), else V = 1. */
#include <math.h>
#include <stdint.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

constexpr int vec = 8;
/* Blocks of the grid-stride loops: a few waves of full occupancy on H100. */
constexpr size_t grid_cap = 1024;

/* The (row, column group) pairs of a rows x groups grid in grid-stride
 * order, with one division per thread rather than one per step. */
struct walk {
    size_t r, c, dr, dc, groups;
    __device__ explicit walk(size_t n_groups) : groups(n_groups)
    {
        size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
        size_t step = (size_t)gridDim.x * blockDim.x;
        r = k / groups, c = k % groups;
        dr = step / groups, dc = step % groups;
    }
    __device__ void next()
    {
        r += dr, c += dc;
        if (c >= groups)
            c -= groups, r++;
    }
};

template <int V>
__global__ void swiglu(const wf_bf16 *gate, const wf_bf16 *up, size_t ldin, int rows, int cols,
                       wf_bf16 *act, size_t ldact)
{
    for (walk w((size_t)(cols / V)); w.r < (size_t)rows; w.next()) {
        size_t c = w.c * V, at = w.r * ldin + c;
        float g[V], u[V];
        load(gate + at, g);
        load(up + at, u);
#pragma unroll
        for (int j = 0; j < V; j++)
            g[j] = g[j] / (1.0f + expf(-g[j])) * u[j];
        store(act + w.r * ldact + c, g);
    }
}

/* silu'(g) = s (1 + g (1 - s)), s = sigmoid(g). Each element is read before
 * it is written by the same thread, so dgate and dup may overwrite gate and
 * up. */
template <int V>
__global__ void swiglu_backward(const wf_bf16 *gate, const wf_bf16 *up, size_t ldin, int rows,
                                int cols, const float *dact, size_t lddact, wf_bf16 *dgate,
                                wf_bf16 *dup, size_t ldd)
{
    for (walk w((size_t)(cols / V)); w.r < (size_t)rows; w.next()) {
        size_t c = w.c * V, at = w.r * ldin + c;
        float g[V], u[V], d[V];
        load(gate + at, g);
        load(up + at, u);
        load(dact + w.r * lddact + c, d);
#pragma unroll
        for (int j = 0; j < V; j++) {
            float s = 1.0f / (1.0f + expf(-g[j]));
            float dg = d[j] * u[j] * s * (1.0f + g[j] * (1.0f - s));
            u[j] = d[j] * g[j] * s;
            g[j] = dg;
        }
        store(dgate + w.r * ldd + c, g);
        store(dup + w.r * ldd + c, u);
    }
}

/* Whether a matrix at p with row stride ld suits the 16-byte path (with
 * cols a multiple of vec, checked apart). */
bool vec_ok(const void *p, size_t ld)
{
    return ld % vec == 0 && (uintptr_t)p % 16 == 0;
}

unsigned blocks(int rows, int groups)
{
    size_t b = ((size_t)rows * groups + threads - 1) / threads;
    return (unsigned)(b < grid_cap ? b : grid_cap);
}

} // namespace

cudaError_t wf_k_swiglu(const wf_bf16 *gate, const wf_bf16 *up, size_t ldin, int rows, int cols,
                        wf_bf16 *act, size_t ldact, cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    if (cols % vec == 0 && vec_ok(gate, ldin) && vec_ok(up, ldin) && vec_ok(act, ldact))
        swiglu<vec><<<blocks(rows, cols / vec), threads, 0, stream>>>(gate, up, ldin, rows, cols,
                                                                      act, ldact);
    else
        swiglu<1>
            <<<blocks(rows, cols), threads, 0, stream>>>(gate, up, ldin, rows, cols, act, ldact);
    return cudaGetLastError();
}

cudaError_t wf_k_swiglu_backward(const wf_bf16 *gate, const wf_bf16 *up, size_t ldin, int rows,
                                 int cols, const float *dact, size_t lddact, wf_bf16 *dgate,
                                 wf_bf16 *dup, size_t ldd, cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    if (cols % vec == 0 && vec_ok(gate, ldin) && vec_ok(up, ldin) && vec_ok(dact, lddact) &&
        vec_ok(dgate, ldd) && vec_ok(dup, ldd))
        swiglu_backward<vec><<<blocks(rows, cols / vec), threads, 0, stream>>>(
            gate, up, ldin, rows, cols, dact, lddact, dgate, dup, ldd);
    else
        swiglu_backward<1><<<blocks(rows, cols), threads, 0, stream>>>(
            gate, up, ldin, rows, cols, dact, lddact, dgate, dup, ldd);
    return cudaGetLastError();
}
