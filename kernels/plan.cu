/* wf_cuda_plan: the memory plans of model.cu, adapter.cu and store.cu run
 * on a model and an adapter that exist only on the host, so that a plan can
 * be sized, and tested, without a device. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "driver.cuh"

/* What wf_cuda_model_new and the adapters accept (model.cu's MAX_BUDGET). */
static int check_in(const wf_cuda_plan_in *in, wf_error *err)
{
    const wf_tf_config *c = in->cfg;
    if (!c || c->hidden < 1 || c->layers < 1 || c->heads < 1 || c->kv_heads < 1 ||
        c->head_dim < 2 || c->intermediate < 1 || c->vocab < 1)
        return wf_error_set(err, WF_EINVAL, "wf_cuda_plan: no configuration, or a size below 1");
    if (in->token_budget > ((size_t)1 << 30) || in->max_len > INT_MAX)
        return wf_error_set(err, WF_EINVAL, "wf_cuda_plan: token budget %zu or max_len %zu too big",
                            in->token_budget, in->max_len);
    if (in->lora_rank < 1 || in->lora_targets >> WF_TF_NPROJ)
        return wf_error_set(err, WF_EINVAL, "wf_cuda_plan: LoRA rank %d or targets %#x invalid",
                            in->lora_rank, in->lora_targets);
    return 0;
}

/* The host side of the model in describes: dimensions and options. */
static int plan_model(const wf_cuda_plan_in *in, wf_cuda_model *cm, wf_error *err)
{
    memset(cm, 0, sizeof *cm);
    cm->cfg = *in->cfg;
    wf_cu_dims_of(in->cfg, &cm->d);
    cm->budget = in->token_budget ? in->token_budget : WF_CUDA_DEFAULT_TOKEN_BUDGET;
    cm->max_len = in->max_len ? in->max_len : WF_TF_DEFAULT_MAX_LEN;
    cm->flash_fwd = in->flash_fwd;
    cm->flash_bwd = in->flash_fwd && in->flash_bwd;
    cm->layers = (wf_cu_layer *)calloc(cm->d.layers, sizeof *cm->layers);
    return cm->layers ? 0 : wf_error_set(err, WF_ENOMEM, "out of memory");
}

/* The adapter's layout as adapter.c makes it: LoRA on the target
 * projections of every layer, then the head, counted at its largest (one
 * weight row and bias per logit). */
static int plan_adapter(const wf_cuda_plan_in *in, const wf_cuda_model *cm, wf_cuda_adapter *ca,
                        wf_error *err)
{
    memset(ca, 0, sizeof *ca);
    ca->rank = in->lora_rank;
    ca->dropout = in->lora_dropout;
    ca->lora = (wf_cu_lora(*)[WF_TF_NPROJ])calloc(cm->d.layers, sizeof *ca->lora);
    if (!ca->lora)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    for (size_t l = 0; l < cm->d.layers; l++)
        for (int p = 0; p < WF_TF_NPROJ; p++) {
            size_t pin, pout;
            if (!(in->lora_targets >> p & 1u))
                continue;
            wf_tf_proj_dims(in->cfg, (wf_tf_proj)p, &pin, &pout);
            ca->lora[l][p] = {1, ca->n_params, ca->n_params + (size_t)ca->rank * pin};
            ca->n_params += (size_t)ca->rank * (pin + pout);
        }
    ca->n_params += WF_TF_HEAD_OUT * (cm->d.h + 1);
    return 0;
}

/* The plans of cm and ca into out. */
static int plan(const wf_cuda_plan_in *in, wf_cuda_model *cm, wf_cuda_adapter *ca,
                wf_cuda_plan_out *out, wf_error *err)
{
    wf_cu_plan_model(cm, &out->weights, &out->scoring);
    out->workspace = WF_CU_CUBLAS_WS_BYTES;
    wf_cu_arena a = {NULL, 0};
    wf_cu_adapter_lay_out(cm, ca, &a);
    out->adapter = a.used;
    out->optimizer = 2 * ca->n_params * sizeof(float);
    wf_cu_train tr = {};
    tr.acts = (wf_cu_acts *)calloc(cm->d.layers, sizeof *tr.acts);
    if (!tr.acts)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    if (wf_cu_train_fit(cm, ca, out->optimizer, in->free_bytes, &tr))
        out->train_tokens = tr.budget;
    out->train_bytes = tr.bytes;
    free(tr.acts);
    return 0;
}

extern "C" int wf_cuda_plan(const wf_cuda_plan_in *in, wf_cuda_plan_out *out, wf_error *err)
{
    memset(out, 0, sizeof *out);
    wf_cuda_model cm;
    wf_cuda_adapter ca;
    memset(&cm, 0, sizeof cm);
    memset(&ca, 0, sizeof ca);
    int rc = check_in(in, err);
    if (rc == 0 && (rc = plan_model(in, &cm, err)) == 0 &&
        (rc = plan_adapter(in, &cm, &ca, err)) == 0)
        rc = plan(in, &cm, &ca, out, err);
    if (rc)
        memset(out, 0, sizeof *out);
    free(ca.lora);
    free(cm.layers);
    return rc;
}
