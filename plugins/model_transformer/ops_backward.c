/* The backward kernels of ops.c (RoPE's is there, beside its forward).
 * Each recomputes what it needs from the forward's inputs with the
 * forward's own fp32 arithmetic (same inverse RMS), so the gradient is that
 * of the function the forward actually computed; reductions that the
 * forward does not have are summed in double. */
#include <cblas.h>
#include <math.h>

#include "model_transformer/tf_internal.h"

void wf_tf_linear_backward(const float *dy, size_t rows, size_t out, const float *w, size_t in,
                           float *dx, int accumulate)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)rows, (blasint)in, (blasint)out,
                1.0f, dy, (blasint)out, w, (blasint)in, accumulate ? 1.0f : 0.0f, dx, (blasint)in);
}

/* The forward's inverse RMS of one row, bit for bit. */
static float rms_inverse(const float *x, size_t dim, double eps)
{
    float ss = 0.0f;
    for (size_t i = 0; i < dim; i++)
        ss += x[i] * x[i];
    return 1.0f / sqrtf(ss / (float)dim + (float)eps);
}

/* With y_i = w_i x_i inv and inv = (sum x^2 / dim + eps)^(-1/2):
 * dx_j = inv w_j dy_j - x_j inv^3 / dim * sum_i w_i dy_i x_i. Every read of
 * dy[j] comes before the write of dx[j], so dx may alias dy. */
static void rmsnorm_row_backward(const float *x, size_t dim, const float *weight, double eps,
                                 const float *dy, float *dx, int accumulate)
{
    float inv = rms_inverse(x, dim, eps);
    double dot = 0.0;
    for (size_t i = 0; i < dim; i++)
        dot += (double)weight[i] * dy[i] * x[i];
    float coef = (float)(dot * inv * inv * inv / (double)dim);
    for (size_t j = 0; j < dim; j++) {
        float g = inv * weight[j] * dy[j] - coef * x[j];
        dx[j] = accumulate ? dx[j] + g : g;
    }
}

void wf_tf_rmsnorm_backward(const float *x, size_t rows, size_t dim, size_t stride,
                            const float *weight, double eps, const float *dy, size_t dy_stride,
                            float *dx, size_t dx_stride, int accumulate)
{
    for (size_t r = 0; r < rows; r++)
        rmsnorm_row_backward(x + r * stride, dim, weight, eps, dy + r * dy_stride,
                             dx + r * dx_stride, accumulate);
}

/* silu'(g) = s (1 + g (1 - s)) with s = sigmoid(g). Each element is read
 * before it is written, so dgate or dup may alias dout. */
void wf_tf_swiglu_backward(const float *gate, const float *up, const float *dout, size_t n,
                           float *dgate, float *dup)
{
    for (size_t i = 0; i < n; i++) {
        float g = gate[i], u = up[i], d = dout[i];
        float s = 1.0f / (1.0f + expf(-g));
        dgate[i] = d * u * s * (1.0f + g * (1.0f - s));
        dup[i] = d * g * s;
    }
}
