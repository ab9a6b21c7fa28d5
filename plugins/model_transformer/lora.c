/* Projections with their LoRA branch, forward and backward, as PEFT's LoRA
 * linear layers compute them: y = x W^T + s (drop(x) A^T) B^T. */
#include <cblas.h>

#include "model_transformer/dropout.h"
#include "model_transformer/layer.h"

static const wf_tf_lora *lora_of(const wf_tf_pass *p, int layer, wf_tf_proj proj)
{
    if (!p->ad || !p->ad->proj[layer][proj].a)
        return NULL;
    return &p->ad->proj[layer][proj];
}

/* The dropout mask of (layer, proj) on x [tokens, in]: y = keep ? x * scale
 * : 0, or y += that when accumulate. */
static void apply_mask(const wf_tf_pass *p, int layer, wf_tf_proj proj, const float *x, size_t in,
                       float *y, int accumulate)
{
    uint32_t key = wf_tf_dropout_key(p->seed, layer, (int)proj);
    uint32_t thr = wf_tf_dropout_threshold(p->dropout);
    float scale = wf_tf_dropout_scale(thr);
    for (size_t t = 0; t < p->tokens; t++) {
        uint32_t row = wf_tf_dropout_row(key, t), bits = 0;
        const float *xr = x + t * in;
        float *yr = y + t * in;
        for (size_t i = 0; i < in; i++) {
            if (!(i & 1))
                bits = wf_tf_dropout_pair(row, (uint32_t)(i >> 1), thr);
            float v = bits >> (i & 1) & 1 ? xr[i] * scale : 0.0f;
            yr[i] = accumulate ? yr[i] + v : v;
        }
    }
}

/* The adapter's input: x itself, or its dropped-out copy in a->xd. */
static const float *dropped(const wf_tf_pass *p, int layer, wf_tf_proj proj, const float *x,
                            size_t in, wf_tf_acts *a)
{
    if (p->dropout <= 0.0f)
        return x;
    apply_mask(p, layer, proj, x, in, a->xd, 0);
    return a->xd;
}

void wf_tf_project(const wf_tf_pass *p, int layer, wf_tf_proj proj, const float *x, const float *w,
                   const float *bias, float *y, wf_tf_acts *a)
{
    size_t in, out, t = p->tokens;
    wf_tf_proj_dims(&p->m->cfg, proj, &in, &out);
    wf_tf_linear(x, t, in, w, bias, out, y);
    const wf_tf_lora *lo = lora_of(p, layer, proj);
    if (!lo)
        return;
    blasint r = p->ad->lora.rank;
    float s = (float)(p->ad->lora.alpha / p->ad->lora.rank);
    const float *xin = dropped(p, layer, proj, x, in, a);
    wf_tf_linear(xin, t, in, lo->a, NULL, (size_t)r, a->u);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)t, (blasint)out, r, s, a->u, r,
                lo->b, r, 1.0f, y, (blasint)out);
}

void wf_tf_project_backward(const wf_tf_pass *p, int layer, wf_tf_proj proj, const float *x,
                            const float *w, const float *dy, float *dx, int accumulate,
                            wf_tf_acts *a)
{
    size_t in, out;
    blasint t = (blasint)p->tokens;
    wf_tf_proj_dims(&p->m->cfg, proj, &in, &out);
    wf_tf_linear_backward(dy, p->tokens, out, w, in, dx, accumulate);
    const wf_tf_lora *lo = lora_of(p, layer, proj);
    if (!lo)
        return;
    blasint r = p->ad->lora.rank, bi = (blasint)in, bo = (blasint)out;
    float s = (float)(p->ad->lora.alpha / p->ad->lora.rank);
    float *ga = p->grad + (lo->a - p->ad->params), *gb = p->grad + (lo->b - p->ad->params);
    const float *xin = dropped(p, layer, proj, x, in, a);
    wf_tf_linear(xin, p->tokens, in, lo->a, NULL, (size_t)r, a->u);
    /* dB += s dY^T U;  dU = s dY B;  dA += dU^T Xd;  dXd = dU A */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, bo, r, t, s, dy, bo, a->u, r, 1.0f, gb, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, r, bo, s, dy, bo, lo->b, r, 0.0f,
                a->du, r);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, bi, t, 1.0f, a->du, r, xin, bi, 1.0f,
                ga, bi);
    if (p->dropout <= 0.0f) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, bi, r, 1.0f, a->du, r, lo->a, bi,
                    1.0f, dx, bi);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, bi, r, 1.0f, a->du, r, lo->a, bi,
                0.0f, a->dxd, bi);
    apply_mask(p, layer, proj, a->dxd, in, dx, 1); /* the mask's transpose is itself */
}
