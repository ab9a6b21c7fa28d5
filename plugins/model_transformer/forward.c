/* The decoder forward pass. Sequences are packed one after another (no
 * padding): the projections and the MLP run as one matrix product over all
 * tokens of the batch, while RoPE positions and attention stay within each
 * sequence, so a sequence's result does not depend on its batch-mates. */
#include <stdlib.h>
#include <string.h>

#include "model_transformer/tf_internal.h"

typedef struct scratch {
    float *x, *xn, *q, *k, *v, *att, *gate, *up, *scores;
} scratch;

typedef struct batch {
    const int32_t *const *ids;
    const size_t *lens;
    size_t n, tokens, longest;
} batch;

static int check_batch(const wf_tf_model *m, batch *b, wf_error *err)
{
    b->tokens = b->longest = 0;
    for (size_t s = 0; s < b->n; s++) {
        if (b->lens[s] < 1 || b->lens[s] > m->max_len)
            return wf_error_set(err, WF_EINVAL, "sequence %zu: length %zu not in [1, %zu]", s,
                                b->lens[s], m->max_len);
        for (size_t t = 0; t < b->lens[s]; t++)
            if (b->ids[s][t] < 0 || b->ids[s][t] >= m->cfg.vocab)
                return wf_error_set(err, WF_EINVAL, "sequence %zu: token %zu: id %d not in [0, %d)",
                                    s, t, (int)b->ids[s][t], m->cfg.vocab);
        b->tokens += b->lens[s];
        b->longest = b->lens[s] > b->longest ? b->lens[s] : b->longest;
    }
    /* Keeps tokens * (widest row) far from overflowing size_t. */
    if (b->tokens > ((size_t)1 << 40) / (4 * (size_t)m->cfg.intermediate + 1))
        return wf_error_set(err, WF_EINVAL, "batch of %zu tokens is too large", b->tokens);
    return 0;
}

static void scratch_free(scratch *s)
{
    float *all[] = {s->x, s->xn, s->q, s->k, s->v, s->att, s->gate, s->up, s->scores};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
}

static int scratch_alloc(const wf_tf_config *c, const batch *b, scratch *s, wf_error *err)
{
    size_t t = b->tokens, qd = (size_t)c->heads * c->head_dim,
           kvd = (size_t)c->kv_heads * c->head_dim;
    s->x = malloc(t * c->hidden * sizeof(float));
    s->xn = malloc(t * c->hidden * sizeof(float));
    s->q = malloc(t * qd * sizeof(float));
    s->k = malloc(t * kvd * sizeof(float));
    s->v = malloc(t * kvd * sizeof(float));
    s->att = malloc(t * qd * sizeof(float));
    s->gate = malloc(t * c->intermediate * sizeof(float));
    s->up = malloc(t * c->intermediate * sizeof(float));
    s->scores = malloc(wf_tf_attention_scratch(c, b->longest) * sizeof(float));
    if (s->x && s->xn && s->q && s->k && s->v && s->att && s->gate && s->up && s->scores)
        return 0;
    scratch_free(s);
    return wf_error_set(err, WF_ENOMEM, "out of memory for a batch of %zu tokens", t);
}

static void add_into(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

static void attention_block(const wf_tf_model *m, const wf_tf_layer *l, const batch *b, scratch *s)
{
    const wf_tf_config *c = &m->cfg;
    size_t t = b->tokens, h = (size_t)c->hidden, hd = (size_t)c->head_dim,
           qd = (size_t)c->heads * hd, kvd = (size_t)c->kv_heads * hd;
    wf_tf_rmsnorm(s->x, t, h, h, l->in_norm, c->rms_eps, s->xn, h);
    wf_tf_linear(s->xn, t, h, l->wq, l->bq, qd, s->q);
    wf_tf_linear(s->xn, t, h, l->wk, l->bk, kvd, s->k);
    wf_tf_linear(s->xn, t, h, l->wv, l->bv, kvd, s->v);
    if (l->q_norm) {
        wf_tf_rmsnorm(s->q, t * c->heads, hd, hd, l->q_norm, c->rms_eps, s->q, hd);
        wf_tf_rmsnorm(s->k, t * c->kv_heads, hd, hd, l->k_norm, c->rms_eps, s->k, hd);
    }
    for (size_t seq = 0, at = 0; seq < b->n; at += b->lens[seq++]) {
        size_t len = b->lens[seq];
        wf_tf_rope_apply(s->q + at * qd, len, qd, c->heads, c->head_dim, m->inv_freq, 0);
        wf_tf_rope_apply(s->k + at * kvd, len, kvd, c->kv_heads, c->head_dim, m->inv_freq, 0);
        wf_tf_attention(c, s->q + at * qd, s->k + at * kvd, s->v + at * kvd, len, s->att + at * qd,
                        s->scores);
    }
    wf_tf_linear(s->att, t, qd, l->wo, NULL, h, s->xn);
    add_into(s->x, s->xn, t * h);
}

static void mlp_block(const wf_tf_config *c, const wf_tf_layer *l, const batch *b, scratch *s)
{
    size_t t = b->tokens, h = (size_t)c->hidden, in = (size_t)c->intermediate;
    wf_tf_rmsnorm(s->x, t, h, h, l->post_norm, c->rms_eps, s->xn, h);
    wf_tf_linear(s->xn, t, h, l->w_gate, NULL, in, s->gate);
    wf_tf_linear(s->xn, t, h, l->w_up, NULL, in, s->up);
    wf_tf_swiglu(s->gate, s->up, t * in);
    wf_tf_linear(s->gate, t, in, l->w_down, NULL, h, s->xn);
    add_into(s->x, s->xn, t * h);
}

/* The final norm and the head, at the last token of each sequence only. */
static void pool_head(const wf_tf_model *m, const batch *b, scratch *s, float *logits)
{
    size_t h = (size_t)m->cfg.hidden;
    for (size_t seq = 0, at = 0; seq < b->n; at += b->lens[seq++]) {
        float *row = s->xn; /* free again: one pooled row at a time */
        wf_tf_rmsnorm(s->x + (at + b->lens[seq] - 1) * h, 1, h, h, m->final_norm, m->cfg.rms_eps,
                      row, h);
        for (int k = 0; k < WF_TF_HEAD_OUT; k++) {
            float z = m->head_b[k];
            for (size_t i = 0; i < h; i++)
                z += m->head_w[(size_t)k * h + i] * row[i];
            logits[seq * WF_TF_HEAD_OUT + (size_t)k] = z;
        }
    }
}

int wf_tf_forward(const wf_tf_model *m, const int32_t *const *ids, const size_t *lens, size_t n,
                  float *logits, wf_error *err)
{
    batch b = {ids, lens, n, 0, 0};
    int rc = check_batch(m, &b, err);
    if (rc || n == 0)
        return rc;
    scratch s;
    if ((rc = scratch_alloc(&m->cfg, &b, &s, err)))
        return rc;
    size_t h = (size_t)m->cfg.hidden;
    for (size_t seq = 0, at = 0; seq < n; at += lens[seq++])
        for (size_t t = 0; t < lens[seq]; t++)
            memcpy(s.x + (at + t) * h, m->embed + (size_t)ids[seq][t] * h, h * sizeof(float));
    for (int i = 0; i < m->cfg.layers; i++) {
        attention_block(m, &m->layers[i], &b, &s);
        mlp_block(&m->cfg, &m->layers[i], &b, &s);
    }
    pool_head(m, &b, &s, logits);
    scratch_free(&s);
    return 0;
}
