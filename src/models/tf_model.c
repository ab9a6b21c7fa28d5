/* The transformer backend's wf_model: scoring, saving and loading a model
 * directory (adapters in PEFT's format plus transformer.json). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/peft.h"
#include "models/tf_backend.h"
#include "wildfeed/log.h"

/* What a retrain writes, in the order the registry checksums it. */
const char *const wf_transformer_files[] = {WF_TF_PEFT_CONFIG, WF_TF_PEFT_WEIGHTS, WF_TFB_FILE,
                                            NULL};

/* transformer.json: which base the adapters belong to, and how to run it. */
typedef struct tfb_json {
    char base[4096];
    char sha[WF_SHA256_HEX];
    size_t max_len, token_budget;
    wf_tfb_device device;
} tfb_json;

#define TFB_MAX_LEN_MAX (1u << 24)
#define TFB_BUDGET_MAX (1u << 30)

static const wf_model_ops tfb_ops;

const wf_tfb_model *wf_tfb_of(const wf_model *m)
{
    return m && m->ops == &tfb_ops ? m->impl : NULL;
}

/* Fills logits chunk by chunk under the token budget, so the CPU's
 * activations stay bounded as on the GPU (which splits by itself). A GPU
 * that is lost mid-call hands the call to the CPU. */
static int forward(const wf_tfb_model *t, const int32_t *const *ids, const size_t *lens, size_t n,
                   float *logits, wf_error *err)
{
    wf_tfb_base *b = t->base;
    wf_cuda_model *cm = wf_tfb_gpu(b);
    if (t->ca && cm) {
        int rc = wf_cuda_forward(cm, t->ca, ids, lens, n, logits, err);
        if (rc == 0 || !wf_tfb_gpu_failed(b))
            return rc;
    }
    for (size_t at = 0; at < n;) {
        size_t k = 1, tokens = lens[at];
        while (at + k < n && tokens + lens[at + k] <= b->token_budget)
            tokens += lens[at + k++];
        int rc = wf_tf_forward_adapted(b->m, t->ad, ids + at, lens + at, k, logits + at * WF_LOGITS,
                                       err);
        if (rc < 0)
            return rc;
        at += k;
    }
    return 0;
}

static int forward_fn(void *ctx, const int32_t *const *ids, const size_t *lens, size_t n,
                      float *logits, wf_error *err)
{
    return forward(ctx, ids, lens, n, logits, err);
}

/* Tokenizing runs in the caller's thread; the forward pass in a batch with
 * whatever other callers are scoring at the same time. */
static int tfb_score(const wf_model *m, const wf_model_input *in, size_t n, float *logits,
                     wf_error *err)
{
    const wf_tfb_model *t = m->impl;
    if (n == 0)
        return 0;
    wf_token_ids *ids = calloc(n, sizeof *ids);
    const int32_t **ptr = malloc(n * sizeof *ptr);
    size_t *lens = malloc(n * sizeof *lens);
    int rc = ids && ptr && lens ? 0 : wf_error_set(err, WF_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        wf_error e = {0};
        rc = wf_tfb_encode(t->base, t->max_len, &in[i], &ids[i], &e);
        if (rc < 0)
            wf_error_set(err, rc, "input %zu: %s", i, e.msg);
        ptr[i] = ids[i].ids;
        lens[i] = ids[i].len;
    }
    if (rc == 0)
        rc = wf_tfb_batcher_score(t->batcher, forward_fn, (void *)t, ptr, lens, n, logits, err);
    for (size_t i = 0; ids && i < n; i++)
        wf_token_ids_free(&ids[i]);
    free(ids);
    free(ptr);
    free(lens);
    return rc;
}

static int write_json(const wf_tfb_model *t, const char *dir, wf_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, WF_TFB_FILE) >= sizeof path)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    const wf_tfb_base *b = t->base;
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "format", WF_TFB_FORMAT, "base", b->dir,
                  "base_config_sha256", b->config_sha, "max_len", (json_int_t)t->max_len, "device",
                  wf_tfb_device_name(b->device), "token_budget", (json_int_t)b->token_budget);
    if (!doc)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    int rc = json_dump_file(doc, path, JSON_INDENT(2)) == 0
                 ? 0
                 : wf_error_set(err, WF_EIO, "%s: cannot write", path);
    json_decref(doc);
    return rc;
}

static int tfb_save(const wf_model *m, const char *dir, wf_error *err)
{
    const wf_tfb_model *t = m->impl;
    const wf_tfb_base *b = t->base;
    int rc = wf_tf_adapter_save(t->ad, wf_tf_model_config(b->m), b->dir, dir, err);
    return rc < 0 ? rc : write_json(t, dir, err);
}

static const char *const *tfb_files(const wf_model *m)
{
    (void)m;
    return wf_transformer_files;
}

static void tfb_destroy(wf_model *m)
{
    wf_tfb_model *t = m->impl;
    /* The adapter's GPU copy goes before the base, whose last reference
     * frees the device model it lives on. */
    wf_cuda_adapter_free(t->ca);
    wf_tf_adapter_free(t->ad);
    wf_tfb_base_unref(t->base);
    wf_tfb_batcher_destroy(t->batcher);
    free(t->batcher);
    free(t);
    free(m);
}

static const char *tfb_degraded(const wf_model *m)
{
    const wf_tfb_model *t = m->impl;
    return atomic_load(&t->base->gpu_lost) ? "gpu lost: scoring on the CPU, not training" : NULL;
}

