/* The transformer backend's base model: weights, tokenizer, template and
 * the GPU copy, loaded once and shared by reference count between the
 * models trained on it (the one serving, the one loaded for a hot swap, the
 * candidate being trained), since the weights are gigabytes and the
 * adapters megabytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/tf_backend.h"
#include "wildfeed/log.h"

int wf_tfb_device_parse(const char *name, wf_tfb_device *out, wf_error *err)
{
    static const char *const names[] = {"auto", "cpu", "cuda"};
    for (int i = 0; i < 3; i++)
        if (!name || strcmp(name, names[i]) == 0) {
            *out = name ? (wf_tfb_device)i : WF_TFB_AUTO;
            return 0;
        }
    return wf_error_set(err, WF_EINVAL, "model.device: \"%s\" is not auto, cpu or cuda", name);
}

const char *wf_tfb_device_name(wf_tfb_device d)
{
    return d == WF_TFB_CUDA ? "cuda" : d == WF_TFB_CPU ? "cpu" : "auto";
}

int wf_tfb_device_resolve(wf_tfb_device d, int *use, wf_error *err)
{
    int gpus = d == WF_TFB_CPU ? 0 : wf_cuda_device_count();
    *use = gpus > 0;
    if (d == WF_TFB_CUDA && !gpus)
        return wf_error_set(err, WF_EINVAL,
                            "model.device is cuda but no CUDA device is usable%s; set "
                            "model.device=auto or cpu to run on the CPU",
                            WF_HAVE_CUDA ? "" : " (this build has no CUDA support)");
    return 0;
}

wf_tfb_base *wf_tfb_base_ref(wf_tfb_base *b)
{
    atomic_fetch_add(&b->refs, 1);
    return b;
}

wf_cuda_model *wf_tfb_gpu(const wf_tfb_base *b)
{
    return atomic_load(&b->gpu_lost) ? NULL : b->cm;
}

/* Marks b's GPU lost, logging it once. */
static void mark_lost(wf_tfb_base *b)
{
    if (atomic_exchange(&b->gpu_lost, 1) == 0)
        wf_log(WF_LOG_ERROR,
               "GPU lost: the transformer scores on the CPU and trains no more until a restart",
               "base", b->dir, NULL);
}

int wf_tfb_gpu_failed(wf_tfb_base *b)
{
    if (!b->cm || !wf_cuda_model_lost(b->cm))
        return 0;
    mark_lost(b);
    return 1;
}

void wf_tfb_base_unref(wf_tfb_base *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    wf_cuda_model_free(b->cm);
    wf_tf_free(b->m);
    wf_tokenizer_free(b->tok);
    wf_template_free(b->tpl);
    free(b->dir);
    free(b);
}

static int dir_file(const char *dir, const char *name, char *path, size_t cap, wf_error *err)
{
    if ((size_t)snprintf(path, cap, "%s/%s", dir, name) >= cap)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    return 0;
}

/* The absolute directory and the config's checksum, checked against the
 * one the adapters were trained with before gigabytes are read. */
static int identify(wf_tfb_base *b, const wf_tfb_base_opts *o, wf_error *err)
{
    if (!o->dir || !*o->dir)
        return wf_error_set(err, WF_EINVAL,
                            "model.base is empty: the transformer backend needs a Hugging Face "
                            "model directory");
    if (!(b->dir = realpath(o->dir, NULL)))
        return wf_error_set(err, errno == ENOENT ? WF_ENOTFOUND : WF_EIO, "base model %s: %s",
                            o->dir, strerror(errno));
    char path[4096];
    int rc = dir_file(b->dir, "config.json", path, sizeof path, err);
    if (rc == 0)
        rc = wf_sha256_file(path, b->config_sha, err);
    if (rc == 0 && o->expect && strcmp(o->expect, b->config_sha) != 0)
        rc = wf_error_set(err, WF_ESTATE,
                          "base model %s changed since the adapters were trained: config.json "
                          "sha256 is %.16s..., %s records %.16s...",
                          b->dir, b->config_sha, WF_TFB_FILE, o->expect);
    return rc;
}

static int load_tokenizer(wf_tfb_base *b, wf_error *err)
{
    char path[4096];
    int rc = dir_file(b->dir, "tokenizer.json", path, sizeof path, err);
    if (rc == 0)
        rc = wf_tokenizer_load(path, &b->tok, err);
    if (rc < 0)
        return rc;
    /* An id past the embedding table would fail every forward pass. */
    size_t vocab = wf_tokenizer_vocab_size(b->tok);
    if (vocab > (size_t)wf_tf_model_config(b->m)->vocab)
        return wf_error_set(err, WF_EINVAL,
                            "base model %s: tokenizer.json has %zu ids, the model's vocab_size "
                            "is %d",
                            b->dir, vocab, wf_tf_model_config(b->m)->vocab);
    b->tpl = wf_template_load(NULL, err);
    return b->tpl ? 0 : WF_ENOMEM;
}

