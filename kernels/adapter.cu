/* Adapters on the device: the flat params array of adapter.h copied as is
 * (fp32, plus a bf16 mirror for the products), so that every offset into
 * it, and into the gradient, is the host adapter's own. The offsets are
 * taken from the wf_tf_adapter's pointers (ptr - params) here and nowhere
 * else, so the two layouts cannot disagree. */
#include <stdlib.h>
#include <string.h>

#include "driver.cuh"

static int fits(size_t off, size_t len, size_t n)
{
    return off <= n && len <= n - off;
}

/* ca's layout fields from ad, every view checked against n_params. */
static int layout_of(const wf_cuda_model *cm, const wf_tf_adapter *ad, wf_cuda_adapter *ca,
                     wf_error *err)
{
    const wf_cu_dims *d = &cm->d;
    if ((size_t)ad->layers != d->layers || (size_t)ad->hidden != d->h)
        return wf_error_set(err, WF_EINVAL, "adapter made for another model shape");
    ca->rank = ad->lora.rank;
    ca->scale = (float)(ad->lora.alpha / ad->lora.rank); /* as the CPU computes it */
    ca->dropout = (float)ad->lora.dropout;
    ca->coral = ad->head == WF_HEAD_CORAL;
    ca->n_params = ad->n_params;
    ca->n_decay = ad->n_decay;
    ca->head_w = (size_t)(ad->head_w - ad->params);
    ca->head_b = (size_t)(ad->head_b - ad->params);
    size_t hw = d->h * (ca->coral ? 1 : WF_TF_HEAD_OUT), r = (size_t)ad->lora.rank;
    if (!fits(ca->head_w, hw, ad->n_params) || !fits(ca->head_b, WF_TF_HEAD_OUT, ad->n_params) ||
        ad->n_decay > ad->n_params)
        return wf_error_set(err, WF_EINVAL, "adapter: head outside its %zu params", ad->n_params);
    for (size_t l = 0; l < d->layers; l++)
        for (int p = 0; p < WF_TF_NPROJ; p++) {
            const wf_tf_lora *lo = &ad->proj[l][p];
            wf_cu_lora *cl = &ca->lora[l][p];
            cl->on = lo->a != NULL;
            if (!cl->on)
                continue;
            size_t in, out;
            wf_tf_proj_dims(&cm->cfg, (wf_tf_proj)p, &in, &out);
            cl->a = (size_t)(lo->a - ad->params);
            cl->b = lo->b ? (size_t)(lo->b - ad->params) : SIZE_MAX;
            if (r < 1 || !fits(cl->a, r * in, ad->n_params) || !fits(cl->b, out * r, ad->n_params))
                return wf_error_set(err, WF_EINVAL,
                                    "adapter: layer %zu %s: LoRA outside its params", l,
                                    wf_tf_proj_name((wf_tf_proj)p));
        }
    return 0;
}

static int any_lora(const wf_cuda_adapter *ca, size_t layers)
{
    for (size_t l = 0; l < layers; l++)
        for (int p = 0; p < WF_TF_NPROJ; p++)
            if (ca->lora[l][p].on)
                return 1;
    return 0;
}

static wf_cuda_adapter *alloc_host(wf_cuda_model *cm)
{
    wf_cuda_adapter *ca = (wf_cuda_adapter *)calloc(1, sizeof *ca);
    if (!ca)
        return NULL;
    ca->cm = cm;
    ca->lora = (wf_cu_lora(*)[WF_TF_NPROJ])calloc(cm->d.layers, sizeof *ca->lora);
    if (!ca->lora) {
        free(ca);
        return NULL;
    }
    return ca;
}

void wf_cu_adapter_lay_out(const wf_cuda_model *cm, wf_cuda_adapter *ca, wf_cu_arena *a)
{
    size_t un = any_lora(ca, cm->d.layers) ? cm->budget * (size_t)ca->rank : 0;
    ca->p32 = wf_carve<float>(a, ca->n_params);
    ca->p16 = wf_carve<wf_bf16>(a, ca->n_params);
    ca->u = wf_carve<wf_bf16>(a, un);
}

/* The device memory for ca's values, their mirror and the scoring u. */
static int alloc_device(wf_cuda_model *cm, wf_cuda_adapter *ca, wf_error *err)
{
    wf_cu_arena a = {NULL, 0};
    wf_cu_adapter_lay_out(cm, ca, &a);
    int rc = WF_CU(cudaMalloc(&ca->mem, a.used));
    if (rc)
        return rc;
    a = {(char *)ca->mem, 0};
    wf_cu_adapter_lay_out(cm, ca, &a);
    return 0;
}

/* Fills p32 from host values and refreshes the mirror. */
static int put_values(wf_cuda_model *cm, wf_cuda_adapter *ca, const float *values, wf_error *err)
{
    int rc;
    if ((rc = WF_CU(cudaMemcpyAsync(ca->p32, values, ca->n_params * sizeof(float),
                                    cudaMemcpyHostToDevice, cm->stream))) ||
        (rc = WF_CU(wf_k_f32_to_bf16(ca->p32, ca->p16, ca->n_params, cm->stream))))
        return rc;
    return wf_cu_sync(cm, err);
}

