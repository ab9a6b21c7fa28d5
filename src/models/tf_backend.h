/* The `transformer` backend of wf_model (DESIGN §6): glue between the model
 * interface and plugins/model_transformer (base model, tokenizer, LoRA
 * adapters, training loop) and kernels/ (the CUDA path).
 *
 * A model directory holds only what a retrain produces: adapter_config.json
 * and adapter_model.safetensors (PEFT's format) and transformer.json, which
 * names the base model directory (absolute path), the sha256 of its
 * config.json, max_len and the device settings. The base weights stay in
 * the base directory and are loaded from there.
 *
 * The base (weights, tokenizer, template, GPU copy) is shared between every
 * model trained on it through a reference count, so a hot swap reads and
 * uploads only adapters and head. Internal to src/models and its tests. */
#ifndef WF_MODELS_TF_BACKEND_H
#define WF_MODELS_TF_BACKEND_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "feedback/template.h"
#include "model/sha256.h"
#include "model_transformer/adapter.h"
#include "model_transformer/tokenizer.h"
#include "model_transformer/transformer.h"
#include "models/tf_batcher.h"
#include "wf_cuda.h"
#include "wildfeed/model.h"

#define WF_TFB_FILE "transformer.json"
#define WF_TFB_FORMAT "wildfeed-transformer/1"

typedef enum wf_tfb_device { WF_TFB_AUTO = 0, WF_TFB_CPU, WF_TFB_CUDA } wf_tfb_device;

/* "auto", "cpu", "cuda"; NULL is auto. WF_EINVAL names model.device. */
int wf_tfb_device_parse(const char *name, wf_tfb_device *out, wf_error *err);
const char *wf_tfb_device_name(wf_tfb_device d);
/* *use = 1 when d runs on the GPU here: auto finds one, cuda demands one
 * (WF_EINVAL without), cpu never. */
int wf_tfb_device_resolve(wf_tfb_device d, int *use, wf_error *err);

typedef struct wf_tfb_base_opts {
    const char *dir;    /* the base model directory */
    const char *expect; /* sha256 hex its config.json must have, or NULL */
    size_t max_len;
    wf_tfb_device device;
    size_t token_budget;
    uint64_t head_seed; /* wf_tf_load_opts.head_seed: the head training starts from */
} wf_tfb_base_opts;

/* A loaded base; read-only once loaded but for gpu_lost, freed with its
 * last reference. */
typedef struct wf_tfb_base {
    atomic_uint refs;
    char *dir;                      /* absolute path */
    char config_sha[WF_SHA256_HEX]; /* of dir/config.json as loaded */
    size_t max_len;                 /* longest sequence the weights accept */
    wf_tfb_device device;           /* the setting it was loaded under */
    size_t token_budget;
    wf_tf_model *m;
    wf_tokenizer *tok;   /* dir/tokenizer.json */
    wf_template *tpl;    /* the default WildReward template */
    wf_cuda_model *cm;   /* NULL on the CPU */
    atomic_int gpu_lost; /* the GPU failed for good: the CPU scores, nothing trains */
} wf_tfb_base;

/* Loads the base (one reference, the caller's). A config.json whose sha256
 * differs from o->expect is WF_ESTATE, before any weight is read. */
int wf_tfb_base_load(const wf_tfb_base_opts *o, wf_tfb_base **out, wf_error *err);
wf_tfb_base *wf_tfb_base_ref(wf_tfb_base *b);
/* The device model scoring and training use: b->cm, or NULL on the CPU
 * and once the GPU is lost. */
wf_cuda_model *wf_tfb_gpu(const wf_tfb_base *b);
/* After a GPU call failed: 1 when the device is lost (the first caller to
 * find out marks it and logs it), so that the caller redoes the work on
 * the CPU, whose weights the base keeps; 0 when the failure was the call's
 * own. A base loaded after the loss is marked at load. */
int wf_tfb_gpu_failed(wf_tfb_base *b);
void wf_tfb_base_unref(wf_tfb_base *b);

/* The token ids of one input, appended to out (owned by the caller).
 * Parts are rendered with the default template; a text is used as given.
 * What fits in max_len is tokenized whole, as Hugging Face's tokenizer
 * does with the rendered text. A longer input is tokenized piece by piece
 * (template text, history, query, response), the history cut from its
 * oldest tokens and then the query from its start (wf_tf_truncate); a text
 * is split into those pieces at the template's section headers. The
 * template text and the response are never cut: when they alone exceed
 * max_len the input is WF_EINVAL. */
int wf_tfb_encode(const wf_tfb_base *b, size_t max_len, const wf_model_input *in, wf_token_ids *out,
                  wf_error *err);

/* What a transformer wf_model's impl points at. */
typedef struct wf_tfb_model {
    wf_tfb_base *base;       /* one reference */
    wf_tf_adapter *ad;       /* owned */
    wf_cuda_adapter *ca;     /* owned; NULL on the CPU */
    wf_tfb_batcher *batcher; /* owned: concurrent score calls share batches */
    size_t max_len;
} wf_tfb_model;

/* A wf_model over base (the caller's reference is taken over) and ad
 * (ownership taken), uploading ad when the base is on the GPU. Both are
 * released on failure. */
int wf_tfb_model_new(wf_tfb_base *base, wf_tf_adapter *ad, size_t max_len, wf_model **out,
                     wf_error *err);
/* m's transformer part, or NULL when m is another backend's. */
const wf_tfb_model *wf_tfb_of(const wf_model *m);

/* The backend's entries in src/models/models.c's table. */
extern const char *const wf_transformer_files[];
int wf_transformer_load(const char *dir, const wf_model *like, wf_model **out, wf_error *err);
int wf_transformer_train(const wf_model *like, const wf_example *train, size_t n_train,
                         const wf_example *eval, size_t n_eval, const wf_train_opts *o,
                         wf_model **out, wf_train_report *report, wf_error *err);
/* A new reference to like's base when it is the base o asks for (same
 * directory, config.json unchanged on disk, long enough sequences, same
 * token budget, and a device o's setting accepts); NULL when it is not. */
wf_tfb_base *wf_tfb_base_reuse(const wf_model *like, const wf_tfb_base_opts *o);

#endif
