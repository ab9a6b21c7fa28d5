/* The embedding gather. Embeddings are frozen (only the adapters and the
 * head train), so there is no backward. */
#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

__global__ void embed(const wf_bf16 *table, const int32_t *ids, int T, int h, float *x)
{
    size_t n = (size_t)T * h;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t t = i / h, c = i % h;
        x[i] = __bfloat162float(table[(size_t)ids[t] * h + c]);
    }
}

} // namespace

cudaError_t wf_k_embed(const wf_bf16 *table, const int32_t *ids, int T, int h, float *x,
                       cudaStream_t stream)
{
    if (T <= 0 || h <= 0)
        return cudaSuccess;
    embed<<<blocks_for((size_t)T * h), threads, 0, stream>>>(table, ids, T, h, x);
    return cudaGetLastError();
}