int wf_cu_adapter_base(wf_cuda_model *cm, const wf_tf_model *m, wf_cuda_adapter **out,
                       wf_error *err)
{
    *out = NULL;
    wf_cuda_adapter *ca = alloc_host(cm);
    if (!ca)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    size_t h = cm->d.h, hw = WF_TF_HEAD_OUT * h;
    ca->n_params = ca->n_decay = hw + WF_TF_HEAD_OUT;
    ca->head_w = 0;
    ca->head_b = hw;
    float *v = (float *)malloc(ca->n_params * sizeof *v);
    int rc = v ? alloc_device(cm, ca, err) : wf_error_set(err, WF_ENOMEM, "out of memory");
    if (!rc) {
        memcpy(v, m->head_w, hw * sizeof *v);
        memcpy(v + hw, m->head_b, WF_TF_HEAD_OUT * sizeof *v);
        rc = put_values(cm, ca, v, err);
    }
    free(v);
    if (rc) {
        wf_cu_adapter_destroy(ca);
        return rc;
    }
    *out = ca;
    return 0;
}

/* A copy of the base adapter (what a NULL wf_tf_adapter uploads to). */
static int copy_base(wf_cuda_model *cm, wf_cuda_adapter *ca, wf_error *err)
{
    const wf_cuda_adapter *b = cm->base;
    ca->n_params = b->n_params, ca->n_decay = b->n_decay;
    ca->head_w = b->head_w, ca->head_b = b->head_b;
    int rc;
    if ((rc = alloc_device(cm, ca, err)) ||
        (rc = WF_CU(cudaMemcpyAsync(ca->p32, b->p32, b->n_params * sizeof(float),
                                    cudaMemcpyDeviceToDevice, cm->stream))) ||
        (rc = WF_CU(cudaMemcpyAsync(ca->p16, b->p16, b->n_params * sizeof(wf_bf16),
                                    cudaMemcpyDeviceToDevice, cm->stream))))
        return rc;
    return wf_cu_sync(cm, err);
}

int wf_cu_adapter_new(wf_cuda_model *cm, const wf_tf_adapter *ad, wf_cuda_adapter **out,
                      wf_error *err)
{
    *out = NULL;
    wf_cuda_adapter *ca = alloc_host(cm);
    if (!ca)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    int rc;
    if (!ad)
        rc = copy_base(cm, ca, err);
    else if (!(rc = layout_of(cm, ad, ca, err)) && !(rc = alloc_device(cm, ca, err)))
        rc = put_values(cm, ca, ad->params, err);
    if (rc) {
        wf_cu_adapter_destroy(ca);
        return rc;
    }
    *out = ca;
    return 0;
}

void wf_cu_adapter_destroy(wf_cuda_adapter *ca)
{
    if (!ca)
        return;
    (void)cudaFree(ca->mem);
    free(ca->lora);
    free(ca);
}

static int same_lora(const wf_cuda_adapter *x, const wf_cuda_adapter *y)
{
    for (size_t l = 0; l < x->cm->d.layers; l++)
        for (int p = 0; p < WF_TF_NPROJ; p++) {
            const wf_cu_lora *a = &x->lora[l][p], *b = &y->lora[l][p];
            if (a->on != b->on || (a->on && (a->a != b->a || a->b != b->b)))
                return 0;
        }
    return 1;
}

int wf_cu_adapter_same_layout(const wf_cuda_adapter *ca, const wf_tf_adapter *ad, wf_error *err)
{
    wf_cuda_adapter *t = alloc_host(ca->cm);
    if (!t)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    int rc = layout_of(ca->cm, ad, t, err);
    if (!rc && (t->n_params != ca->n_params || t->n_decay != ca->n_decay ||
                t->head_w != ca->head_w || t->head_b != ca->head_b || t->coral != ca->coral ||
                t->rank != ca->rank || !same_lora(t, ca)))
        rc = wf_error_set(err, WF_EINVAL, "adapter of another layout (%zu params, not %zu)",
                          ad->n_params, ca->n_params);
    free(t->lora);
    free(t);
    return rc;
}

extern "C" int wf_cuda_adapter_upload(wf_cuda_model *cm, const wf_tf_adapter *ad,
                                      wf_cuda_adapter **out, wf_error *err)
{
    *out = NULL;
    int rc = wf_cu_enter(cm, err);
    if (rc)
        return rc;
    rc = wf_cu_adapter_new(cm, ad, out, err);
    wf_cu_leave(cm);
    return rc;
}

extern "C" void wf_cuda_adapter_free(wf_cuda_adapter *ca)
{
    if (!ca)
        return;
    wf_cuda_model *cm = ca->cm;
    wf_error ignored;
    int locked = wf_cu_enter(cm, &ignored) == 0;
    wf_cu_adapter_destroy(ca);
    if (locked)
        wf_cu_leave(cm);
}