/* Under auto a GPU that cannot take the model leaves it on the CPU; under
 * cuda that is an error. */
static int upload(wf_tfb_base *b, wf_error *err)
{
    wf_cuda_opts co = {.device = 0, .token_budget = b->token_budget};
    wf_error e = {0};
    /* The GPU path runs a sequence within one batch. */
    int rc = b->max_len <= b->token_budget
                 ? wf_cuda_model_new(b->m, &co, &b->cm, &e)
                 : wf_error_set(&e, WF_EINVAL, "model.max_len %zu exceeds model.token_budget %zu",
                                b->max_len, b->token_budget);
    if (rc == 0 || b->device == WF_TFB_CUDA)
        return rc == 0 ? 0 : wf_error_set(err, rc, "%s", e.msg);
    b->cm = NULL;
    if (wf_cuda_device_lost(co.device)) { /* an earlier fault, not this model's size */
        mark_lost(b);
        return 0;
    }
    wf_log(WF_LOG_WARN, "transformer base stays on the CPU", "base", b->dir, "error", e.msg, NULL);
    return 0;
}

static void log_loaded(const wf_tfb_base *b)
{
    char dev[128] = "cpu";
    if (b->cm) {
        char name[96];
        wf_cuda_device_name(0, name, sizeof name);
        snprintf(dev, sizeof dev, "cuda:0 %s", name);
    }
    char layers[16];
    snprintf(layers, sizeof layers, "%d", wf_tf_model_config(b->m)->layers);
    wf_log(WF_LOG_INFO, "transformer base loaded", "base", b->dir, "layers", layers, "device", dev,
           NULL);
}

int wf_tfb_base_load(const wf_tfb_base_opts *o, wf_tfb_base **out, wf_error *err)
{
    *out = NULL;
    int use_cuda;
    int rc = wf_tfb_device_resolve(o->device, &use_cuda, err);
    if (rc < 0)
        return rc;
    wf_tfb_base *b = calloc(1, sizeof *b);
    if (!b)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    atomic_init(&b->refs, 1);
    b->device = o->device;
    b->max_len = o->max_len ? o->max_len : WF_TF_DEFAULT_MAX_LEN;
    b->token_budget = o->token_budget ? o->token_budget : WF_CUDA_DEFAULT_TOKEN_BUDGET;
    rc = identify(b, o, err);
    wf_tf_load_opts lo = {.max_len = b->max_len, .head_seed = o->head_seed};
    if (rc == 0)
        rc = wf_tf_load_dir(b->dir, &lo, &b->m, err);
    if (rc == 0)
        rc = load_tokenizer(b, err);
    if (rc == 0 && use_cuda)
        rc = upload(b, err);
    if (rc < 0) {
        wf_tfb_base_unref(b);
        return rc;
    }
    log_loaded(b);
    *out = b;
    return 0;
}

/* Checks the file on disk, not only the path: a base replaced in place
 * since like was loaded is not reused. */
wf_tfb_base *wf_tfb_base_reuse(const wf_model *like, const wf_tfb_base_opts *o)
{
    const wf_tfb_model *l = wf_tfb_of(like);
    if (!l || !o->dir || !*o->dir)
        return NULL;
    wf_tfb_base *b = l->base;
    char *dir = realpath(o->dir, NULL), path[4096], sha[WF_SHA256_HEX];
    int same = dir && strcmp(dir, b->dir) == 0 &&
               dir_file(dir, "config.json", path, sizeof path, NULL) == 0 &&
               wf_sha256_file(path, sha, NULL) == 0 && strcmp(sha, b->config_sha) == 0;
    free(dir);
    size_t max_len = o->max_len ? o->max_len : WF_TF_DEFAULT_MAX_LEN;
    size_t budget = o->token_budget ? o->token_budget : WF_CUDA_DEFAULT_TOKEN_BUDGET;
    /* auto takes the device the served base landed on: where it could not
     * go to the GPU, a second copy would not either. */
    int device_ok = o->device == WF_TFB_AUTO || (o->device == WF_TFB_CUDA) == (b->cm != NULL);
    if (!same || b->max_len < max_len || b->token_budget != budget || !device_ok)
        return NULL;
    return wf_tfb_base_ref(b);
}
