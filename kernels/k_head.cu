/* The ordinal head (coral: one vector and three biases; independent: three
 * of each), the ordinal loss of loss.c and the head's backward of grad.c,
 * in the CPU's order of accumulation where it has one. */
#include <math.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

constexpr int head_out = 3;
constexpr int row_threads = 256;

/* One block per sample. */
__global__ void head_forward(const float *pooled, int h, const float *w, const float *b, int coral,
                             float *logits)
{
    __shared__ float sh[32];
    const float *x = pooled + (size_t)blockIdx.x * h;
    for (int k = 0; k < head_out; k++) {
        const float *wk = w + (coral ? 0 : (size_t)k * h);
        float s = 0.0f;
        for (int i = threadIdx.x; i < h; i += blockDim.x)
            s += wk[i] * x[i];
        s = block_sum(s, sh);
        if (threadIdx.x == 0)
            logits[(size_t)blockIdx.x * head_out + k] = b[k] + s;
    }
}

/* One thread per sample: the loss of loss.c, in double. */
__global__ void ordinal_loss(const float *logits, const int32_t *labels, int n, float scale,
                             double *loss, float *dlogits)
{
    for (int s = blockIdx.x * blockDim.x + threadIdx.x; s < n; s += gridDim.x * blockDim.x) {
        double l = 0.0;
        for (int k = 0; k < head_out; k++) {
            double y = labels[s] > k + 1, z = logits[(size_t)s * head_out + k];
            l += fmax(z, 0.0) - z * y + log1p(exp(-fabs(z)));
            float dz = (float)((1.0 / (1.0 + exp(-z)) - y) / head_out);
            dlogits[(size_t)s * head_out + k] = dz * scale;
        }
        loss[s] = l / head_out;
    }
}

/* gw: one thread per weight, summing over samples in grad.c's order (sample
 * by sample, k inner); thread 0 also does gb. */
__global__ void head_grad(const float *pooled, int n, int h, int coral, const float *dlogits,
                          float *gw, float *gb)
{
    int nw = coral ? h : head_out * h;
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < nw; e += gridDim.x * blockDim.x) {
        int i = e % h, k0 = coral ? 0 : e / h, k1 = coral ? head_out : k0 + 1;
        float acc = gw[e];
        for (int s = 0; s < n; s++)
            for (int k = k0; k < k1; k++)
                acc += dlogits[(size_t)s * head_out + k] * pooled[(size_t)s * h + i];
        gw[e] = acc;
        for (int k = 0; e == 0 && k < head_out; k++) {
            float bacc = gb[k];
            for (int s = 0; s < n; s++)
                bacc += dlogits[(size_t)s * head_out + k];
            gb[k] = bacc;
        }
    }
}

__global__ void head_dpooled(int n, int h, const float *w, int coral, const float *dlogits,
                             float *dpooled)
{
    size_t total = (size_t)n * h;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total;
         e += (size_t)gridDim.x * blockDim.x) {
        size_t s = e / h, i = e % h;
        float d = 0.0f;
        for (int k = 0; k < head_out; k++)
            d += dlogits[s * head_out + k] * w[(coral ? 0 : (size_t)k * h) + i];
        dpooled[e] = d;
    }
}

} // namespace

cudaError_t wf_k_head_forward(const float *pooled, int n, int h, const float *w, const float *b,
                              int coral, float *logits, cudaStream_t stream)
{
    if (n <= 0 || h <= 0)
        return cudaSuccess;
    head_forward<<<(unsigned)n, row_threads, 0, stream>>>(pooled, h, w, b, coral, logits);
    return cudaGetLastError();
}

cudaError_t wf_k_ordinal_loss(const float *logits, const int32_t *labels, int n, float scale,
                              double *loss, float *dlogits, cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    ordinal_loss<<<blocks_for((size_t)n), threads, 0, stream>>>(logits, labels, n, scale, loss,
                                                                dlogits);
    return cudaGetLastError();
}

cudaError_t wf_k_head_backward(const float *pooled, int n, int h, const float *w, int coral,
                               const float *dlogits, float *gw, float *gb, float *dpooled,
                               cudaStream_t stream)
{
    if (n <= 0 || h <= 0)
        return cudaSuccess;
    int nw = coral ? h : head_out * h;
    head_grad<<<blocks_for((size_t)nw), threads, 0, stream>>>(pooled, n, h, coral, dlogits, gw, gb);
    head_dpooled<<<blocks_for((size_t)n * h), threads, 0, stream>>>(n, h, w, coral, dlogits,
                                                                    dpooled);
    return cudaGetLastError();
}