static const wf_model_ops tfb_ops = {"transformer", tfb_score,    tfb_save, tfb_files,
                                     tfb_destroy,   tfb_degraded, .slow = 1};

int wf_tfb_model_new(wf_tfb_base *base, wf_tf_adapter *ad, size_t max_len, wf_model **out,
                     wf_error *err)
{
    *out = NULL;
    wf_model *m = calloc(1, sizeof *m);
    wf_tfb_model *t = calloc(1, sizeof *t);
    wf_tfb_batcher *batcher = malloc(sizeof *batcher);
    int rc = m && t && batcher ? 0 : wf_error_set(err, WF_ENOMEM, "out of memory");
    if (rc == 0 && wf_tfb_gpu(base)) {
        rc = wf_cuda_adapter_upload(base->cm, ad, &t->ca, err);
        if (rc < 0 && wf_tfb_gpu_failed(base))
            rc = 0; /* lost since its last call: this model scores on the CPU */
    }
    if (rc < 0) {
        free(m);
        free(t);
        free(batcher);
        wf_tf_adapter_free(ad);
        wf_tfb_base_unref(base);
        return rc;
    }
    wf_tfb_batcher_init(batcher, base->token_budget);
    *t =
        (wf_tfb_model){.base = base, .ad = ad, .ca = t->ca, .batcher = batcher, .max_len = max_len};
    *m = (wf_model){.ops = &tfb_ops, .head = ad->head, .impl = t};
    *out = m;
    return 0;
}

static int bad(const char *path, const char *what, wf_error *err)
{
    return wf_error_set(err, WF_ECORRUPT, "%s: %s", path, what);
}

static int is_sha_hex(const char *s)
{
    if (!s || strlen(s) != WF_SHA256_HEX - 1)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

static int get_size(json_t *doc, const char *key, size_t max, size_t *out)
{
    json_t *v = json_object_get(doc, key);
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > (json_int_t)max)
        return -1;
    *out = (size_t)json_integer_value(v);
    return 0;
}

static int parse_json(json_t *doc, const char *path, tfb_json *j, wf_error *err)
{
    const char *format = json_string_value(json_object_get(doc, "format"));
    const char *base = json_string_value(json_object_get(doc, "base"));
    const char *sha = json_string_value(json_object_get(doc, "base_config_sha256"));
    const char *device = json_string_value(json_object_get(doc, "device"));
    if (!format || strcmp(format, WF_TFB_FORMAT) != 0)
        return bad(path, "\"format\" is not " WF_TFB_FORMAT, err);
    if (!base || base[0] != '/' || strlen(base) >= sizeof j->base)
        return bad(path, "\"base\" is not an absolute path", err);
    if (!is_sha_hex(sha))
        return bad(path, "\"base_config_sha256\" is not a sha256 hex digest", err);
    if (get_size(doc, "max_len", TFB_MAX_LEN_MAX, &j->max_len) < 0)
        return bad(path, "\"max_len\" is not a positive integer", err);
    if (get_size(doc, "token_budget", TFB_BUDGET_MAX, &j->token_budget) < 0)
        return bad(path, "\"token_budget\" is not a positive integer", err);
    if (!device || wf_tfb_device_parse(device, &j->device, NULL) < 0)
        return bad(path, "\"device\" is not auto, cpu or cuda", err);
    memcpy(j->base, base, strlen(base) + 1);
    memcpy(j->sha, sha, WF_SHA256_HEX);
    return 0;
}

static int read_json(const char *dir, tfb_json *j, wf_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, WF_TFB_FILE) >= sizeof path)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return bad(path, jerr.text, err);
    int rc = json_is_object(doc) ? parse_json(doc, path, j, err) : bad(path, "not an object", err);
    json_decref(doc);
    return rc;
}

/* like's base serves when it is the very base the adapters were trained
 * on: same directory and config checksum (the one recorded when like's
 * base was read, so a base changed on disk since is not mixed in), and
 * long enough sequences. A shared base keeps its device. */
static wf_tfb_base *shareable(const wf_model *like, const tfb_json *j)
{
    const wf_tfb_model *l = wf_tfb_of(like);
    if (!l || strcmp(l->base->dir, j->base) != 0 || strcmp(l->base->config_sha, j->sha) != 0 ||
        l->base->max_len < j->max_len)
        return NULL;
    return wf_tfb_base_ref(l->base);
}

int wf_transformer_load(const char *dir, const wf_model *like, wf_model **out, wf_error *err)
{
    *out = NULL;
    tfb_json j;
    int rc = read_json(dir, &j, err);
    if (rc < 0)
        return rc;
    wf_tfb_base *base = shareable(like, &j);
    const char *how = base ? "shared" : "read";
    wf_tfb_base_opts bo = {.dir = j.base,
                           .expect = j.sha,
                           .max_len = j.max_len,
                           .device = j.device,
                           .token_budget = j.token_budget};
    if (!base && (rc = wf_tfb_base_load(&bo, &base, err)) < 0)
        return rc;
    wf_tf_adapter *ad = NULL;
    rc = wf_tf_adapter_load(base->m, dir, &ad, err);
    if (rc < 0) {
        wf_tfb_base_unref(base);
        /* A model folder's file that does not parse is corrupt stored data. */
        if (rc == WF_EPARSE && err)
            err->code = WF_ECORRUPT;
        return rc == WF_EPARSE ? WF_ECORRUPT : rc;
    }
    wf_log(WF_LOG_INFO, "transformer adapters loaded", "dir", dir, "base", how, NULL);
    return wf_tfb_model_new(base, ad, j.max_len, out, err);
}
