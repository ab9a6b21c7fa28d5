/* A decoder layer over a packed batch: pre-norm attention and SwiGLU MLP
 * blocks, each added to the residual stream, and the exact reverse of it.
 * RoPE positions and attention stay within each packed sequence. */
#include <stdlib.h>
#include <string.h>

#include "model_transformer/layer.h"

int wf_tf_pass_check(wf_tf_pass *p, const int32_t *const *ids, wf_error *err)
{
    const wf_tf_model *m = p->m;
    p->tokens = p->longest = 0;
    for (size_t s = 0; s < p->n; s++) {
        if (p->lens[s] < 1 || p->lens[s] > m->max_len)
            return wf_error_set(err, WF_EINVAL, "sequence %zu: length %zu not in [1, %zu]", s,
                                p->lens[s], m->max_len);
        for (size_t t = 0; t < p->lens[s]; t++)
            if (ids[s][t] < 0 || ids[s][t] >= m->cfg.vocab)
                return wf_error_set(err, WF_EINVAL, "sequence %zu: token %zu: id %d not in [0, %d)",
                                    s, t, (int)ids[s][t], m->cfg.vocab);
        p->tokens += p->lens[s];
        p->longest = p->lens[s] > p->longest ? p->lens[s] : p->longest;
    }
    /* Keeps tokens * (widest row) far from overflowing size_t. */
    if (p->tokens > ((size_t)1 << 40) / (4 * (size_t)m->cfg.intermediate + 1))
        return wf_error_set(err, WF_EINVAL, "batch of %zu tokens is too large", p->tokens);
    return 0;
}

static size_t max3(size_t a, size_t b, size_t c)
{
    size_t m = a > b ? a : b;
    return m > c ? m : c;
}

#define ACTS_FIELDS(a)                                                                             \
    {                                                                                              \
        &(a)->xn1, &(a)->q_lin, &(a)->k_lin, &(a)->q, &(a)->k, &(a)->v, &(a)->att, &(a)->x_mid,    \
            &(a)->xn2, &(a)->gate, &(a)->up, &(a)->act, &(a)->xd, &(a)->u, &(a)->scores,           \
            &(a)->d_wide, &(a)->d_gate, &(a)->d_up, &(a)->d_xn, &(a)->d_att, &(a)->dq, &(a)->dk,   \
            &(a)->dv, &(a)->dx_mid, &(a)->du, &(a)->dxd                                            \
    }

void wf_tf_acts_free(wf_tf_acts *a)
{
    float **all[] = ACTS_FIELDS(a);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        free(*all[i]);
        *all[i] = NULL;
    }
}

/* Widths (floats per token, or absolute counts for scratch) of each field,
 * in ACTS_FIELDS order; 0 = not needed for this pass. */
static void acts_widths(const wf_tf_pass *p, int backward, size_t w[26], size_t *scores)
{
    const wf_tf_config *c = &p->m->cfg;
    size_t h = (size_t)c->hidden, qd = (size_t)c->heads * c->head_dim,
           kvd = (size_t)c->kv_heads * c->head_dim, in = (size_t)c->intermediate;
    size_t r = p->ad ? (size_t)p->ad->lora.rank : 0, wide = max3(in, qd, h);
    size_t drop = p->ad && p->dropout > 0 ? wide : 0;
    size_t fwd[] = {h, qd, kvd, qd, kvd, kvd, qd, h, h, in, in, in, drop, r};
    size_t bwd[] = {max3(in, qd, kvd), in, in, h, qd, qd, kvd, kvd, h, r, drop};
    memcpy(w, fwd, sizeof fwd);
    w[14] = 0; /* scores: counted apart */
    for (size_t i = 0; i < sizeof bwd / sizeof bwd[0]; i++)
        w[15 + i] = backward ? bwd[i] : 0;
    *scores = wf_tf_attention_scratch(c, p->longest);
    if (backward) {
        size_t b = wf_tf_attention_backward_scratch(c, p->longest);
        *scores = b > *scores ? b : *scores;
    }
}

