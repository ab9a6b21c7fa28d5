/* The backward pass of LoRA training, the exact reverse of forward.cu, as
 * layer.c and grad.c compute it on the CPU: the loss and the head, the
 * final norm at each sequence's last token, then every layer from the last
 * with its stored activations (store.cu). The base weights are frozen, so
 * each product gives only its input gradient; the LoRA gradients go into
 * the flat fp32 gradient at the adapter's offsets. A batch over the
 * training store's budget runs as several packed batches whose dropout
 * masks continue the token numbering of the whole batch, so the masks, and
 * the gradient, are those of the CPU's single pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "driver.cuh"

/* dx: from the gradient of x_out to that of x_mid, through the MLP. */
static int mlp_backward(const wf_cu_pass *p, int layer, const wf_cu_acts *a, const wf_cu_bwd *b,
                        wf_error *err)
{
    const wf_cu_dims *d = &p->cm->d;
    const wf_cu_layer *l = &p->cm->layers[layer];
    const wf_cu_ctx *cx = &p->cx;
    size_t T = (size_t)p->T, gu = 2 * d->inter;
    int rc;
    if ((rc = WF_CU(wf_k_f32_to_bf16(b->dx, b->dy16, T * d->h, cx->stream))) ||
        (rc = wf_gemm_dyw(cx, T, d->h, d->inter, b->dy16, d->h, l->wdown, 0.0f, b->dwide, err)) ||
        (rc = wf_cu_lora_backward(p, layer, WF_TF_DOWN, a->act, a->u[WF_TF_DOWN], b->dy16, d->h,
                                  b->dwide, b, err)) ||
        (rc = WF_CU(wf_k_swiglu_backward(a->gu, a->gu + d->inter, gu, p->T, (int)d->inter, b->dwide,
                                         d->inter, b->dproj, b->dproj + d->inter, gu,
                                         cx->stream))) ||
        (rc = wf_gemm_dyw(cx, T, gu, d->h, b->dproj, gu, l->wgu, 0.0f, b->dxn, err)) ||
        (rc = wf_cu_lora_backward(p, layer, WF_TF_GATE, a->xn2, a->u[WF_TF_GATE], b->dproj, gu,
                                  b->dxn, b, err)) ||
        (rc = wf_cu_lora_backward(p, layer, WF_TF_UP, a->xn2, a->u[WF_TF_UP], b->dproj + d->inter,
                                  gu, b->dxn, b, err)))
        return rc;
    return WF_CU(wf_k_rmsnorm_backward(a->x_mid, d->h, p->T, (int)d->h, l->post_norm, d->eps,
                                       a->rstd2, b->dxn, d->h, b->dx, d->h, 1, cx->stream));
}

/* dproj's q and k parts: from the gradient of attention's inputs to that of
 * the projections' outputs (RoPE, then the per-head norms). */
static int qk_backward(const wf_cu_pass *p, const wf_cu_layer *l, const wf_cu_acts *a,
                       const wf_cu_bwd *b, wf_error *err)
{
    const wf_cu_dims *d = &p->cm->d;
    cudaStream_t st = p->cx.stream;
    wf_bf16 *dq = b->dproj, *dk = b->dproj + d->qd;
    int rc, T = p->T, hd = (int)d->hd;
    if ((rc = WF_CU(wf_k_rope(dq, d->qkvd, T, (int)(d->heads + d->kv), hd, p->cm->fwd.pos,
                              p->cm->inv_freq, 1, st))) ||
        !l->q_norm)
        return rc;
    if ((rc = WF_CU(wf_k_headnorm_backward(a->qkv, d->qkvd, T, (int)d->heads, hd, l->q_norm, d->eps,
                                           dq, d->qkvd, dq, d->qkvd, st))))
        return rc;
    return WF_CU(wf_k_headnorm_backward(a->qkv + d->qd, d->qkvd, T, (int)d->kv, hd, l->k_norm,
                                        d->eps, dk, d->qkvd, dk, d->qkvd, st));
}

/* The o projection and attention: dx's gradient of x_mid into b->dproj
 * (dq | dk | dv, as the fused projection's output). */
