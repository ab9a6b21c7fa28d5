/* LoRA input dropout with lora.c's masks: the same counter-based draw
 * (dropout.h) for the same packed element, so nothing is stored between
 * forward and backward. */
extern "C" {
#include "model_transformer/dropout.h"
}

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

__global__ void dropout(const wf_bf16 *x, size_t ldx, int rows, int cols, uint64_t seed, int layer,
                        int proj, float p, size_t row0, wf_bf16 *out, size_t ldo)
{
    float keep_scale = 1.0f / (1.0f - p);
    size_t n = (size_t)rows * cols;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t r = i / cols, c = i % cols;
        bool keep = wf_tf_dropout_keep(seed, layer, proj, (row0 + r) * cols + c, p);
        out[r * ldo + c] =
            __float2bfloat16_rn(keep ? __bfloat162float(x[r * ldx + c]) * keep_scale : 0.0f);
    }
}

__global__ void dropout_backward(const float *g, size_t ldg, int rows, int cols, uint64_t seed,
                                 int layer, int proj, float p, size_t row0, float *dx, size_t lddx,
                                 int accumulate)
{
    float keep_scale = 1.0f / (1.0f - p);
    size_t n = (size_t)rows * cols;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t r = i / cols, c = i % cols;
        bool keep = wf_tf_dropout_keep(seed, layer, proj, (row0 + r) * cols + c, p);
        float v = keep ? g[r * ldg + c] * keep_scale : 0.0f;
        float *d = dx + r * lddx + c;
        *d = accumulate ? *d + v : v;
    }
}

} // namespace

cudaError_t wf_k_lora_dropout(const wf_bf16 *x, size_t ldx, int rows, int cols, uint64_t seed,
                              int layer, int proj, float p, size_t row0, wf_bf16 *out, size_t ldo,
                              cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    dropout<<<blocks_for((size_t)rows * cols), threads, 0, stream>>>(
        x, ldx, rows, cols, seed, layer, proj, p, row0, out, ldo);
    return cudaGetLastError();
}

cudaError_t wf_k_lora_dropout_backward(const float *g, size_t ldg, int rows, int cols,
                                       uint64_t seed, int layer, int proj, float p, size_t row0,
                                       float *dx, size_t lddx, int accumulate, cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    dropout_backward<<<blocks_for((size_t)rows * cols), threads, 0, stream>>>(
        g, ldg, rows, cols, seed, layer, proj, p, row0, dx, lddx, accumulate);
    return cudaGetLastError();
}
