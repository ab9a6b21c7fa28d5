/* The base model on the device: weights uploaded once in bf16 (the small
 * vectors in fp32), the scoring buffers for the token budget, and the
 * memory plan that decides up front whether both fit.
 *
 * Memory plan: weights (bf16 embedding and matrices, fp32 norms, biases and
 * RoPE frequencies) + the scoring buffers of wf_cu_fwd for B = token_budget
 * tokens (about B * (12 h + 2 qkvd + 2 (qd + kvd) + 2 qd + 6 inter + 2 max_in
 * + 36) bytes, plus, where the flash forward cannot run, the attention
 * scratch of k_attention.cu, capped at ATTN_SCRATCH_CAP) + the cuBLAS
 * workspace; it must fit the device's free memory less a reserve. Training
 * adds its own plan (store.cu), so a model that only scores holds nothing
 * for the backward. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "driver.cuh"

#define ATTN_SCRATCH_CAP ((size_t)512 << 20)
/* Kernels count tokens in int; budgets up to PLAN_BUDGET are planned in
 * size_t without overflow, so that a budget too big for the device is
 * reported as such (WF_ENOMEM) before the kernels' limit (WF_EINVAL). */
#define MAX_BUDGET ((size_t)1 << 30)
#define PLAN_BUDGET ((size_t)1 << 40)
#define STAGE_ELEMS ((size_t)1 << 20)

