/* The forward pass over packed batches: embedding, every decoder layer, the
 * final norm at each sequence's last token and the head, as layer.c and
 * forward.c compute them on the CPU. Scoring splits the sequences into
 * consecutive batches of at most the token budget (dynamic batching); the
 * model's lock serialises concurrent callers. */
#include <stdlib.h>
#include <string.h>

#include "driver.cuh"

void wf_cu_next_batch(const size_t *lens, size_t n, size_t budget, size_t *count, size_t *tokens)
{
    size_t k = 0, t = 0;
    while (k < n && t + lens[k] <= budget)
        t += lens[k++];
    *count = k;
    *tokens = t;
}

int wf_cu_check_seqs(const wf_cuda_model *cm, const int32_t *const *ids, const size_t *lens,
                     size_t n, wf_error *err)
{
    for (size_t s = 0; s < n; s++) {
        if (lens[s] < 1 || lens[s] > cm->max_len)
            return wf_error_set(err, WF_EINVAL, "sequence %zu: length %zu not in [1, %zu]", s,
                                lens[s], cm->max_len);
        if (lens[s] > cm->budget)
            return wf_error_set(err, WF_EINVAL,
                                "sequence %zu: %zu tokens, over the token budget of %zu", s,
                                lens[s], cm->budget);
        for (size_t t = 0; t < lens[s]; t++)
            if (ids[s][t] < 0 || ids[s][t] >= cm->cfg.vocab)
                return wf_error_set(err, WF_EINVAL, "sequence %zu: token %zu: id %d not in [0, %d)",
                                    s, t, (int)ids[s][t], cm->cfg.vocab);
    }
    return 0;
}

/* The staging buffers are free again: every batch ends in a synchronising
 * download before the next one is packed. */
int wf_cu_upload_batch(wf_cu_pass *p, const int32_t *const *ids, const size_t *lens, size_t n,
                       wf_error *err)
{
    wf_cuda_model *cm = p->cm;
    size_t T = 0;
    cm->h_starts[0] = 0;
    for (size_t s = 0; s < n; s++) {
        memcpy(cm->h_ids + T, ids[s], lens[s] * sizeof(int32_t));
        T += lens[s];
        cm->h_starts[s + 1] = (int32_t)T;
    }
    p->T = (int)T;
    p->n = (int)n;
    p->h_starts = cm->h_starts;
    cudaStream_t st = p->cx.stream;
    int rc;
    if ((rc = WF_CU(cudaMemcpyAsync(cm->fwd.ids, cm->h_ids, T * sizeof(int32_t),
                                    cudaMemcpyHostToDevice, st))) ||
        (rc = WF_CU(cudaMemcpyAsync(cm->fwd.starts, cm->h_starts, (n + 1) * sizeof(int32_t),
                                    cudaMemcpyHostToDevice, st))))
        return rc;
    return WF_CU(wf_k_positions(cm->fwd.starts, p->n, p->T, cm->fwd.pos, st));
}

void wf_cu_fwd_acts(wf_cuda_model *cm, const wf_cuda_adapter *ca, wf_cu_acts *a)
{
    wf_cu_fwd *f = &cm->fwd;
    a->x_in = a->x_mid = a->x_out = f->x;
    a->xn1 = f->xn1, a->xn2 = f->xn2, a->rstd1 = f->rstd1, a->rstd2 = f->rstd2;
    a->qkv = f->qkv, a->qk = f->qk, a->att = f->att, a->gu = f->gu, a->act = f->act;
    a->lse = NULL; /* scoring keeps nothing for a backward */
    for (int p = 0; p < WF_TF_NPROJ; p++)
        a->u[p] = ca->u;
}

/* q and k as attention takes them: after the optional per-head norm (into
 * a->qk) and RoPE (in place). RoPE's positions restart with each packed
 * sequence (fwd.pos). */
static int qk_prepare(const wf_cu_pass *p, const wf_cu_layer *l, wf_cu_acts *a, wf_bf16 **q,
                      wf_bf16 **k, size_t *ld, wf_error *err)
{
    const wf_cu_dims *d = &p->cm->d;
    cudaStream_t st = p->cx.stream;
    int T = p->T, rc;
    *q = a->qkv, *k = a->qkv + d->qd, *ld = d->qkvd;
    if (l->q_norm) {
        *q = a->qk, *k = a->qk + d->qd, *ld = d->qd + d->kvd;
        if ((rc = WF_CU(wf_k_headnorm(a->qkv, d->qkvd, T, (int)d->heads, (int)d->hd, l->q_norm,
                                      d->eps, *q, *ld, st))) ||
            (rc = WF_CU(wf_k_headnorm(a->qkv + d->qd, d->qkvd, T, (int)d->kv, (int)d->hd, l->k_norm,
                                      d->eps, *k, *ld, st))))
            return rc;
    }
    /* the k heads follow the q heads in both layouts: one rotation for all */
    return WF_CU(wf_k_rope(*q, *ld, T, (int)(d->heads + d->kv), (int)d->hd, p->cm->fwd.pos,
                           p->cm->inv_freq, 0, st));
}

