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

/* One grid row of blocks per row of x (looping past 65535 rows), threads
 * across the columns: no 64-bit division per element. */
__global__ void dropout(const wf_bf16 *x, size_t ldx, int rows, int cols, uint32_t key, float p,
                        size_t row0, wf_bf16 *out, size_t ldo)
{
    float keep_scale = 1.0f / (1.0f - p);
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        size_t base = (row0 + (size_t)r) * (size_t)cols;
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
            bool keep = wf_tf_dropout_keep_key(key, base + (size_t)c, p);
            float v = keep ? __bfloat162float(x[r * ldx + c]) * keep_scale : 0.0f;
            out[r * ldo + c] = __float2bfloat16_rn(v);
        }
    }
}

__global__ void dropout_backward(const float *g, size_t ldg, int rows, int cols, uint32_t key,
                                 float p, size_t row0, float *dx, size_t lddx, int accumulate)
{
    float keep_scale = 1.0f / (1.0f - p);
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        size_t base = (row0 + (size_t)r) * (size_t)cols;
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
            bool keep = wf_tf_dropout_keep_key(key, base + (size_t)c, p);
            float v = keep ? g[r * ldg + c] * keep_scale : 0.0f;
            float *d = dx + r * lddx + c;
            *d = accumulate ? *d + v : v;
        }
    }
}

} // namespace

cudaError_t wf_k_lora_dropout(const wf_bf16 *x, size_t ldx, int rows, int cols, uint64_t seed,
                              int layer, int proj, float p, size_t row0, wf_bf16 *out, size_t ldo,
                              cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    dropout<<<grid_rows(rows, cols), threads, 0, stream>>>(
        x, ldx, rows, cols, wf_tf_dropout_key(seed, layer, proj), p, row0, out, ldo);
    return cudaGetLastError();
}

cudaError_t wf_k_lora_dropout_backward(const float *g, size_t ldg, int rows, int cols,
                                       uint64_t seed, int layer, int proj, float p, size_t row0,
                                       float *dx, size_t lddx, int accumulate, cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    dropout_backward<<<grid_rows(rows, cols), threads, 0, stream>>>(
        g, ldg, rows, cols, wf_tf_dropout_key(seed, layer, proj), p, row0, dx, lddx, accumulate);
    return cudaGetLastError();
}