static double mib(size_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

void wf_cu_dims_of(const wf_tf_config *c, wf_cu_dims *d)
{
    d->h = (size_t)c->hidden;
    d->hd = (size_t)c->head_dim;
    d->heads = (size_t)c->heads;
    d->kv = (size_t)c->kv_heads;
    d->qd = d->heads * d->hd;
    d->kvd = d->kv * d->hd;
    d->qkvd = d->qd + 2 * d->kvd;
    d->inter = (size_t)c->intermediate;
    d->layers = (size_t)c->layers;
    d->vocab = (size_t)c->vocab;
    d->max_in = d->h > d->qd ? d->h : d->qd;
    d->max_in = d->max_in > d->inter ? d->max_in : d->inter;
    d->eps = (float)c->rms_eps;
}

/* Lays the weights out in a (counting when a->base is NULL). */
static void lay_out_weights(wf_cuda_model *cm, wf_cu_arena *a)
{
    const wf_cu_dims *d = &cm->d;
    cm->embed = wf_carve<wf_bf16>(a, d->vocab * d->h);
    for (size_t i = 0; i < d->layers; i++) {
        wf_cu_layer *l = &cm->layers[i];
        l->wqkv = wf_carve<wf_bf16>(a, d->qkvd * d->h);
        l->wo = wf_carve<wf_bf16>(a, d->h * d->qd);
        l->wgu = wf_carve<wf_bf16>(a, 2 * d->inter * d->h);
        l->wdown = wf_carve<wf_bf16>(a, d->h * d->inter);
        l->in_norm = wf_carve<float>(a, d->h);
        l->post_norm = wf_carve<float>(a, d->h);
        l->q_norm = wf_carve<float>(a, cm->cfg.qk_norm ? d->hd : 0);
        l->k_norm = wf_carve<float>(a, cm->cfg.qk_norm ? d->hd : 0);
        l->bqkv = wf_carve<float>(a, cm->cfg.qkv_bias ? d->qkvd : 0);
    }
    cm->final_norm = wf_carve<float>(a, d->h);
    cm->inv_freq = wf_carve<float>(a, d->hd / 2);
}

/* Lays the scoring buffers out in a (counting when a->base is NULL). */
static void lay_out_fwd(wf_cuda_model *cm, wf_cu_arena *a)
{
    const wf_cu_dims *d = &cm->d;
    size_t B = cm->budget, longest = cm->max_len < B ? cm->max_len : B;
    wf_cu_fwd *f = &cm->fwd;
    f->x = wf_carve<float>(a, B * d->h);
    f->xn1 = wf_carve<wf_bf16>(a, B * d->h);
    f->xn2 = wf_carve<wf_bf16>(a, B * d->h);
    f->rstd1 = wf_carve<float>(a, B);
    f->rstd2 = wf_carve<float>(a, B);
    f->qkv = wf_carve<wf_bf16>(a, B * d->qkvd);
    f->qk = wf_carve<wf_bf16>(a, cm->cfg.qk_norm ? B * (d->qd + d->kvd) : 0);
    f->att = wf_carve<wf_bf16>(a, B * d->qd);
    f->gu = wf_carve<wf_bf16>(a, B * 2 * d->inter);
    f->act = wf_carve<wf_bf16>(a, B * d->inter);
    f->xd = wf_carve<wf_bf16>(a, B * d->max_in);
    f->attn_bytes = cm->flash_fwd ? 0 : wf_cu_attention_scratch(cm, longest);
    f->attn = wf_carve<char>(a, f->attn_bytes);
    f->ids = wf_carve<int32_t>(a, B);
    f->starts = wf_carve<int32_t>(a, B + 1);
    f->pos = wf_carve<int32_t>(a, B);
    f->pooled = wf_carve<float>(a, B * d->h);
    f->prstd = wf_carve<float>(a, B);
    f->logits = wf_carve<float>(a, B * WF_TF_HEAD_OUT);
}

size_t wf_cu_attention_scratch(const wf_cuda_model *cm, size_t longest)
{
    const wf_cu_dims *d = &cm->d;
    return wf_k_attention_scratch_bytes((int)d->heads, (int)d->kv, (int)d->hd, (int)longest,
                                        ATTN_SCRATCH_CAP);
}

/* fp32 host values into bf16 device memory, converted in chunks on the
 * host so that no fp32 copy of the embedding is ever on the device. */
static int put_bf16(wf_bf16 *dst, const float *src, size_t n, wf_bf16 *stage, wf_error *err)
{
    for (size_t at = 0; at < n; at += STAGE_ELEMS) {
        size_t k = n - at < STAGE_ELEMS ? n - at : STAGE_ELEMS;
        for (size_t i = 0; i < k; i++)
            stage[i] = __float2bfloat16_rn(src[at + i]);
        int rc = WF_CU(cudaMemcpy(dst + at, stage, k * sizeof *stage, cudaMemcpyHostToDevice));
        if (rc)
            return rc;
    }
    return 0;
}

static int put_f32(const float *dst, const float *src, size_t n, wf_error *err)
{
    return WF_CU(cudaMemcpy((void *)dst, src, n * sizeof *src, cudaMemcpyHostToDevice));
}

static int put_layer(const wf_cu_dims *d, const wf_tf_layer *hl, const wf_cu_layer *l,
                     wf_bf16 *stage, wf_error *err)
{
    wf_bf16 *qkv = (wf_bf16 *)l->wqkv, *gu = (wf_bf16 *)l->wgu;
    int rc;
    if ((rc = put_bf16(qkv, hl->wq, d->qd * d->h, stage, err)) ||
        (rc = put_bf16(qkv + d->qd * d->h, hl->wk, d->kvd * d->h, stage, err)) ||
        (rc = put_bf16(qkv + (d->qd + d->kvd) * d->h, hl->wv, d->kvd * d->h, stage, err)) ||
        (rc = put_bf16((wf_bf16 *)l->wo, hl->wo, d->h * d->qd, stage, err)) ||
        (rc = put_bf16(gu, hl->w_gate, d->inter * d->h, stage, err)) ||
        (rc = put_bf16(gu + d->inter * d->h, hl->w_up, d->inter * d->h, stage, err)) ||
        (rc = put_bf16((wf_bf16 *)l->wdown, hl->w_down, d->h * d->inter, stage, err)) ||
        (rc = put_f32(l->in_norm, hl->in_norm, d->h, err)) ||
        (rc = put_f32(l->post_norm, hl->post_norm, d->h, err)))
        return rc;
    if (l->q_norm && ((rc = put_f32(l->q_norm, hl->q_norm, d->hd, err)) ||
                      (rc = put_f32(l->k_norm, hl->k_norm, d->hd, err))))
        return rc;
    if (l->bqkv && ((rc = put_f32(l->bqkv, hl->bq, d->qd, err)) ||
                    (rc = put_f32(l->bqkv + d->qd, hl->bk, d->kvd, err)) ||
                    (rc = put_f32(l->bqkv + d->qd + d->kvd, hl->bv, d->kvd, err))))
        return rc;
    return 0;
}

static int upload_weights(wf_cuda_model *cm, const wf_tf_model *m, wf_error *err)
{
    wf_bf16 *stage = (wf_bf16 *)malloc(STAGE_ELEMS * sizeof *stage);
    if (!stage)
        return wf_error_set(err, WF_ENOMEM, "out of host memory for the weight upload");
    const wf_cu_dims *d = &cm->d;
    int rc = put_bf16((wf_bf16 *)cm->embed, m->embed, d->vocab * d->h, stage, err);
    for (size_t i = 0; !rc && i < d->layers; i++)
        rc = put_layer(d, &m->layers[i], &cm->layers[i], stage, err);
    if (!rc)
        rc = put_f32(cm->final_norm, m->final_norm, d->h, err);
    if (!rc)
        rc = put_f32(cm->inv_freq, m->inv_freq, d->hd / 2, err);
    free(stage);
    return rc;
}

/* The plan against the device's free memory: WF_ENOMEM with both sizes. */
static int check_plan(const wf_cuda_model *cm, size_t weights, size_t acts, wf_error *err)
{
    size_t free_b = 0, total_b = 0;
    int rc = WF_CU(cudaMemGetInfo(&free_b, &total_b));
    if (rc)
        return rc;
    size_t need = weights + acts + WF_CU_CUBLAS_WS_BYTES;
    if (need + WF_CU_RESERVE_BYTES <= free_b)
        return 0;
    return wf_error_set(err, WF_ENOMEM,
                        "model does not fit device %d: needs %.1f MiB (weights %.1f MiB + "
                        "activations %.1f MiB for a token budget of %zu + %.0f MiB reserve) but "
                        "%.1f MiB of %.1f MiB are free",
                        cm->device, mib(need + WF_CU_RESERVE_BYTES), mib(weights), mib(acts),
                        cm->budget, mib(WF_CU_RESERVE_BYTES + WF_CU_CUBLAS_WS_BYTES), mib(free_b),
                        mib(total_b));
}

static int alloc_host(wf_cuda_model *cm, wf_error *err)
{
    size_t B = cm->budget;
    int rc;
    if ((rc = WF_CU(cudaMallocHost((void **)&cm->h_ids, B * sizeof(int32_t)))) ||
        (rc = WF_CU(cudaMallocHost((void **)&cm->h_starts, (B + 1) * sizeof(int32_t)))) ||
        (rc = WF_CU(cudaMallocHost((void **)&cm->h_logits, B * WF_TF_HEAD_OUT * sizeof(float)))))
        return rc;
    return 0;
}

/* WF_CUDA_FLASH=forward (the flash forward, the cuBLAS backward) or off
 * (cuBLAS only) narrows what the device allows, so that the checks can run
 * the paths of a GPU with less shared memory on one with enough. */
static int flash_override(wf_cuda_model *cm, wf_error *err)
{
    const char *v = getenv("WF_CUDA_FLASH");
    if (!v || !*v || strcmp(v, "on") == 0)
        return 0;
    if (strcmp(v, "off") != 0 && strcmp(v, "forward") != 0)
        return wf_error_set(err, WF_EINVAL, "WF_CUDA_FLASH=%s: want on, forward or off", v);
    cm->flash_fwd = cm->flash_fwd && strcmp(v, "forward") == 0;
    cm->flash_bwd = 0;
    return 0;
}

/* Whether this build's kernels run on the device at all (a build for
 * other architectures fails every launch: better refused at load, which
 * under model.device=auto leaves the model on the CPU), and whether the
 * flash kernels' shared memory fits it. */
static int probe_device(wf_cuda_model *cm, wf_error *err)
{
    int major = 0, minor = 0, smem = 0, rc;
    if ((rc = WF_CU(
             cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, cm->device))) ||
        (rc = WF_CU(
             cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, cm->device))) ||
        (rc = WF_CU(
             cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, cm->device))))
        return rc;
    cudaError_t e = wf_k_probe();
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return wf_error_set(err, WF_ENOTFOUND,
                            "CUDA device %d (compute capability %d.%d) cannot run this build's "
                            "kernels, built for architectures %s (%s): rebuild with "
                            "-DCMAKE_CUDA_ARCHITECTURES=%d%d",
                            cm->device, major, minor, WF_CUDA_ARCHS, cudaGetErrorString(e), major,
                            minor);
    }
    int hd = (int)cm->d.hd;
    cm->flash_fwd = wf_k_flash_supported(hd) && wf_k_flash_forward_smem(hd) <= (size_t)smem;
    cm->flash_bwd = cm->flash_fwd && wf_k_flash_backward_smem(hd) <= (size_t)smem;
    return flash_override(cm, err);
}

