/* The training engine of train.h on the device: the adapter's values as
 * fp32 masters with their bf16 mirror (wf_cuda_adapter), the fp32 gradient
 * and the activations (wf_cu_train), and AdamW's moments. Every operation
 * runs under the model's lock and ends synchronised, so the training loop
 * sees the same synchronous contract as the CPU engine's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "driver.cuh"

typedef struct cu_engine {
    wf_cuda_model *cm;
    wf_cuda_adapter *ca; /* owned: the trained values */
    wf_cu_train tr;      /* owned */
    float *mv;           /* owned: AdamW's m then v, [2 n_params] */
    wf_tf_optim_opts o;
    size_t step;
} cu_engine;

static int cu_accumulate(void *ctx, const wf_tf_batch *b, uint64_t dropout_seed, float scale,
                         double *loss_sum, wf_error *err)
{
    cu_engine *e = (cu_engine *)ctx;
    *loss_sum = 0.0;
    int rc = wf_cu_enter(e->cm, err);
    if (rc)
        return rc;
    rc = wf_cu_grad_batch(e->cm, e->ca, &e->tr, b, dropout_seed, scale, loss_sum, err);
    wf_cu_leave(e->cm);
    return rc;
}

/* The global norm of the gradient, reduced in fp64 on the device. */
static int grad_norm(cu_engine *e, double *norm, wf_error *err)
{
    double ss = 0.0;
    int rc;
    if ((rc = WF_CU(
             wf_k_sumsq(e->tr.grad, e->ca->n_params, e->tr.partial, e->tr.sumsq, e->cm->stream))) ||
        (rc = WF_CU(cudaMemcpyAsync(&ss, e->tr.sumsq, sizeof ss, cudaMemcpyDeviceToHost,
                                    e->cm->stream))) ||
        (rc = wf_cu_sync(e->cm, err)))
        return rc;
    *norm = sqrt(ss);
    return 0;
}

/* wf_tf_adamw_step's arithmetic: clip, then one bias-corrected step. A
 * non-finite norm leaves values, moments and the step count alone, as the
 * CPU does. */
static int adamw(cu_engine *e, double lr, double norm, wf_error *err)
{
    if (!isfinite(norm))
        return 0;
    const wf_tf_optim_opts *o = &e->o;
    wf_k_adamw_args a;
    a.gscale =
        o->max_grad_norm > 0.0 && norm > o->max_grad_norm ? (float)(o->max_grad_norm / norm) : 1.0f;
    e->step++;
    a.beta1 = o->beta1;
    a.beta2 = o->beta2;
    a.eps = o->eps;
    a.step_size = lr / (1.0 - pow(o->beta1, (double)e->step));
    a.sqrt_bc2 = sqrt(1.0 - pow(o->beta2, (double)e->step));
    a.decay = 1.0 - lr * o->weight_decay;
    wf_cuda_adapter *ca = e->ca;
    float *m = e->mv, *v = e->mv + ca->n_params;
    return WF_CU(wf_k_adamw(ca->p32, e->tr.grad, m, v, ca->n_params, ca->n_decay, &a, ca->p16,
                            e->cm->stream));
}

static int cu_step(void *ctx, double lr, double *grad_norm_out, wf_error *err)
{
    cu_engine *e = (cu_engine *)ctx;
    int rc = wf_cu_enter(e->cm, err);
    if (rc)
        return rc;
    double norm = 0.0;
    if (!(rc = grad_norm(e, &norm, err)) && !(rc = adamw(e, lr, norm, err)) &&
        !(rc = WF_CU(
              cudaMemsetAsync(e->tr.grad, 0, e->ca->n_params * sizeof(float), e->cm->stream))))
        rc = wf_cu_sync(e->cm, err);
    wf_cu_leave(e->cm);
    *grad_norm_out = norm;
    return rc;
}

