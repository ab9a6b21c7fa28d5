/* Creating, copying and applying the trainable part of a transformer model:
 * LoRA matrices and the ordinal head, laid out in one flat array. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/adapter.h"
#include "model_transformer/dropout.h"
#include "model_transformer/tf_internal.h"

static const char *const proj_names[WF_TF_NPROJ] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                    "gate_proj", "up_proj", "down_proj"};

const char *wf_tf_proj_name(wf_tf_proj p)
{
    return proj_names[p];
}

static int parse_one(const char *name, size_t len, unsigned *targets, wf_error *err)
{
    if (len == 3 && memcmp(name, "all", 3) == 0) {
        *targets |= (1u << WF_TF_NPROJ) - 1;
        return 0;
    }
    for (int p = 0; p < WF_TF_NPROJ; p++)
        if (strlen(proj_names[p]) == len && memcmp(proj_names[p], name, len) == 0) {
            *targets |= 1u << p;
            return 0;
        }
    return wf_error_set(err, WF_EINVAL,
                        "unknown LoRA target \"%.*s\" (q_proj, k_proj, v_proj, "
                        "o_proj, gate_proj, up_proj, down_proj or all)",
                        (int)len, name);
}

int wf_tf_proj_parse(const char *list, unsigned *targets, wf_error *err)
{
    *targets = 0;
    for (const char *s = list; *s;) {
        while (*s == ' ' || *s == ',')
            s++;
        size_t len = strcspn(s, ", ");
        if (len && parse_one(s, len, targets, err))
            return WF_EINVAL;
        s += len;
    }
    return 0;
}

void wf_tf_proj_dims(const wf_tf_config *c, wf_tf_proj p, size_t *in, size_t *out)
{
    size_t h = (size_t)c->hidden, qd = (size_t)c->heads * c->head_dim,
           kvd = (size_t)c->kv_heads * c->head_dim, inter = (size_t)c->intermediate;
    static const int from_hidden[WF_TF_NPROJ] = {1, 1, 1, 0, 1, 1, 0};
    *in = from_hidden[p] ? h : p == WF_TF_O ? qd : inter;
    switch (p) {
    case WF_TF_Q: *out = qd; break;
    case WF_TF_K:
    case WF_TF_V: *out = kvd; break;
    case WF_TF_GATE:
    case WF_TF_UP: *out = inter; break;
    default: *out = h; break;
    }
}

/* Points the adapter's views into params, in the order adapter.h gives;
 * returns the number of floats the layout needs (params may be NULL to
 * only count). */
static size_t lay_out(wf_tf_adapter *ad, const wf_tf_config *c)
{
    size_t at = 0, r = (size_t)ad->lora.rank;
    for (int l = 0; l < ad->layers; l++)
        for (int p = 0; p < WF_TF_NPROJ; p++) {
            wf_tf_lora *lo = &ad->proj[l][p];
            lo->a = lo->b = NULL;
            if (!(ad->lora.targets & (1u << p)))
                continue;
            size_t in, out;
            wf_tf_proj_dims(c, (wf_tf_proj)p, &in, &out);
            if (ad->params) {
                lo->a = ad->params + at;
                lo->b = ad->params + at + r * in;
            }
            at += r * (in + out);
        }
    size_t head = (size_t)ad->hidden * (ad->head == WF_HEAD_CORAL ? 1 : WF_TF_HEAD_OUT);
    ad->head_w = ad->params ? ad->params + at : NULL;
    ad->head_b = ad->params ? ad->params + at + head : NULL;
    ad->n_decay = at + head;
    return at + head + WF_TF_HEAD_OUT;
}

static int adapter_alloc(const wf_tf_config *c, const wf_tf_lora_opts *o, wf_head_kind head,
                         wf_tf_adapter **out, wf_error *err)
{
    if (o->rank < 1 || o->dropout < 0 || o->dropout >= 1 || !(o->alpha > 0))
        return wf_error_set(err, WF_EINVAL, "LoRA: rank %d, alpha %g, dropout %g out of range",
                            o->rank, o->alpha, o->dropout);
    wf_tf_adapter *ad = calloc(1, sizeof *ad);
    if (!ad)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    ad->lora = *o;
    ad->head = head;
    ad->layers = c->layers;
    ad->hidden = c->hidden;
    ad->proj = calloc((size_t)c->layers, sizeof *ad->proj);
    if (ad->proj) {
        ad->n_params = lay_out(ad, c);
        ad->params = calloc(ad->n_params, sizeof *ad->params);
    }
    if (!ad->proj || !ad->params) {
        wf_tf_adapter_free(ad);
        return wf_error_set(err, WF_ENOMEM, "out of memory for a LoRA adapter");
    }
    lay_out(ad, c);
    *out = ad;
    return 0;
}