static int open_device(wf_cuda_model *cm, wf_error *err)
{
    int n = wf_cuda_device_count(), rc;
    if (cm->device < 0 || cm->device >= n)
        return wf_error_set(err, WF_ENOTFOUND, "CUDA device %d not found (%d usable)", cm->device,
                            n);
    if ((rc = WF_CU(cudaSetDevice(cm->device))) || (rc = probe_device(cm, err)) ||
        (rc = WF_CU(cudaStreamCreateWithFlags(&cm->stream, cudaStreamNonBlocking))) ||
        (rc = WF_CUBLAS(cublasCreate(&cm->blas))) ||
        (rc = WF_CUBLAS(cublasSetStream(cm->blas, cm->stream))))
        return rc;
    return 0;
}

void wf_cu_plan_model(wf_cuda_model *cm, size_t *weights, size_t *scoring)
{
    wf_cu_arena wa = {NULL, 0}, fa = {NULL, 0};
    lay_out_weights(cm, &wa);
    lay_out_fwd(cm, &fa);
    *weights = wa.used;
    *scoring = fa.used;
}

/* Plans, checks and allocates every device buffer, then uploads. */
static int build(wf_cuda_model *cm, const wf_tf_model *m, wf_error *err)
{
    size_t weights, scoring;
    wf_cu_plan_model(cm, &weights, &scoring);
    int rc;
    if ((rc = check_plan(cm, weights, scoring, err)))
        return rc;
    if (cm->budget > MAX_BUDGET)
        return wf_error_set(err, WF_EINVAL, "token budget %zu is over %zu", cm->budget, MAX_BUDGET);
    if ((rc = WF_CU(cudaMalloc((void **)&cm->weights, weights))) ||
        (rc = WF_CU(cudaMalloc((void **)&cm->scratch, scoring))) ||
        (rc = WF_CU(cudaMalloc(&cm->blas_ws, WF_CU_CUBLAS_WS_BYTES))) ||
        (rc = WF_CUBLAS(cublasSetWorkspace(cm->blas, cm->blas_ws, WF_CU_CUBLAS_WS_BYTES))) ||
        (rc = alloc_host(cm, err)))
        return rc;
    wf_cu_arena wa = {cm->weights, 0}, fa = {cm->scratch, 0};
    lay_out_weights(cm, &wa);
    lay_out_fwd(cm, &fa);
    /* cudaMemcpy from pageable memory may return before its DMA ends, and
     * on the legacy stream, which cm->stream does not wait for. */
    if ((rc = upload_weights(cm, m, err)) || (rc = WF_CU(cudaDeviceSynchronize())))
        return rc;
    return wf_cu_adapter_base(cm, m, &cm->base, err);
}

