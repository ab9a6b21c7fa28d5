/* The CPU training engine: the reference the CUDA engine is checked
 * against. It trains the adapter's own params array in place, so download
 * is a copy only when asked for another adapter. */
#include <stdlib.h>
#include <string.h>

#include "model_transformer/train.h"

typedef struct cpu_engine {
    const wf_tf_model *m;
    wf_tf_adapter *ad; /* borrowed; its params are the trained values */
    float *grad;       /* owned: [ad->n_params] */
    wf_tf_adamw opt;
} cpu_engine;

static int cpu_accumulate(void *ctx, const wf_tf_batch *b, uint64_t dropout_seed, float scale,
                          double *loss_sum, wf_error *err)
{
    cpu_engine *e = ctx;
    return wf_tf_grad(e->m, e->ad, b, dropout_seed, scale, e->grad, loss_sum, err);
}

static int cpu_step(void *ctx, double lr, double *grad_norm, wf_error *err)
{
    (void)err;
    cpu_engine *e = ctx;
    *grad_norm = wf_tf_adamw_step(&e->opt, e->ad->params, e->grad, e->ad->n_decay, lr);
    memset(e->grad, 0, e->ad->n_params * sizeof *e->grad);
    return 0;
}

static int cpu_forward(void *ctx, const int32_t *const *ids, const size_t *lens, size_t n,
                       float *logits, wf_error *err)
{
    cpu_engine *e = ctx;
    return wf_tf_forward_adapted(e->m, e->ad, ids, lens, n, logits, err);
}

static int cpu_download(void *ctx, wf_tf_adapter *ad, wf_error *err)
{
    cpu_engine *e = ctx;
    if (ad->n_params != e->ad->n_params)
        return wf_error_set(err, WF_EINVAL,
                            "cpu engine: download into an adapter of %zu values, not %zu",
                            ad->n_params, e->ad->n_params);
    if (ad != e->ad)
        memcpy(ad->params, e->ad->params, ad->n_params * sizeof *ad->params);
    return 0;
}

static void cpu_destroy(void *ctx)
{
    cpu_engine *e = ctx;
    if (!e)
        return;
    wf_tf_adamw_free(&e->opt);
    free(e->grad);
    free(e);
}

static const wf_tf_engine_ops CPU_OPS = {
    .device = "cpu",
    .accumulate = cpu_accumulate,
    .step = cpu_step,
    .forward = cpu_forward,
    .download = cpu_download,
    .destroy = cpu_destroy,
};

int wf_tf_engine_cpu(const wf_tf_model *m, wf_tf_adapter *ad, const wf_tf_optim_opts *o,
                     wf_tf_engine *out, wf_error *err)
{
    out->ops = NULL;
    out->ctx = NULL;
    cpu_engine *e = calloc(1, sizeof *e);
    if (!e)
        return wf_error_set(err, WF_ENOMEM, "cpu engine: out of memory");
    e->m = m;
    e->ad = ad;
    int rc = wf_tf_adamw_init(&e->opt, o, ad->n_params, err);
    if (!rc && !(e->grad = calloc(ad->n_params ? ad->n_params : 1, sizeof *e->grad)))
        rc = wf_error_set(err, WF_ENOMEM, "cpu engine: out of memory for %zu gradients",
                          ad->n_params);
    if (rc) {
        cpu_destroy(e);
        return rc;
    }
    out->ops = &CPU_OPS;
    out->ctx = e;
    return 0;
}