static int cu_forward(void *ctx, const int32_t *const *ids, const size_t *lens, size_t n,
                      float *logits, wf_error *err)
{
    cu_engine *e = (cu_engine *)ctx;
    int rc = wf_cu_enter(e->cm, err);
    if (rc)
        return rc;
    rc = wf_cu_score(e->cm, e->ca, ids, lens, n, logits, err);
    wf_cu_leave(e->cm);
    return rc;
}

static int cu_download(void *ctx, wf_tf_adapter *ad, wf_error *err)
{
    cu_engine *e = (cu_engine *)ctx;
    int rc = wf_cu_enter(e->cm, err);
    if (rc)
        return rc;
    if (!(rc = wf_cu_adapter_same_layout(e->ca, ad, err)) &&
        !(rc = WF_CU(cudaMemcpyAsync(ad->params, e->ca->p32, ad->n_params * sizeof(float),
                                     cudaMemcpyDeviceToHost, e->cm->stream))))
        rc = wf_cu_sync(e->cm, err);
    wf_cu_leave(e->cm);
    return rc;
}

static void cu_destroy(void *ctx)
{
    cu_engine *e = (cu_engine *)ctx;
    if (!e)
        return;
    wf_error ignored;
    int locked = wf_cu_enter(e->cm, &ignored) == 0;
    wf_cu_train_free(&e->tr);
    wf_cu_adapter_destroy(e->ca);
    (void)cudaFree(e->mv);
    if (locked)
        wf_cu_leave(e->cm);
    free(e);
}

static const wf_tf_engine_ops CUDA_OPS = {
    "cuda", cu_accumulate, cu_step, cu_forward, cu_download, cu_destroy,
};

/* The options checked as the CPU engine checks them. */
static int check_optim(const wf_tf_optim_opts *o, wf_error *err)
{
    wf_tf_adamw probe;
    int rc = wf_tf_adamw_init(&probe, o, 0, err);
    wf_tf_adamw_free(&probe);
    return rc;
}

static int engine_build(cu_engine *e, wf_tf_adapter *ad, wf_error *err)
{
    int rc;
    if ((rc = wf_cu_adapter_new(e->cm, ad, &e->ca, err)) ||
        (rc = wf_cu_train_new(e->cm, e->ca, 2 * e->ca->n_params * sizeof(float), &e->tr, err)))
        return rc;
    size_t n = e->ca->n_params;
    if ((rc = WF_CU(cudaMalloc((void **)&e->mv, 2 * n * sizeof(float)))) ||
        (rc = WF_CU(cudaMemsetAsync(e->mv, 0, 2 * n * sizeof(float), e->cm->stream))) ||
        (rc = WF_CU(cudaMemsetAsync(e->tr.grad, 0, n * sizeof(float), e->cm->stream))))
        return rc;
    return wf_cu_sync(e->cm, err);
}

extern "C" int wf_cuda_engine(wf_cuda_model *cm, wf_tf_adapter *ad, const wf_tf_optim_opts *o,
                              wf_tf_engine *out, wf_error *err)
{
    out->ops = NULL;
    out->ctx = NULL;
    if (!ad)
        return wf_error_set(err, WF_EINVAL, "cuda engine: no adapter to train");
    int rc = check_optim(o, err);
    if (rc)
        return rc;
    cu_engine *e = (cu_engine *)calloc(1, sizeof *e);
    if (!e)
        return wf_error_set(err, WF_ENOMEM, "cuda engine: out of memory");
    e->cm = cm;
    e->o = *o;
    if ((rc = wf_cu_enter(cm, err))) {
        free(e);
        return rc;
    }
    rc = engine_build(e, ad, err);
    wf_cu_leave(cm);
    if (rc) {
        cu_destroy(e);
        return rc;
    }
    out->ops = &CUDA_OPS;
    out->ctx = e;
    return 0;
}

extern "C" void wf_cuda_engine_plan(const wf_tf_engine *e, size_t *tokens, size_t *bytes)
{
    const cu_engine *ce = e->ops == &CUDA_OPS ? (const cu_engine *)e->ctx : NULL;
    *tokens = ce ? ce->tr.budget : 0;
    *bytes = ce ? ce->tr.bytes : 0;
}