static int check_opts(const wf_tf_model *m, const wf_cuda_opts *o, size_t budget, wf_error *err)
{
    if (budget > PLAN_BUDGET)
        return wf_error_set(err, WF_EINVAL, "token budget %zu is over %zu", budget, PLAN_BUDGET);
    if (m->max_len > INT_MAX || o->device < 0)
        return wf_error_set(err, WF_EINVAL, "bad options: device %d, max_len %zu", o->device,
                            m->max_len);
    return 0;
}

extern "C" int wf_cuda_model_new(const wf_tf_model *m, const wf_cuda_opts *o, wf_cuda_model **out,
                                 wf_error *err)
{
    *out = NULL;
    wf_cuda_opts defaults = {0, 0};
    o = o ? o : &defaults;
    size_t budget = o->token_budget ? o->token_budget : WF_CUDA_DEFAULT_TOKEN_BUDGET;
    int rc = check_opts(m, o, budget, err);
    if (rc)
        return rc;
    wf_cuda_model *cm = (wf_cuda_model *)calloc(1, sizeof *cm);
    if (cm)
        cm->layers = (wf_cu_layer *)calloc((size_t)m->cfg.layers, sizeof *cm->layers);
    if (!cm || !cm->layers) {
        free(cm);
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    }
    cm->cfg = m->cfg;
    wf_cu_dims_of(&m->cfg, &cm->d);
    cm->max_len = m->max_len;
    cm->budget = budget;
    cm->device = o->device;
    if (pthread_mutex_init(&cm->lock, NULL)) {
        free(cm->layers), free(cm);
        return wf_error_set(err, WF_ENOMEM, "pthread_mutex_init failed");
    }
    if ((rc = open_device(cm, err)) || (rc = build(cm, m, err)) || (rc = wf_cu_sync(cm, err))) {
        wf_cuda_model_free(cm);
        return rc;
    }
    *out = cm;
    return 0;
}

