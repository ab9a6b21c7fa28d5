/* The optimiser's kernels: the gradient's squared norm (deterministic, in
 * double as optim.c computes it) and AdamW with optim.c's arithmetic. The
 * explicit _rn intrinsics keep nvcc from fusing multiplies and adds, so a
 * step matches the CPU's to the last bit of its double arithmetic. */
#include <math.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

constexpr int reduce_threads = 256;

__global__ void sumsq_partial(const float *g, size_t n, double *partial)
{
    __shared__ double sh[32];
    double acc = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        acc = __dadd_rn(acc, __dmul_rn((double)g[i], (double)g[i]));
    acc = block_sum(acc, sh);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = acc;
}

__global__ void sumsq_final(const double *partial, int count, double *out)
{
    __shared__ double sh[32];
    double acc = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x)
        acc += partial[i];
    acc = block_sum(acc, sh);
    if (threadIdx.x == 0)
        out[0] = acc;
}

__global__ void adamw(float *p, const float *g, float *m, float *v, size_t n, size_t n_decay,
                      wf_k_adamw_args a, wf_bf16 *p16)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        double gi = (double)(a.gscale == 1.0f ? g[i] : __fmul_rn(g[i], a.gscale));
        double mi = __dadd_rn(__dmul_rn(a.beta1, (double)m[i]), __dmul_rn(1.0 - a.beta1, gi));
        double vi = __dadd_rn(__dmul_rn(a.beta2, (double)v[i]),
                              __dmul_rn(__dmul_rn(1.0 - a.beta2, gi), gi));
        m[i] = (float)mi;
        v[i] = (float)vi;
        double pi = i < n_decay ? __dmul_rn((double)p[i], a.decay) : (double)p[i];
        double den = __dadd_rn(sqrt(vi) / a.sqrt_bc2, a.eps);
        float np = (float)__dadd_rn(pi, -(__dmul_rn(a.step_size, mi) / den));
        p[i] = np;
        if (p16)
            p16[i] = __float2bfloat16_rn(np);
    }
}

} // namespace

cudaError_t wf_k_sumsq(const float *g, size_t n, double *partial, double *out, cudaStream_t stream)
{
    sumsq_partial<<<WF_K_REDUCE_BLOCKS, reduce_threads, 0, stream>>>(g, n, partial);
    sumsq_final<<<1, reduce_threads, 0, stream>>>(partial, WF_K_REDUCE_BLOCKS, out);
    return cudaGetLastError();
}

cudaError_t wf_k_adamw(float *p, const float *g, float *m, float *v, size_t n, size_t n_decay,
                       const wf_k_adamw_args *a, wf_bf16 *p16, cudaStream_t stream)
{
    if (n == 0)
        return cudaSuccess;
    adamw<<<blocks_for(n), threads, 0, stream>>>(p, g, m, v, n, n_decay, *a, p16);
    return cudaGetLastError();
}