static int attn_core_backward(const wf_cu_pass *p, int layer, const wf_cu_acts *a,
                              const wf_cu_bwd *b, wf_error *err)
{
    const wf_cu_dims *d = &p->cm->d;
    const wf_cu_layer *l = &p->cm->layers[layer];
    const wf_cu_ctx *cx = &p->cx;
    size_t T = (size_t)p->T;
    int rc;
    if ((rc = WF_CU(wf_k_f32_to_bf16(b->dx, b->dy16, T * d->h, cx->stream))) ||
        (rc = wf_gemm_dyw(cx, T, d->h, d->qd, b->dy16, d->h, l->wo, 0.0f, b->dwide, err)) ||
        (rc = wf_cu_lora_backward(p, layer, WF_TF_O, a->att, a->u[WF_TF_O], b->dy16, d->h, b->dwide,
                                  b, err)) ||
        (rc = WF_CU(wf_k_f32_to_bf16(b->dwide, b->datt, T * d->qd, cx->stream))))
        return rc;
    /* q and k as the forward gave them to attention */
    const wf_bf16 *q = l->q_norm ? a->qk : a->qkv, *k = q + d->qd;
    size_t ld = l->q_norm ? d->qd + d->kvd : d->qkvd;
    wf_k_attn at;
    wf_cu_attn_args(p, &at);
    at.scratch = b->attn;
    at.scratch_bytes = b->attn_bytes;
    const wf_bf16 *v = a->qkv + d->qd + d->kvd;
    wf_bf16 *dq = b->dproj, *dk = b->dproj + d->qd, *dv = b->dproj + d->qd + d->kvd;
    if (p->cm->flash_bwd) { /* the forward kept its output and lse for it */
        rc = wf_k_flash_backward(&at, p->cm->fwd.starts, q, ld, k, ld, v, d->qkvd, a->att, d->qd,
                                 a->lse, b->datt, d->qd, dq, d->qkvd, dk, d->qkvd, dv, d->qkvd,
                                 at.scratch, at.scratch_bytes, cx->stream, err);
        return rc ? rc : WF_CU_AFTER("wf_k_flash_backward");
    }
    if ((rc = wf_k_attention_backward(cx->blas, &at, q, ld, k, ld, v, d->qkvd, b->datt, d->qd, dq,
                                      d->qkvd, dk, d->qkvd, dv, d->qkvd, err)))
        return rc;
    return WF_CU_AFTER("wf_k_attention_backward");
}

/* dx: from the gradient of x_mid to that of x_in, through attention. */
static int attention_backward(const wf_cu_pass *p, int layer, const wf_cu_acts *a,
                              const wf_cu_bwd *b, wf_error *err)
{
    const wf_cu_dims *d = &p->cm->d;
    const wf_cu_layer *l = &p->cm->layers[layer];
    const wf_cu_ctx *cx = &p->cx;
    size_t T = (size_t)p->T, qkvd = d->qkvd;
    int rc;
    if ((rc = attn_core_backward(p, layer, a, b, err)) || (rc = qk_backward(p, l, a, b, err)) ||
        (rc = wf_gemm_dyw(cx, T, qkvd, d->h, b->dproj, qkvd, l->wqkv, 0.0f, b->dxn, err)) ||
        (rc = wf_cu_lora_backward(p, layer, WF_TF_Q, a->xn1, a->u[WF_TF_Q], b->dproj, qkvd, b->dxn,
                                  b, err)) ||
        (rc = wf_cu_lora_backward(p, layer, WF_TF_K, a->xn1, a->u[WF_TF_K], b->dproj + d->qd, qkvd,
                                  b->dxn, b, err)) ||
        (rc = wf_cu_lora_backward(p, layer, WF_TF_V, a->xn1, a->u[WF_TF_V],
                                  b->dproj + d->qd + d->kvd, qkvd, b->dxn, b, err)))
        return rc;
    return WF_CU(wf_k_rmsnorm_backward(a->x_in, d->h, p->T, (int)d->h, l->in_norm, d->eps, a->rstd1,
                                       b->dxn, d->h, b->dx, d->h, 1, cx->stream));
}

int wf_cu_backward_pass(const wf_cu_pass *p, wf_cu_train *tr, float scale, wf_error *err)
{
    wf_cuda_model *cm = p->cm;
    const wf_cu_dims *d = &cm->d;
    const wf_cuda_adapter *ca = p->ca;
    const wf_cu_bwd *b = &tr->bwd;
    cudaStream_t st = p->cx.stream;
    const float *x = tr->acts[d->layers - 1].x_out;
    int rc, n = p->n, h = (int)d->h;
    if ((rc = WF_CU(
             wf_k_ordinal_loss(cm->fwd.logits, b->labels, n, scale, b->loss, b->dlogits, st))) ||
        (rc = WF_CU(wf_k_head_backward(cm->fwd.pooled, n, h, ca->p32 + ca->head_w, ca->coral,
                                       b->dlogits, p->grad + ca->head_w, p->grad + ca->head_b,
                                       b->dpooled, st))) ||
        (rc = WF_CU(cudaMemsetAsync(b->dx, 0, (size_t)p->T * d->h * sizeof(float), st))) ||
        (rc = WF_CU(wf_k_pool_backward(x, h, cm->fwd.starts, n, cm->final_norm, d->eps,
                                       cm->fwd.prstd, b->dpooled, b->dx, st))))
        return rc;
    for (size_t l = d->layers; l-- > 0;)
        if ((rc = mlp_backward(p, (int)l, &tr->acts[l], b, err)) ||
            (rc = attention_backward(p, (int)l, &tr->acts[l], b, err)))
            return rc;
    return 0;
}

