/* The scoring forward pass. Sequences are packed one after another (no
 * padding): the projections and the MLP run as one matrix product over all
 * tokens of the batch, while RoPE positions and attention stay within each
 * sequence, so a sequence's result does not depend on its batch-mates. */
#include <stdlib.h>
#include <string.h>

#include "model_transformer/layer.h"

void wf_tf_embed(const wf_tf_model *m, const int32_t *const *ids, const size_t *lens, size_t n,
                 float *x)
{
    size_t h = (size_t)m->cfg.hidden;
    for (size_t s = 0, at = 0; s < n; at += lens[s++])
        for (size_t t = 0; t < lens[s]; t++)
            memcpy(x + (at + t) * h, m->embed + (size_t)ids[s][t] * h, h * sizeof(float));
}

/* The final norm and the head, at the last token of each sequence only. */
static void pool_head(const wf_tf_pass *p, const float *x, float *row, float *logits)
{
    const wf_tf_model *m = p->m;
    size_t h = (size_t)m->cfg.hidden;
    for (size_t s = 0, at = 0; s < p->n; at += p->lens[s++]) {
        wf_tf_rmsnorm(x + (at + p->lens[s] - 1) * h, 1, h, h, m->final_norm, m->cfg.rms_eps, row,
                      h);
        float *z = logits + s * WF_TF_HEAD_OUT;
        if (p->ad) {
            wf_tf_head_apply(p->ad, row, z);
            continue;
        }
        for (int k = 0; k < WF_TF_HEAD_OUT; k++) {
            z[k] = m->head_b[k];
            for (size_t i = 0; i < h; i++)
                z[k] += m->head_w[(size_t)k * h + i] * row[i];
        }
    }
}

int wf_tf_forward_adapted(const wf_tf_model *m, const wf_tf_adapter *ad, const int32_t *const *ids,
                          const size_t *lens, size_t n, float *logits, wf_error *err)
{
    if (ad && (ad->layers != m->cfg.layers || ad->hidden != m->cfg.hidden))
        return wf_error_set(err, WF_EINVAL, "adapter made for another model shape");
    wf_tf_pass p = {.m = m, .ad = ad, .lens = lens, .n = n};
    int rc = wf_tf_pass_check(&p, ids, err);
    if (rc || n == 0)
        return rc;
    wf_tf_acts a;
    if ((rc = wf_tf_acts_alloc(&p, 0, &a, err)))
        return rc;
    float *x = malloc(p.tokens * m->cfg.hidden * sizeof(float));
    if (!x) {
        wf_tf_acts_free(&a);
        return wf_error_set(err, WF_ENOMEM, "out of memory for a batch of %zu tokens", p.tokens);
    }
    wf_tf_embed(m, ids, lens, n, x);
    for (int i = 0; i < m->cfg.layers; i++)
        wf_tf_layer_forward(&p, i, x, &a);
    pool_head(&p, x, a.xn1, logits);
    free(x);
    wf_tf_acts_free(&a);
    return 0;
}

int wf_tf_forward(const wf_tf_model *m, const int32_t *const *ids, const size_t *lens, size_t n,
                  float *logits, wf_error *err)
{
    return wf_tf_forward_adapted(m, NULL, ids, lens, n, logits, err);
}