void wf_cu_attn_args(const wf_cu_pass *p, wf_k_attn *at)
{
    const wf_cuda_model *cm = p->cm;
    at->heads = (int)cm->d.heads;
    at->kv_heads = (int)cm->d.kv;
    at->hd = (int)cm->d.hd;
    at->starts = p->h_starts;
    at->n = p->n;
    at->scratch = cm->fwd.attn;
    at->scratch_bytes = cm->fwd.attn_bytes;
}

/* Attention proper: the flash kernel where it applies (head width 64 or
 * 128, and the device's shared memory), which ran 1.6-4x faster than the
 * cuBLAS path at 2048 and 512 tokens per sequence on an H200
 * (check_kernels' TIME lines); otherwise the cuBLAS path. Training keeps
 * the flash forward's log-sum-exp (lse) so that its backward need not run
 * the forward again. */
static int attention_core(const wf_cu_pass *p, const wf_k_attn *at, const wf_bf16 *q,
                          const wf_bf16 *k, size_t ld, const wf_bf16 *v, wf_bf16 *out, float *lse,
                          wf_error *err)
{
    const wf_cu_dims *d = &p->cm->d;
    int rc;
    if (p->cm->flash_fwd) {
        rc = wf_k_flash_forward(at, p->cm->fwd.starts, q, ld, k, ld, v, d->qkvd, out, d->qd, lse,
                                p->cx.stream, err);
        return rc ? rc : WF_CU_AFTER("wf_k_flash_forward");
    }
    rc = wf_k_attention_forward(p->cx.blas, at, q, ld, k, ld, v, d->qkvd, out, d->qd, err);
    return rc ? rc : WF_CU_AFTER("wf_k_attention_forward");
}

/* x_mid = x_in + o(attention(q, k, v of norm(x_in))). */
static int attention_block(const wf_cu_pass *p, int layer, wf_cu_acts *a, wf_error *err)
{
    const wf_cu_dims *d = &p->cm->d;
    const wf_cu_layer *l = &p->cm->layers[layer];
    const wf_cu_ctx *cx = &p->cx;
    size_t T = (size_t)p->T;
    int rc;
    if ((rc = WF_CU(wf_k_rmsnorm(a->x_in, d->h, p->T, (int)d->h, l->in_norm, d->eps, a->xn1, d->h,
                                 a->rstd1, cx->stream))) ||
        (rc = wf_gemm_xwt(cx, T, d->h, d->qkvd, a->xn1, l->wqkv, 0.0f, a->qkv, CUDA_R_16BF, d->qkvd,
                          err)) ||
        (l->bqkv && (rc = WF_CU(wf_k_bias_add_bf16(a->qkv, d->qkvd, p->T, (int)d->qkvd, l->bqkv,
                                                   cx->stream)))) ||
        (rc = wf_cu_lora_forward(p, layer, WF_TF_Q, a->xn1, a->u[WF_TF_Q], a->qkv, CUDA_R_16BF,
                                 d->qkvd, err)) ||
        (rc = wf_cu_lora_forward(p, layer, WF_TF_K, a->xn1, a->u[WF_TF_K], a->qkv + d->qd,
                                 CUDA_R_16BF, d->qkvd, err)) ||
        (rc = wf_cu_lora_forward(p, layer, WF_TF_V, a->xn1, a->u[WF_TF_V], a->qkv + d->qd + d->kvd,
                                 CUDA_R_16BF, d->qkvd, err)))
        return rc;
    wf_bf16 *q, *k;
    size_t ld;
    wf_k_attn at;
    wf_cu_attn_args(p, &at);
    if ((rc = qk_prepare(p, l, a, &q, &k, &ld, err)) ||
        (rc = attention_core(p, &at, q, k, ld, a->qkv + d->qd + d->kvd, a->att, a->lse, err)))
        return rc;
    if (a->x_mid != a->x_in &&
        (rc = WF_CU(cudaMemcpyAsync(a->x_mid, a->x_in, T * d->h * sizeof(float),
                                    cudaMemcpyDeviceToDevice, cx->stream))))
        return rc;
    if ((rc =
             wf_gemm_xwt(cx, T, d->qd, d->h, a->att, l->wo, 1.0f, a->x_mid, CUDA_R_32F, d->h, err)))
        return rc;
    return wf_cu_lora_forward(p, layer, WF_TF_O, a->att, a->u[WF_TF_O], a->x_mid, CUDA_R_32F, d->h,
                              err);
}

