/* SwiGLU, forward and backward, in fp32 arithmetic on bf16 operands, with
 * ops.c's and ops_backward.c's formulas. */
#include <math.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

/* Grids of grid_rows's shape: no 64-bit division per element. */
__global__ void swiglu(const wf_bf16 *gate, const wf_bf16 *up, size_t ldin, int rows, int cols,
                       wf_bf16 *act, size_t ldact)
{
    for (int r = blockIdx.y; r < rows; r += gridDim.y)
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
            size_t at = r * ldin + c;
            float g = __bfloat162float(gate[at]), u = __bfloat162float(up[at]);
            act[r * ldact + c] = __float2bfloat16_rn(g / (1.0f + expf(-g)) * u);
        }
}

/* silu'(g) = s (1 + g (1 - s)), s = sigmoid(g). Each element is read before
 * it is written by the same thread, so dgate and dup may overwrite gate and
 * up. */
__global__ void swiglu_backward(const wf_bf16 *gate, const wf_bf16 *up, size_t ldin, int rows,
                                int cols, const float *dact, size_t lddact, wf_bf16 *dgate,
                                wf_bf16 *dup, size_t ldd)
{
    for (int r = blockIdx.y; r < rows; r += gridDim.y)
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
            size_t at = r * ldin + c;
            float g = __bfloat162float(gate[at]), u = __bfloat162float(up[at]);
            float d = dact[r * lddact + c];
            float s = 1.0f / (1.0f + expf(-g));
            dgate[r * ldd + c] = __float2bfloat16_rn(d * u * s * (1.0f + g * (1.0f - s)));
            dup[r * ldd + c] = __float2bfloat16_rn(d * g * s);
        }
}

} // namespace

cudaError_t wf_k_swiglu(const wf_bf16 *gate, const wf_bf16 *up, size_t ldin, int rows, int cols,
                        wf_bf16 *act, size_t ldact, cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    swiglu<<<grid_rows(rows, cols), threads, 0, stream>>>(gate, up, ldin, rows, cols, act, ldact);
    return cudaGetLastError();
}

cudaError_t wf_k_swiglu_backward(const wf_bf16 *gate, const wf_bf16 *up, size_t ldin, int rows,
                                 int cols, const float *dact, size_t lddact, wf_bf16 *dgate,
                                 wf_bf16 *dup, size_t ldd, cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    swiglu_backward<<<grid_rows(rows, cols), threads, 0, stream>>>(gate, up, ldin, rows, cols, dact,
                                                                   lddact, dgate, dup, ldd);
    return cudaGetLastError();
}
