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

/* The adapter's input: x itself, or its dropped-out copy in a->xd. */
static const float *dropped(const wf_tf_pass *p, int layer, wf_tf_proj proj, const float *x,
                            size_t in, wf_tf_acts *a)
{
    if (p->dropout <= 0.0f)
        return x;
    float keep_scale = 1.0f / (1.0f - p->dropout);
    uint32_t key = wf_tf_dropout_key(p->seed, layer, (int)proj);
    for (size_t i = 0; i < p->tokens * in; i++)
        a->xd[i] = wf_tf_dropout_keep_key(key, i, p->dropout) ? x[i] * keep_scale : 0.0f;
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

/* dx += drop^T(dxd): the mask of the forward, applied to the gradient. */
static void undrop(const wf_tf_pass *p, int layer, wf_tf_proj proj, const float *dxd, size_t in,
                   float *dx)
{
    float keep_scale = 1.0f / (1.0f - p->dropout);
    uint32_t key = wf_tf_dropout_key(p->seed, layer, (int)proj);
    for (size_t i = 0; i < p->tokens * in; i++)
        if (wf_tf_dropout_keep_key(key, i, p->dropout))
            dx[i] += dxd[i] * keep_scale;
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
    undrop(p, layer, proj, a->dxd, in, dx);
}