/* x_out = x_mid + down(silu(gate(norm(x_mid))) * up(norm(x_mid))). */
static int mlp_block(const wf_cu_pass *p, int layer, wf_cu_acts *a, wf_error *err)
{
    const wf_cu_dims *d = &p->cm->d;
    const wf_cu_layer *l = &p->cm->layers[layer];
    const wf_cu_ctx *cx = &p->cx;
    size_t T = (size_t)p->T, gu = 2 * d->inter;
    int rc;
    if ((rc = WF_CU(wf_k_rmsnorm(a->x_mid, d->h, p->T, (int)d->h, l->post_norm, d->eps, a->xn2,
                                 d->h, a->rstd2, cx->stream))) ||
        (rc = wf_gemm_xwt(cx, T, d->h, gu, a->xn2, l->wgu, 0.0f, a->gu, CUDA_R_16BF, gu, err)) ||
        (rc = wf_cu_lora_forward(p, layer, WF_TF_GATE, a->xn2, a->u[WF_TF_GATE], a->gu, CUDA_R_16BF,
                                 gu, err)) ||
        (rc = wf_cu_lora_forward(p, layer, WF_TF_UP, a->xn2, a->u[WF_TF_UP], a->gu + d->inter,
                                 CUDA_R_16BF, gu, err)) ||
        (rc = WF_CU(wf_k_swiglu(a->gu, a->gu + d->inter, gu, p->T, (int)d->inter, a->act, d->inter,
                                cx->stream))))
        return rc;
    if (a->x_out != a->x_mid &&
        (rc = WF_CU(cudaMemcpyAsync(a->x_out, a->x_mid, T * d->h * sizeof(float),
                                    cudaMemcpyDeviceToDevice, cx->stream))))
        return rc;
    if ((rc = wf_gemm_xwt(cx, T, d->inter, d->h, a->act, l->wdown, 1.0f, a->x_out, CUDA_R_32F, d->h,
                          err)))
        return rc;
    return wf_cu_lora_forward(p, layer, WF_TF_DOWN, a->act, a->u[WF_TF_DOWN], a->x_out, CUDA_R_32F,
                              d->h, err);
}

int wf_cu_forward_pass(const wf_cu_pass *p, wf_cu_acts *acts, int shared, wf_error *err)
{
    wf_cuda_model *cm = p->cm;
    const wf_cu_dims *d = &cm->d;
    const wf_cuda_adapter *ca = p->ca;
    cudaStream_t st = p->cx.stream;
    int rc = WF_CU(wf_k_embed(cm->embed, cm->fwd.ids, p->T, (int)d->h, acts[0].x_in, st));
    for (size_t l = 0; !rc && l < d->layers; l++) {
        wf_cu_acts *a = shared ? &acts[0] : &acts[l];
        if (!(rc = attention_block(p, (int)l, a, err)))
            rc = mlp_block(p, (int)l, a, err);
    }
    if (rc)
        return rc;
    const float *x = shared ? acts[0].x_out : acts[d->layers - 1].x_out;
    if ((rc = WF_CU(wf_k_pool(x, (int)d->h, cm->fwd.starts, p->n, cm->final_norm, d->eps,
                              cm->fwd.pooled, cm->fwd.prstd, st))))
        return rc;
    return WF_CU(wf_k_head_forward(cm->fwd.pooled, p->n, (int)d->h, ca->p32 + ca->head_w,
                                   ca->p32 + ca->head_b, ca->coral, cm->fwd.logits, st));
}

int wf_cu_score(wf_cuda_model *cm, const wf_cuda_adapter *ca, const int32_t *const *ids,
                const size_t *lens, size_t n, float *logits, wf_error *err)
{
    int rc = wf_cu_check_seqs(cm, ids, lens, n, err);
    wf_cu_pass p = {};
    p.cm = cm, p.ca = ca, p.cx = {cm->blas, cm->stream};
    wf_cu_acts a;
    wf_cu_fwd_acts(cm, ca, &a);
    for (size_t s = 0, k, t; !rc && s < n; s += k) {
        wf_cu_next_batch(lens + s, n - s, cm->budget, &k, &t);
        if (k == 0) /* wf_cu_check_seqs rules this out; never loop on it */
            return wf_error_set(err, WF_EINVAL, "sequence %zu does not fit the budget", s);
        size_t bytes = k * WF_TF_HEAD_OUT * sizeof(float);
        if (!(rc = wf_cu_upload_batch(&p, ids + s, lens + s, k, err)) &&
            !(rc = wf_cu_forward_pass(&p, &a, 1, err)) &&
            !(rc = WF_CU(cudaMemcpyAsync(cm->h_logits, cm->fwd.logits, bytes,
                                         cudaMemcpyDeviceToHost, cm->stream))) &&
            !(rc = wf_cu_sync(cm, err)))
            memcpy(logits + s * WF_TF_HEAD_OUT, cm->h_logits, bytes);
    }
    return rc;
}

extern "C" int wf_cuda_forward(wf_cuda_model *cm, const wf_cuda_adapter *ca,
                               const int32_t *const *ids, const size_t *lens, size_t n,
                               float *logits, wf_error *err)
{
    if (ca && ca->cm != cm)
        return wf_error_set(err, WF_EINVAL, "adapter uploaded to another model");
    int rc = wf_cu_enter(cm, err);
    if (rc)
        return rc;
    rc = wf_cu_score(cm, ca ? ca : cm->base, ids, lens, n, logits, err);
    wf_cu_leave(cm);
    return rc;
}
