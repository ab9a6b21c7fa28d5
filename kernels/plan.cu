/* wf_cuda_plan: the memory plans of model.cu, adapter.cu and store.cu run
 * on a model and an adapter that exist only on the host, so that a plan can
 * be sized, and tested, without a device. */
#include <stdlib.h>
#include <string.h>

#include "driver.cuh"

/* The host side of the model plan_in describes: dimensions and options. */
static int plan_model(const wf_cuda_plan_in *in, wf_cuda_model *cm, wf_error *err)
{
    memset(cm, 0, sizeof *cm);
    cm->cfg = *in->cfg;
    wf_cu_dims_of(in->cfg, &cm->d);
    cm->budget = in->token_budget ? in->token_budget : WF_CUDA_DEFAULT_TOKEN_BUDGET;
    cm->max_len = in->max_len ? in->max_len : WF_TF_DEFAULT_MAX_LEN;
    cm->flash_fwd = in->flash_fwd;
    cm->flash_bwd = in->flash_fwd && in->flash_bwd;
    cm->layers = (wf_cu_layer *)calloc(cm->d.layers ? cm->d.layers : 1, sizeof *cm->layers);
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
    ca->lora =
        (wf_cu_lora(*)[WF_TF_NPROJ])calloc(cm->d.layers ? cm->d.layers : 1, sizeof *ca->lora);
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

/* What adapter.cu allocates for ca: values, their bf16 mirror, and the
 * scoring forward's A products when there is any LoRA. */
static size_t adapter_bytes(const wf_cuda_plan_in *in, const wf_cuda_model *cm,
                            const wf_cuda_adapter *ca)
{
    wf_cu_arena a = {NULL, 0};
    wf_carve<float>(&a, ca->n_params);
    wf_carve<wf_bf16>(&a, ca->n_params);
    wf_carve<wf_bf16>(&a, in->lora_targets ? cm->budget * (size_t)ca->rank : 0);
    return a.used;
}

extern "C" int wf_cuda_plan(const wf_cuda_plan_in *in, wf_cuda_plan_out *out, wf_error *err)
{
    memset(out, 0, sizeof *out);
    if (!in->cfg || in->lora_rank < 0)
        return wf_error_set(err, WF_EINVAL, "wf_cuda_plan: no configuration, or a negative rank");
    wf_cuda_model cm;
    wf_cuda_adapter ca;
    wf_cu_train tr = {};
    int rc = plan_model(in, &cm, err);
    if (rc == 0 && (rc = plan_adapter(in, &cm, &ca, err)) == 0) {
        wf_cu_plan_model(&cm, &out->weights, &out->scoring);
        out->adapter = adapter_bytes(in, &cm, &ca);
        out->optimizer = 2 * ca.n_params * sizeof(float);
        tr.acts = (wf_cu_acts *)calloc(cm.d.layers ? cm.d.layers : 1, sizeof *tr.acts);
        if (!tr.acts)
            rc = wf_error_set(err, WF_ENOMEM, "out of memory");
        else if (wf_cu_train_fit(&cm, &ca, out->optimizer, in->free_bytes, &tr))
            out->train_tokens = tr.budget;
        out->train_bytes = tr.bytes;
        free(ca.lora);
    }
    free(tr.acts);
    free(cm.layers);
    return rc;
}
