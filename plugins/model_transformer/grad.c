/* The CPU forward and backward pass of LoRA training. The forward keeps only
 * the residual stream entering each layer; the backward recomputes a layer's
 * inner activations from it just before differentiating that layer, so
 * memory grows with layers x tokens x hidden rather than with every
 * intermediate of every layer. */
#include <stdlib.h>
#include <string.h>

#include "model_transformer/layer.h"
#include "model_transformer/train.h"

/* Loss of each sequence at its last token, and the gradient of the loss sum
 * (times scale) into the head's parameters and into dx's pooled rows. */
static double head_backward(const wf_tf_pass *p, const int *labels, const float *x, float scale,
                            float *dx, float *row)
{
    const wf_tf_model *m = p->m;
    const wf_tf_adapter *ad = p->ad;
    size_t h = (size_t)m->cfg.hidden;
    float *gw = p->grad + (ad->head_w - ad->params), *gb = p->grad + (ad->head_b - ad->params);
    float *drow = row + h;
    double loss = 0.0;
    for (size_t s = 0, at = 0; s < p->n; at += p->lens[s++]) {
        size_t last = (at + p->lens[s] - 1) * h;
        float z[WF_TF_HEAD_OUT], dz[WF_TF_HEAD_OUT];
        wf_tf_rmsnorm(x + last, 1, h, h, m->final_norm, m->cfg.rms_eps, row, h);
        wf_tf_head_apply(ad, row, z);
        loss += wf_tf_ordinal_loss(z, labels[s], dz);
        memset(drow, 0, h * sizeof(float));
        for (int k = 0; k < WF_TF_HEAD_OUT; k++) {
            size_t off = ad->head == WF_HEAD_CORAL ? 0 : (size_t)k * h;
            float g = dz[k] * scale;
            gb[k] += g;
            for (size_t i = 0; i < h; i++) {
                gw[off + i] += g * row[i];
                drow[i] += g * ad->head_w[off + i];
            }
        }
        wf_tf_rmsnorm_backward(x + last, 1, h, h, m->final_norm, m->cfg.rms_eps, drow, h, dx + last,
                               h, 0);
    }
    return loss;
}

typedef struct grad_bufs {
    float *xs; /* [layers + 1][tokens, hidden]: the residual stream between layers */
    float *dx, *row;
    wf_tf_acts a;
} grad_bufs;

static void bufs_free(grad_bufs *g)
{
    free(g->xs), free(g->dx), free(g->row);
    wf_tf_acts_free(&g->a);
}

static int bufs_alloc(const wf_tf_pass *p, grad_bufs *g, wf_error *err)
{
    size_t th = p->tokens * (size_t)p->m->cfg.hidden;
    memset(g, 0, sizeof *g);
    g->xs = malloc(((size_t)p->m->cfg.layers + 1) * th * sizeof(float));
    g->dx = calloc(th, sizeof(float));
    g->row = malloc(2 * (size_t)p->m->cfg.hidden * sizeof(float));
    if (!g->xs || !g->dx || !g->row) {
        bufs_free(g);
        return wf_error_set(err, WF_ENOMEM, "out of memory for a batch of %zu tokens", p->tokens);
    }
    int rc = wf_tf_acts_alloc(p, 1, &g->a, err);
    if (rc)
        bufs_free(g);
    return rc;
}

int wf_tf_grad(const wf_tf_model *m, const wf_tf_adapter *ad, const wf_tf_batch *b,
               uint64_t dropout_seed, float scale, float *grad, double *loss_sum, wf_error *err)
{
    if (ad->layers != m->cfg.layers || ad->hidden != m->cfg.hidden)
        return wf_error_set(err, WF_EINVAL, "adapter made for another model shape");
    for (size_t s = 0; s < b->n; s++)
        if (b->labels[s] < 1 || b->labels[s] > WF_LABELS)
            return wf_error_set(err, WF_EINVAL, "sequence %zu: label %d not in [1, 4]", s,
                                b->labels[s]);
    wf_tf_pass p = {m, ad, b->lens, b->n, 0, 0, (float)ad->lora.dropout, dropout_seed, grad};
    int rc = wf_tf_pass_check(&p, b->ids, err);
    *loss_sum = 0.0;
    grad_bufs g;
    if (rc || b->n == 0 || (rc = bufs_alloc(&p, &g, err)))
        return rc;
    size_t th = p.tokens * (size_t)m->cfg.hidden;
    int layers = m->cfg.layers;
    wf_tf_embed(m, b->ids, b->lens, b->n, g.xs);
    for (int l = 0; l < layers; l++) {
        memcpy(g.xs + (l + 1) * th, g.xs + l * th, th * sizeof(float));
        wf_tf_layer_forward(&p, l, g.xs + (l + 1) * th, &g.a);
    }
    *loss_sum = head_backward(&p, b->labels, g.xs + layers * th, scale, g.dx, g.row);
    for (int l = layers - 1; l >= 0; l--) {
        if (l < layers - 1) { /* the last layer's activations are still in g.a */
            memcpy(g.xs + (l + 1) * th, g.xs + l * th, th * sizeof(float));
            wf_tf_layer_forward(&p, l, g.xs + (l + 1) * th, &g.a);
        }
        wf_tf_layer_backward(&p, l, g.xs + l * th, &g.a, g.dx);
    }
    bufs_free(&g);
    return 0;
}