static float uniform(uint64_t seed, uint64_t i)
{
    return (float)(wf_tf_mix64(seed ^ wf_tf_mix64(i + 1)) >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

static void init_head(wf_tf_adapter *ad, const wf_tf_model *m)
{
    size_t h = (size_t)ad->hidden;
    for (int k = 0; k < WF_TF_HEAD_OUT; k++)
        ad->head_b[k] = m->head_b[k];
    if (ad->head == WF_HEAD_INDEPENDENT) {
        memcpy(ad->head_w, m->head_w, WF_TF_HEAD_OUT * h * sizeof(float));
        return;
    }
    for (size_t i = 0; i < h; i++)
        ad->head_w[i] = (m->head_w[i] + m->head_w[h + i] + m->head_w[2 * h + i]) / 3.0f;
}

int wf_tf_adapter_new(const wf_tf_model *m, const wf_tf_lora_opts *o, wf_head_kind head,
                      uint64_t seed, wf_tf_adapter **out, wf_error *err)
{
    wf_tf_adapter *ad = NULL;
    int rc = adapter_alloc(&m->cfg, o, head, &ad, err);
    if (rc)
        return rc;
    uint64_t drawn = 0;
    for (int l = 0; l < ad->layers; l++)
        for (int p = 0; p < WF_TF_NPROJ; p++) {
            if (!ad->proj[l][p].a)
                continue;
            size_t in, outw;
            wf_tf_proj_dims(&m->cfg, (wf_tf_proj)p, &in, &outw);
            float bound = 1.0f / sqrtf((float)in);
            for (size_t i = 0; i < (size_t)o->rank * in; i++)
                ad->proj[l][p].a[i] = bound * uniform(seed, drawn++);
        }
    init_head(ad, m);
    *out = ad;
    return 0;
}

int wf_tf_adapter_clone(const wf_tf_adapter *src, wf_tf_adapter **out, wf_error *err)
{
    wf_tf_adapter *ad = calloc(1, sizeof *ad);
    if (!ad)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    *ad = *src;
    ad->proj = malloc((size_t)src->layers * sizeof *ad->proj);
    ad->params = malloc(src->n_params * sizeof *ad->params);
    if (!ad->proj || !ad->params) {
        free(ad->proj), free(ad->params), free(ad);
        return wf_error_set(err, WF_ENOMEM, "out of memory for a LoRA adapter");
    }
    memcpy(ad->params, src->params, src->n_params * sizeof *ad->params);
    /* Same layout: every view moves by the distance between the arrays. */
    for (int l = 0; l < src->layers; l++)
        for (int p = 0; p < WF_TF_NPROJ; p++) {
            const wf_tf_lora *s = &src->proj[l][p];
            ad->proj[l][p].a = s->a ? ad->params + (s->a - src->params) : NULL;
            ad->proj[l][p].b = s->b ? ad->params + (s->b - src->params) : NULL;
        }
    ad->head_w = ad->params + (src->head_w - src->params);
    ad->head_b = ad->params + (src->head_b - src->params);
    *out = ad;
    return 0;
}

void wf_tf_adapter_free(wf_tf_adapter *ad)
{
    if (!ad)
        return;
    free(ad->proj);
    free(ad->params);
    free(ad);
}

void wf_tf_head_apply(const wf_tf_adapter *ad, const float *x, float z[3])
{
    size_t h = (size_t)ad->hidden;
    for (int k = 0; k < WF_TF_HEAD_OUT; k++) {
        const float *w = ad->head_w + (ad->head == WF_HEAD_CORAL ? 0 : (size_t)k * h);
        float s = ad->head_b[k];
        for (size_t i = 0; i < h; i++)
            s += w[i] * x[i];
        z[k] = s;
    }
}
