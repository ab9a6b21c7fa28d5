/* What training keeps on the device for packed batches of B tokens: every
 * layer's activations from the forward (so the backward never recomputes a
 * layer), one set of backward scratch, and the flat fp32 gradient.
 *
 * Memory plan, bytes: (layers + 1) * 4 B h (the residual stream between
 * layers) + layers * B * (4 h [x_mid] + 4 h [xn1, xn2] + 2 qkvd + 2 (qd +
 * kvd) [qk_norm only] + 2 qd + 4 inter [gate|up] + 2 inter + 8 [rstd] + 4
 * heads [flash lse] + 2 rank per LoRA target) + the backward scratch, about
 * B * (14 h + 4 max(qd, inter) + 2 qd + 2 max(qkvd, 2 inter) + 2 rank + 4
 * max_in [dropout only] + 24) + the attention backward's scratch (flash: B
 * * (4 qd + 4 heads); the cuBLAS path's otherwise, capped as the scoring
 * forward's) + 4 n_params. Qwen3-0.6B (LoRA rank 16 on every projection)
 * stores 48.3 KiB per token and layer (with its residual), and the
 * backward's scratch with the last residual takes 66.1 KiB per token: 22.2
 * GiB at B = 16384 (test_kernels_plan checks these figures). The engine's
 * AdamW moments (8 n_params) are counted beside it.
 *
 * B starts at the model's token budget and is halved while the plan does
 * not fit the free memory, down to the longest sequence: a smaller B costs
 * some speed, never the result (the dropout masks follow the tokens' places
 * in the whole batch, whatever the packing). */
#include <stdlib.h>
#include <string.h>

#include "driver.cuh"

static void lay_out_layer(const wf_cuda_model *cm, const wf_cuda_adapter *ca, size_t B, size_t l,
                          wf_cu_arena *a, wf_cu_acts *x)
{
    const wf_cu_dims *d = &cm->d;
    x->x_mid = wf_carve<float>(a, B * d->h);
    x->xn1 = wf_carve<wf_bf16>(a, B * d->h);
    x->xn2 = wf_carve<wf_bf16>(a, B * d->h);
    x->rstd1 = wf_carve<float>(a, B);
    x->rstd2 = wf_carve<float>(a, B);
    x->qkv = wf_carve<wf_bf16>(a, B * d->qkvd);
    x->qk = wf_carve<wf_bf16>(a, cm->cfg.qk_norm ? B * (d->qd + d->kvd) : 0);
    x->att = wf_carve<wf_bf16>(a, B * d->qd);
    x->lse = wf_carve<float>(a, cm->flash_bwd ? B * d->heads : 0);
    x->gu = wf_carve<wf_bf16>(a, B * 2 * d->inter);
    x->act = wf_carve<wf_bf16>(a, B * d->inter);
    for (int p = 0; p < WF_TF_NPROJ; p++)
        x->u[p] = wf_carve<wf_bf16>(a, ca->lora[l][p].on ? B * (size_t)ca->rank : 0);
}