static int check_labels(const wf_tf_batch *b, wf_error *err)
{
    for (size_t s = 0; s < b->n; s++)
        if (b->labels[s] < 1 || b->labels[s] > WF_LABELS)
            return wf_error_set(err, WF_EINVAL, "sequence %zu: label %d not in [1, 4]", s,
                                b->labels[s]);
    return 0;
}

/* One packed batch of k sequences from s: forward, backward, loss sum. */
static int grad_chunk(wf_cu_pass *p, wf_cu_train *tr, const wf_tf_batch *b, size_t s, size_t k,
                      float scale, double *loss, wf_error *err)
{
    wf_cuda_model *cm = p->cm;
    for (size_t i = 0; i < k; i++)
        tr->h_labels[i] = b->labels[s + i];
    int rc;
    if ((rc = wf_cu_upload_batch(p, b->ids + s, b->lens + s, k, err)) ||
        (rc = WF_CU(cudaMemcpyAsync(tr->bwd.labels, tr->h_labels, k * sizeof(int32_t),
                                    cudaMemcpyHostToDevice, p->cx.stream))) ||
        (rc = wf_cu_forward_pass(p, tr->acts, 0, err)) ||
        (rc = wf_cu_backward_pass(p, tr, scale, err)) ||
        (rc = WF_CU(cudaMemcpyAsync(tr->h_loss, tr->bwd.loss, k * sizeof(double),
                                    cudaMemcpyDeviceToHost, p->cx.stream))) ||
        (rc = wf_cu_sync(cm, err)))
        return rc;
    for (size_t i = 0; i < k; i++) /* in order, as the CPU adds them */
        *loss += tr->h_loss[i];
    return 0;
}

int wf_cu_grad_batch(wf_cuda_model *cm, const wf_cuda_adapter *ca, wf_cu_train *tr,
                     const wf_tf_batch *b, uint64_t seed, float scale, double *loss_sum,
                     wf_error *err)
{
    *loss_sum = 0.0;
    int rc;
    if ((rc = check_labels(b, err)) || (rc = wf_cu_check_seqs(cm, b->ids, b->lens, b->n, err)))
        return rc;
    wf_cu_pass p = {};
    p.cm = cm, p.ca = ca, p.cx = {cm->blas, cm->stream};
    p.dropout = ca->dropout, p.seed = seed, p.grad = tr->grad;
    double loss = 0.0;
    for (size_t s = 0, k, t; s < b->n; s += k, p.row0 += t) {
        wf_cu_next_batch(b->lens + s, b->n - s, tr->budget, &k, &t);
        if (k == 0) /* wf_cu_check_seqs rules this out; never loop on it */
            return wf_error_set(err, WF_EINVAL, "sequence %zu does not fit the budget", s);
        if ((rc = grad_chunk(&p, tr, b, s, k, scale, &loss, err)))
            return rc;
    }
    *loss_sum = loss;
    return 0;
}

/* wf_cuda_grad's work under the lock: a temporary adapter and training
 * storage, the gradient downloaded and added into grad. */
static int grad_once(wf_cuda_model *cm, const wf_tf_adapter *ad, const wf_tf_batch *b,
                     uint64_t seed, float scale, float *grad, double *loss_sum, wf_error *err)
{
    wf_cuda_adapter *ca = NULL;
    wf_cu_train tr = {};
    float *g = (float *)malloc((ad->n_params ? ad->n_params : 1) * sizeof *g);
    int rc = g ? 0 : wf_error_set(err, WF_ENOMEM, "out of memory");
    if (!rc && !(rc = wf_cu_adapter_new(cm, ad, &ca, err)) &&
        !(rc = wf_cu_train_new(cm, ca, 0, &tr, err)) &&
        !(rc = WF_CU(cudaMemsetAsync(tr.grad, 0, ca->n_params * sizeof(float), cm->stream))) &&
        !(rc = wf_cu_grad_batch(cm, ca, &tr, b, seed, scale, loss_sum, err)) &&
        !(rc = WF_CU(cudaMemcpyAsync(g, tr.grad, ca->n_params * sizeof(float),
                                     cudaMemcpyDeviceToHost, cm->stream))) &&
        !(rc = wf_cu_sync(cm, err)))
        for (size_t i = 0; i < ad->n_params; i++)
            grad[i] += g[i];
    wf_cu_train_free(&tr);
    wf_cu_adapter_destroy(ca);
    free(g);
    return rc;
}

extern "C" int wf_cuda_grad(wf_cuda_model *cm, const wf_tf_adapter *ad, const wf_tf_batch *b,
                            uint64_t dropout_seed, float scale, float *grad, double *loss_sum,
                            wf_error *err)
{
    *loss_sum = 0.0;
    if (!ad)
        return wf_error_set(err, WF_EINVAL, "wf_cuda_grad: no adapter");
    if (b->n == 0)
        return check_labels(b, err);
    int rc = wf_cu_enter(cm, err);
    if (rc)
        return rc;
    rc = grad_once(cm, ad, b, dropout_seed, scale, grad, loss_sum, err);
    wf_cu_leave(cm);
    return rc;
}
