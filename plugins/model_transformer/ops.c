/* The elementwise kernels of the decoder, written to match Hugging Face's
 * fp32 arithmetic (RMSNorm in fp32, RoPE angles as float products). */
#include <cblas.h>
#include <math.h>

#include "model_transformer/tf_internal.h"

void wf_tf_linear(const float *x, size_t rows, size_t in, const float *w, const float *bias,
                  size_t out, float *y)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)rows, (blasint)out, (blasint)in,
                1.0f, x, (blasint)in, w, (blasint)in, 0.0f, y, (blasint)out);
    if (!bias)
        return;
    for (size_t r = 0; r < rows; r++)
        for (size_t o = 0; o < out; o++)
            y[r * out + o] += bias[o];
}

void wf_tf_rmsnorm(const float *x, size_t rows, size_t dim, size_t stride, const float *weight,
                   double eps, float *y, size_t y_stride)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * stride;
        float *yr = y + r * y_stride;
        float ss = 0.0f;
        for (size_t i = 0; i < dim; i++)
            ss += xr[i] * xr[i];
        float inv = 1.0f / sqrtf(ss / (float)dim + (float)eps);
        for (size_t i = 0; i < dim; i++)
            yr[i] = weight[i] * (xr[i] * inv);
    }
}

/* Llama 3.1: long wavelengths are slowed by factor, short ones kept, and the
 * band between interpolated. */
static double llama3_freq(const wf_tf_rope *r, double f)
{
    double wavelen = 2.0 * M_PI / f;
    double low_wavelen = r->original_max_position_embeddings / r->low_freq_factor;
    double high_wavelen = r->original_max_position_embeddings / r->high_freq_factor;
    if (wavelen < high_wavelen)
        return f;
    if (wavelen > low_wavelen)
        return f / r->factor;
    double smooth = (r->original_max_position_embeddings / wavelen - r->low_freq_factor) /
                    (r->high_freq_factor - r->low_freq_factor);
    return (1.0 - smooth) * f / r->factor + smooth * f;
}

void wf_tf_rope_freqs(const wf_tf_config *c, float *inv_freq)
{
    int half = c->head_dim / 2;
    for (int i = 0; i < half; i++) {
        double f = 1.0 / pow(c->rope.theta, (double)(2 * i) / c->head_dim);
        if (c->rope.kind == WF_TF_ROPE_LINEAR)
            f /= c->rope.factor;
        else if (c->rope.kind == WF_TF_ROPE_LLAMA3)
            f = llama3_freq(&c->rope, f);
        inv_freq[i] = (float)f;
    }
}

/* Rotates each pair (a, b) by sign * pos * inv_freq[i]: sign -1 is the
 * transpose, which the backward pass needs. cos and sin are the same for
 * both, so the backward is the forward's exact transpose. */
static void rope_rotate(float *x, size_t rows, size_t stride, int n_heads, int hd,
                        const float *inv_freq, size_t pos0, float sign)
{
    int half = hd / 2;
    float cs[512], sn[512]; /* hd <= 1024, checked by the config */
    for (size_t r = 0; r < rows; r++) {
        float pos = (float)(pos0 + r);
        for (int i = 0; i < half; i++) {
            float a = pos * inv_freq[i];
            cs[i] = cosf(a);
            sn[i] = sign * sinf(a);
        }
        for (int h = 0; h < n_heads; h++) {
            float *v = x + r * stride + (size_t)h * hd;
            for (int i = 0; i < half; i++) {
                float a = v[i], b = v[i + half];
                v[i] = a * cs[i] - b * sn[i];
                v[i + half] = b * cs[i] + a * sn[i];
            }
        }
    }
}

void wf_tf_rope_apply(float *x, size_t rows, size_t stride, int n_heads, int hd,
                      const float *inv_freq, size_t pos0)
{
    rope_rotate(x, rows, stride, n_heads, hd, inv_freq, pos0, 1.0f);
}

void wf_tf_rope_backward(float *dx, size_t rows, size_t stride, int n_heads, int hd,
                         const float *inv_freq, size_t pos0)
{
    rope_rotate(dx, rows, stride, n_heads, hd, inv_freq, pos0, -1.0f);
}

void wf_tf_swiglu(float *gate, const float *up, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}