int wf_tf_acts_alloc(const wf_tf_pass *p, int backward, wf_tf_acts *a, wf_error *err)
{
    memset(a, 0, sizeof *a);
    float **all[] = ACTS_FIELDS(a);
    size_t w[26], scores;
    acts_widths(p, backward, w, &scores);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        size_t n = i == 14 ? scores : w[i] * p->tokens;
        if (n && !(*all[i] = malloc(n * sizeof(float)))) {
            wf_tf_acts_free(a);
            return wf_error_set(err, WF_ENOMEM, "out of memory for a batch of %zu tokens",
                                p->tokens);
        }
    }
    return 0;
}

static void add_into(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

/* q and k after the optional per-head norm (Qwen3), before RoPE. */
static void qk_norm(const wf_tf_config *c, const wf_tf_layer *l, size_t t, wf_tf_acts *a)
{
    size_t hd = (size_t)c->head_dim;
    if (!l->q_norm) {
        memcpy(a->q, a->q_lin, t * c->heads * hd * sizeof(float));
        memcpy(a->k, a->k_lin, t * c->kv_heads * hd * sizeof(float));
        return;
    }
    wf_tf_rmsnorm(a->q_lin, t * c->heads, hd, hd, l->q_norm, c->rms_eps, a->q, hd);
    wf_tf_rmsnorm(a->k_lin, t * c->kv_heads, hd, hd, l->k_norm, c->rms_eps, a->k, hd);
}

static void attention_forward(const wf_tf_pass *p, int layer, const float *x, wf_tf_acts *a)
{
    const wf_tf_model *m = p->m;
    const wf_tf_config *c = &m->cfg;
    const wf_tf_layer *l = &m->layers[layer];
    size_t t = p->tokens, h = (size_t)c->hidden, qd = (size_t)c->heads * c->head_dim,
           kvd = (size_t)c->kv_heads * c->head_dim;
    wf_tf_rmsnorm(x, t, h, h, l->in_norm, c->rms_eps, a->xn1, h);
    wf_tf_project(p, layer, WF_TF_Q, a->xn1, l->wq, l->bq, a->q_lin, a);
    wf_tf_project(p, layer, WF_TF_K, a->xn1, l->wk, l->bk, a->k_lin, a);
    wf_tf_project(p, layer, WF_TF_V, a->xn1, l->wv, l->bv, a->v, a);
    qk_norm(c, l, t, a);
    for (size_t s = 0, at = 0; s < p->n; at += p->lens[s++]) {
        size_t len = p->lens[s];
        wf_tf_rope_apply(a->q + at * qd, len, qd, c->heads, c->head_dim, m->inv_freq, 0);
        wf_tf_rope_apply(a->k + at * kvd, len, kvd, c->kv_heads, c->head_dim, m->inv_freq, 0);
        wf_tf_attention(c, a->q + at * qd, a->k + at * kvd, a->v + at * kvd, len, a->att + at * qd,
                        a->scores);
    }
    wf_tf_project(p, layer, WF_TF_O, a->att, l->wo, NULL, a->x_mid, a);
    add_into(a->x_mid, x, t * h);
}

void wf_tf_layer_forward(const wf_tf_pass *p, int layer, float *x, wf_tf_acts *a)
{
    const wf_tf_config *c = &p->m->cfg;
    const wf_tf_layer *l = &p->m->layers[layer];
    size_t t = p->tokens, h = (size_t)c->hidden, in = (size_t)c->intermediate;
    attention_forward(p, layer, x, a);
    wf_tf_rmsnorm(a->x_mid, t, h, h, l->post_norm, c->rms_eps, a->xn2, h);
    wf_tf_project(p, layer, WF_TF_GATE, a->xn2, l->w_gate, NULL, a->gate, a);
    wf_tf_project(p, layer, WF_TF_UP, a->xn2, l->w_up, NULL, a->up, a);
    memcpy(a->act, a->gate, t * in * sizeof(float));
    wf_tf_swiglu(a->act, a->up, t * in);
    wf_tf_project(p, layer, WF_TF_DOWN, a->act, l->w_down, NULL, x, a);
    add_into(x, a->x_mid, t * h);
}

/* From d(x_mid) to d(xn1)'s contribution: through o_proj, attention, RoPE,
 * the q/k norms and the q/k/v projections; adds the result to dx_mid. */
static void attention_backward(const wf_tf_pass *p, int layer, const float *x_in, wf_tf_acts *a)
{
    const wf_tf_model *m = p->m;
    const wf_tf_config *c = &m->cfg;
    const wf_tf_layer *l = &m->layers[layer];
    size_t t = p->tokens, h = (size_t)c->hidden, hd = (size_t)c->head_dim,
           qd = (size_t)c->heads * hd, kvd = (size_t)c->kv_heads * hd;
    wf_tf_project_backward(p, layer, WF_TF_O, a->att, l->wo, a->dx_mid, a->d_att, 0, a);
    for (size_t s = 0, at = 0; s < p->n; at += p->lens[s++]) {
        size_t len = p->lens[s];
        wf_tf_attention_backward(c, a->q + at * qd, a->k + at * kvd, a->v + at * kvd,
                                 a->d_att + at * qd, len, a->dq + at * qd, a->dk + at * kvd,
                                 a->dv + at * kvd, a->scores);
        wf_tf_rope_backward(a->dq + at * qd, len, qd, c->heads, c->head_dim, m->inv_freq, 0);
        wf_tf_rope_backward(a->dk + at * kvd, len, kvd, c->kv_heads, c->head_dim, m->inv_freq, 0);
    }
    const float *dq_lin = a->dq, *dk_lin = a->dk;
    if (l->q_norm) { /* d_att and d_wide are free again: they take the pre-norm gradients */
        wf_tf_rmsnorm_backward(a->q_lin, t * c->heads, hd, hd, l->q_norm, c->rms_eps, a->dq, hd,
                               a->d_att, hd, 0);
        wf_tf_rmsnorm_backward(a->k_lin, t * c->kv_heads, hd, hd, l->k_norm, c->rms_eps, a->dk, hd,
                               a->d_wide, hd, 0);
        dq_lin = a->d_att;
        dk_lin = a->d_wide;
    }
    wf_tf_project_backward(p, layer, WF_TF_Q, a->xn1, l->wq, dq_lin, a->d_xn, 0, a);
    wf_tf_project_backward(p, layer, WF_TF_K, a->xn1, l->wk, dk_lin, a->d_xn, 1, a);
    wf_tf_project_backward(p, layer, WF_TF_V, a->xn1, l->wv, a->dv, a->d_xn, 1, a);
    wf_tf_rmsnorm_backward(x_in, t, h, h, l->in_norm, c->rms_eps, a->d_xn, h, a->dx_mid, h, 1);
}

void wf_tf_layer_backward(const wf_tf_pass *p, int layer, const float *x_in, wf_tf_acts *a,
                          float *dx)
{
    const wf_tf_config *c = &p->m->cfg;
    const wf_tf_layer *l = &p->m->layers[layer];
    size_t t = p->tokens, h = (size_t)c->hidden, in = (size_t)c->intermediate;
    memcpy(a->dx_mid, dx, t * h * sizeof(float));
    wf_tf_project_backward(p, layer, WF_TF_DOWN, a->act, l->w_down, dx, a->d_wide, 0, a);
    wf_tf_swiglu_backward(a->gate, a->up, a->d_wide, t * in, a->d_gate, a->d_up);
    wf_tf_project_backward(p, layer, WF_TF_GATE, a->xn2, l->w_gate, a->d_gate, a->d_xn, 0, a);
    wf_tf_project_backward(p, layer, WF_TF_UP, a->xn2, l->w_up, a->d_up, a->d_xn, 1, a);
    wf_tf_rmsnorm_backward(a->x_mid, t, h, h, l->post_norm, c->rms_eps, a->d_xn, h, a->dx_mid, h,
                           1);
    attention_backward(p, layer, x_in, a);
    memcpy(dx, a->dx_mid, t * h * sizeof(float));
}