extern "C" void wf_cuda_model_free(wf_cuda_model *cm)
{
    if (!cm)
        return;
    /* Errors are ignored here: nothing can be done about them while
     * freeing, and each call releases what it can. */
    if (cudaSetDevice(cm->device) == cudaSuccess && cm->stream)
        (void)cudaStreamSynchronize(cm->stream);
    wf_cu_adapter_destroy(cm->base);
    if (cm->blas)
        (void)cublasDestroy(cm->blas);
    (void)cudaFree(cm->blas_ws);
    (void)cudaFree(cm->weights);
    (void)cudaFree(cm->scratch);
    (void)cudaFreeHost(cm->h_ids);
    (void)cudaFreeHost(cm->h_starts);
    (void)cudaFreeHost(cm->h_logits);
    if (cm->stream)
        (void)cudaStreamDestroy(cm->stream);
    (void)cudaGetLastError();
    pthread_mutex_destroy(&cm->lock);
    free(cm->layers);
    free(cm);
}

/* A poisoned context returns its error from every call, a synchronisation
 * included, while a call's own failure (a bad argument, memory) is not
 * kept by the stream. */
extern "C" int wf_cuda_model_lost(wf_cuda_model *cm)
{
    pthread_mutex_lock(&cm->lock);
    cudaError_t e = cudaSetDevice(cm->device);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(cm->stream);
    (void)cudaGetLastError();
    pthread_mutex_unlock(&cm->lock);
    return e != cudaSuccess;
}

int wf_cu_enter(wf_cuda_model *cm, wf_error *err)
{
    pthread_mutex_lock(&cm->lock);
    int rc = WF_CU(cudaSetDevice(cm->device));
    if (rc)
        pthread_mutex_unlock(&cm->lock);
    return rc;
}

void wf_cu_leave(wf_cuda_model *cm)
{
    pthread_mutex_unlock(&cm->lock);
}

int wf_cu_sync(wf_cuda_model *cm, wf_error *err)
{
    return WF_CU(cudaStreamSynchronize(cm->stream));
}