static size_t max2(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* The attention backward's scratch for packed batches of B tokens. */
static size_t attention_bytes(const wf_cuda_model *cm, size_t B)
{
    const wf_cu_dims *d = &cm->d;
    if (cm->flash_bwd)
        return wf_k_flash_backward_scratch((int)B, (int)d->heads, (int)d->hd, 1);
    return wf_cu_attention_scratch(cm, cm->max_len < B ? cm->max_len : B);
}

static void lay_out_bwd(const wf_cuda_model *cm, const wf_cuda_adapter *ca, size_t B,
                        wf_cu_arena *a, wf_cu_bwd *b)
{
    const wf_cu_dims *d = &cm->d;
    b->dx = wf_carve<float>(a, B * d->h);
    b->dy16 = wf_carve<wf_bf16>(a, B * d->h);
    b->dxn = wf_carve<float>(a, B * d->h);
    b->dwide = wf_carve<float>(a, B * max2(d->qd, d->inter));
    b->datt = wf_carve<wf_bf16>(a, B * d->qd);
    b->dproj = wf_carve<wf_bf16>(a, B * max2(d->qkvd, 2 * d->inter));
    b->du = wf_carve<wf_bf16>(a, B * (size_t)ca->rank);
    b->dxd = wf_carve<float>(a, ca->dropout > 0.0f ? B * d->max_in : 0);
    b->attn_bytes = attention_bytes(cm, B);
    b->attn = wf_carve<char>(a, b->attn_bytes);
    b->dpooled = wf_carve<float>(a, B * d->h);
    b->dlogits = wf_carve<float>(a, B * WF_TF_HEAD_OUT);
    b->loss = wf_carve<double>(a, B);
    b->labels = wf_carve<int32_t>(a, B);
}

static void lay_out(const wf_cuda_model *cm, const wf_cuda_adapter *ca, wf_cu_arena *a,
                    wf_cu_train *tr)
{
    const wf_cu_dims *d = &cm->d;
    size_t Bh = tr->budget * d->h;
    tr->res = wf_carve<float>(a, (d->layers + 1) * Bh);
    for (size_t l = 0; l < d->layers; l++) {
        wf_cu_acts *x = &tr->acts[l];
        lay_out_layer(cm, ca, tr->budget, l, a, x);
        x->x_in = tr->res ? tr->res + l * Bh : NULL;
        x->x_out = tr->res ? tr->res + (l + 1) * Bh : NULL;
    }
    lay_out_bwd(cm, ca, tr->budget, a, &tr->bwd);
    tr->grad = wf_carve<float>(a, ca->n_params);
    tr->partial = wf_carve<double>(a, WF_K_REDUCE_BLOCKS);
    tr->sumsq = wf_carve<double>(a, 1);
}

int wf_cu_train_fit(const wf_cuda_model *cm, const wf_cuda_adapter *ca, size_t extra, size_t free_b,
                    wf_cu_train *tr)
{
    size_t floor = max2(cm->max_len < cm->budget ? cm->max_len : cm->budget, 1);
    for (tr->budget = cm->budget;; tr->budget = max2(tr->budget / 2, floor)) {
        wf_cu_arena a = {NULL, 0};
        lay_out(cm, ca, &a, tr);
        tr->bytes = a.used;
        if (tr->bytes + extra + WF_CU_RESERVE_BYTES <= free_b)
            return 1;
        if (tr->budget <= floor)
            return 0;
    }
}

/* wf_cu_train_fit against the device's free memory; WF_ENOMEM with the
 * smallest plan's size when nothing fits. */
static int choose_budget(const wf_cuda_model *cm, const wf_cuda_adapter *ca, size_t extra,
                         wf_cu_train *tr, wf_error *err)
{
    size_t free_b = 0, total_b = 0;
    int rc = WF_CU(cudaMemGetInfo(&free_b, &total_b));
    if (rc || wf_cu_train_fit(cm, ca, extra, free_b, tr))
        return rc;
    return wf_error_set(err, WF_ENOMEM,
                        "training does not fit device %d: needs %.1f MiB (activations of %zu "
                        "layers for packed batches of %zu tokens, the fewest it tries, + %.1f MiB "
                        "of optimiser state + %.0f MiB reserve) but %.1f MiB of %.1f MiB are "
                        "free; lower model.max_len or the LoRA rank",
                        cm->device, (double)(tr->bytes + extra + WF_CU_RESERVE_BYTES) / 1048576.0,
                        cm->d.layers, tr->budget, (double)extra / 1048576.0,
                        (double)WF_CU_RESERVE_BYTES / 1048576.0, (double)free_b / 1048576.0,
                        (double)total_b / 1048576.0);
}

int wf_cu_train_new(wf_cuda_model *cm, const wf_cuda_adapter *ca, size_t extra, wf_cu_train *tr,
                    wf_error *err)
{
    memset(tr, 0, sizeof *tr);
    tr->acts = (wf_cu_acts *)calloc(cm->d.layers, sizeof *tr->acts);
    if (!tr->acts)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    int rc;
    if ((rc = choose_budget(cm, ca, extra, tr, err)) ||
        (rc = WF_CU(cudaMalloc((void **)&tr->mem, tr->bytes))) ||
        (rc = WF_CU(cudaMallocHost((void **)&tr->h_loss, tr->budget * sizeof(double)))) ||
        (rc = WF_CU(cudaMallocHost((void **)&tr->h_labels, tr->budget * sizeof(int32_t))))) {
        wf_cu_train_free(tr);
        return rc;
    }
    wf_cu_arena a = {tr->mem, 0};
    lay_out(cm, ca, &a, tr);
    return 0;
}

void wf_cu_train_free(wf_cu_train *tr)
{
    (void)cudaFree(tr->mem);
    (void)cudaFreeHost(tr->h_loss);
    (void)cudaFreeHost(tr->h_labels);
    free(tr->acts);
    memset(tr, 0, sizeof *tr);
}
