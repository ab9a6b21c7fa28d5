/* The linear backend's model object: scoring, saving and loading. */
#include "model_linear/linear.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_linear/linear_internal.h"
#include "wildfeed/safetensors.h"

wf_lin *wf_lin_new(wf_head_kind head, int hash_bits)
{
    wf_lin *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->hash_bits = hash_bits;
    l->dim = ((size_t)1 << hash_bits) + WF_LIN_DENSE;
    l->n_vec = head == WF_HEAD_INDEPENDENT ? WF_LOGITS : 1;
    l->w = calloc((size_t)l->n_vec * l->dim, sizeof *l->w);
    if (!l->w) {
        free(l);
        return NULL;
    }
    return l;
}

void wf_lin_free(wf_lin *l)
{
    if (l)
        free(l->w);
    free(l);
}

void wf_lin_parts(const wf_model_input *in, const char **q, size_t *qlen, const char **r,
                  size_t *rlen)
{
    if (in->query || in->response) {
        *q = in->query ? in->query : "";
        *r = in->response ? in->response : "";
        *qlen = strlen(*q);
        *rlen = strlen(*r);
        return;
    }
    const char *t = in->text ? in->text : "";
    wf_lin_split_text(t, strlen(t), q, qlen, r, rlen);
}

/* Sums the weights of the features as they are extracted. */
typedef struct dot_sink {
    wf_lin_sink base;
    const wf_lin *l;
    double part[WF_LOGITS], acc[WF_LOGITS];
} dot_sink;

static void dot_chunk(wf_lin_sink *s, const uint32_t *idx, size_t n)
{
    dot_sink *d = (dot_sink *)s;
    for (int k = 0; k < d->l->n_vec; k++) {
        const float *w = d->l->w + (size_t)k * d->l->dim;
        double sum = 0.0;
        for (size_t j = 0; j < n; j++)
            sum += w[idx[j]];
        d->part[k] += sum;
    }
}

static void dot_end_ns(wf_lin_sink *s, size_t count)
{
    dot_sink *d = (dot_sink *)s;
    double scale = count ? 1.0 / sqrt((double)count) : 0.0;
    for (int k = 0; k < d->l->n_vec; k++) {
        d->acc[k] += d->part[k] * scale;
        d->part[k] = 0.0;
    }
}

static void dot_dense(wf_lin_sink *s, uint32_t idx, float v)
{
    dot_sink *d = (dot_sink *)s;
    for (int k = 0; k < d->l->n_vec; k++)
        d->acc[k] += (double)d->l->w[(size_t)k * d->l->dim + idx] * v;
}

static int lin_score(const wf_model *m, const wf_model_input *in, size_t n, float *logits,
                     wf_error *err)
{
    (void)err;
    const wf_lin *l = m->impl;
    for (size_t i = 0; i < n; i++) {
        dot_sink d = {{dot_chunk, dot_end_ns, dot_dense}, l, {0}, {0}};
        const char *q, *r;
        size_t qlen, rlen;
        wf_lin_parts(&in[i], &q, &qlen, &r, &rlen);
        wf_lin_extract(l->hash_bits, q, qlen, r, rlen, &d.base);
        for (int k = 0; k < WF_LOGITS; k++)
            logits[i * WF_LOGITS + k] = (float)(d.acc[l->n_vec == 1 ? 0 : k] + l->b[k]);
    }
    return 0;
}

static int lin_save(const wf_model *m, const char *dir, wf_error *err)
{
    const wf_lin *l = m->impl;
    char path[4096], bits[16];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, WF_LIN_FILE) >= sizeof path)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    snprintf(bits, sizeof bits, "%d", l->hash_bits);
    wf_st_out t[2] = {{"weight", 2, {(uint64_t)l->n_vec, l->dim}, l->w},
                      {"bias", 1, {WF_LOGITS}, l->b}};
    wf_st_kv meta[] = {{"kind", "linear"},
                       {"head", wf_head_name(m->head)},
                       {"hash_bits", bits},
                       {"feature_version", WF_LIN_FEATURE_VERSION}};
    return wf_st_write(path, t, 2, meta, sizeof meta / sizeof meta[0], err);
}

static const char *const *lin_files(const wf_model *m)
{
    (void)m;
    static const char *const files[] = {WF_LIN_FILE, NULL};
    return files;
}

static void lin_destroy(wf_model *m)
{
    wf_lin_free(m->impl);
    free(m);
}

static const wf_model_ops lin_ops = {"linear",    lin_score, lin_save, lin_files,
                                     lin_destroy, NULL,      0};

wf_model *wf_lin_wrap(wf_lin *l, wf_head_kind head)
{
    wf_model *m = malloc(sizeof *m);
    if (!m) {
        wf_lin_free(l);
        return NULL;
    }
    *m = (wf_model){&lin_ops, head, l};
    return m;
}

/* Reads the head and hash_bits from the metadata, refusing what this build
 * cannot score. */
static int read_config(const wf_st_file *f, const char *path, int *head, int *bits, wf_error *err)
{
    const char *kind = wf_st_meta(f, "kind"), *h = wf_st_meta(f, "head");
    const char *b = wf_st_meta(f, "hash_bits"), *v = wf_st_meta(f, "feature_version");
    if (!kind || strcmp(kind, "linear") != 0)
        return wf_error_set(err, WF_ECORRUPT, "%s: metadata kind is not \"linear\"", path);
    if ((*head = wf_head_parse(h)) < 0)
        return wf_error_set(err, WF_ECORRUPT, "%s: metadata head is not coral or independent",
                            path);
    char *end;
    long n = b ? strtol(b, &end, 10) : 0;
    if (!b || *end || n < 10 || n > 26)
        return wf_error_set(err, WF_ECORRUPT, "%s: metadata hash_bits is not 10..26", path);
    *bits = (int)n;
    if (!v || strcmp(v, WF_LIN_FEATURE_VERSION) != 0)
        return wf_error_set(err, WF_ECORRUPT,
                            "%s: feature_version %s, this build computes version %s", path,
                            v ? v : "(none)", WF_LIN_FEATURE_VERSION);
    return 0;
}

int wf_linear_load(const char *dir, wf_model **out, wf_error *err)
{
    *out = NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, WF_LIN_FILE) >= sizeof path)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    wf_st_file *f;
    int rc = wf_st_open(path, &f, err), head = 0, bits = 0;
    if (rc)
        return rc;
    wf_lin *l = NULL;
    if (!(rc = read_config(f, path, &head, &bits, err)) &&
        !(l = wf_lin_new((wf_head_kind)head, bits)))
        rc = wf_error_set(err, WF_ENOMEM, "out of memory");
    if (!rc) {
        uint64_t wshape[2] = {(uint64_t)l->n_vec, l->dim}, bshape[1] = {WF_LOGITS};
        rc = wf_st_read_f32(f, "weight", wshape, 2, l->w, err);
        if (!rc)
            rc = wf_st_read_f32(f, "bias", bshape, 1, l->b, err);
    }
    wf_st_close(f);
    if (!rc && !(*out = wf_lin_wrap(l, (wf_head_kind)head)))
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    if (rc)
        wf_lin_free(l);
    return rc;
}
