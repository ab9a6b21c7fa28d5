/* Reward models (DESIGN §6): one interface for every backend. A model scores
 * a batch of inputs into K-1 = 3 ordinal logits z_k for P(y > k); the reward
 * is 1 + sum sigmoid(z_k), in [1, 4]. Heads: CORAL (one weight vector and
 * three biases: rank-consistent) and independent (three vectors, the layout
 * of the released WildReward weights).
 *
 * A wf_model is owned by whoever loaded or trained it (wf_model_free); once
 * built it is read-only, so any number of threads may score with it at once.
 * Backends: "linear" (plugins/model_linear) and "transformer" (a Hugging
 * Face base model with LoRA adapters and an ordinal head; src/models). */
#ifndef WILDFEED_MODEL_H
#define WILDFEED_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/config.h"
#include "wildfeed/err.h"
#include "wildfeed/event.h"

#define WF_LABELS 4 /* ordinal labels 1..4 */
#define WF_LOGITS 3 /* thresholds: y > 1, y > 2, y > 3 */

typedef enum wf_head_kind { WF_HEAD_CORAL = 0, WF_HEAD_INDEPENDENT } wf_head_kind;

/* Parses "coral" / "independent"; -1 when unknown. */
int wf_head_parse(const char *name);
const char *wf_head_name(wf_head_kind h);

/* What a model scores. Either the parts (history, query, response) or only
 * text, a model input already rendered with the template (what /get_reward
 * receives); backends that need the parts recover them from the default
 * template's section headers. All strings borrowed for the call. */
typedef struct wf_model_input {
    const wf_msg *history;
    size_t n_history;
    const char *query;    /* NULL when only text is given */
    const char *response; /* NULL when only text is given */
    const char *text;     /* NULL when the parts are given */
} wf_model_input;

/* Reward from logits: 1 + sum sigmoid(z_k). */
double wf_reward(const float z[WF_LOGITS]);
/* Class probabilities p[0..3] for labels 1..4: p1 = 1-s1, p2 = s1-s2,
 * p3 = s2-s3, p4 = s3. An independent head can make a difference negative;
 * it is clipped to 0 and the four renormalised. */
void wf_class_probs(const float z[WF_LOGITS], double p[WF_LABELS]);
/* The most probable label, 1..4. */
int wf_predicted_label(const float z[WF_LOGITS]);

typedef struct wf_model wf_model;

typedef struct wf_model_ops {
    const char *kind;
    /* Scores n inputs into logits[n * WF_LOGITS]. */
    int (*score)(const wf_model *m, const wf_model_input *in, size_t n, float *logits,
                 wf_error *err);
    /* Writes the model's weight files into dir (which exists); returns the
     * names written, for the registry's checksums, as a NULL-terminated
     * static list. */
    int (*save)(const wf_model *m, const char *dir, wf_error *err);
    const char *const *(*files)(const wf_model *m);
    void (*destroy)(wf_model *m);
    /* Why the model serves below what it was loaded for (a static string:
     * its GPU was lost and the CPU took over), or NULL when it does not. */
    const char *(*degraded)(const wf_model *m);
    /* 1 when a score call may take long or wait for other requests (the
     * transformer: hundreds of ms on a CPU, a shared batch on a GPU): the
     * scoring server runs it on its scoring threads. 0 (the linear model:
     * microseconds an input) scores on the HTTP thread that read the
     * request, which saves a hand-off of about 0.1 ms. */
    int slow;
} wf_model_ops;

struct wf_model {
    const wf_model_ops *ops;
    wf_head_kind head;
    void *impl;
};

/* Why m serves below what it was loaded for, or NULL (see ops.degraded). */
static inline const char *wf_model_degraded(const wf_model *m)
{
    return m->ops->degraded ? m->ops->degraded(m) : NULL;
}

static inline int wf_model_score(const wf_model *m, const wf_model_input *in, size_t n,
                                 float *logits, wf_error *err)
{
    return m->ops->score(m, in, n, logits, err);
}
void wf_model_free(wf_model *m);

/* A labelled example for training and evaluation; borrowed strings. */
typedef struct wf_example {
    wf_model_input in;
    int label; /* 1..4 */
} wf_example;

typedef struct wf_train_opts {
    wf_head_kind head;
    uint64_t seed;
    int epochs, batch, patience, hash_bits;
    double lr, l2;
    /* The transformer backend (model.base, model.max_len, model.device,
     * model.token_budget, model.lora.*, train.lora.*). The strings are
     * borrowed: from the wf_config they were read from, which must outlive
     * the options, or from the caller. max_len and token_budget 0 and
     * device NULL mean the keys' defaults (4096, 16384, auto), lora_targets
     * NULL all projections; the other values must be set (as the keys'
     * bounds allow), and base is required. */
    const char *base;         /* Hugging Face model directory */
    const char *device;       /* "auto", "cpu" or "cuda" */
    const char *lora_targets; /* comma-separated projection names, or "all" */
    size_t max_len, token_budget;
    int lora_rank;
    double lora_alpha, lora_dropout;
    double lora_lr, lora_warmup_ratio, lora_weight_decay, lora_max_grad_norm;
    int lora_epochs, lora_micro_batch, lora_accum;
    /* May be NULL. Once it returns non-zero, training stops before its next
     * optimiser step (linear: epoch) with WF_ECANCELED, so that a shutdown
     * need not wait for a run of hours. Called from the training thread. */
    int (*cancelled)(void *ctx);
    void *cancel_ctx;
} wf_train_opts;

/* 1 when o has a cancel callback and it says so. */
static inline int wf_train_cancelled(const wf_train_opts *o)
{
    return o->cancelled && o->cancelled(o->cancel_ctx);
}

/* The model.* and train.* keys of cfg (strings borrowed from cfg). */
void wf_train_opts_from_config(wf_train_opts *o, const wf_config *cfg);

typedef struct wf_train_report {
    int epochs_run;
    double train_loss, eval_loss; /* mean ordinal BCE at the kept epoch */
    double seconds;
    size_t samples;
} wf_train_report;

/* Trains a new model of backend kind on train, stopping early on the eval
 * loss (eval may be empty: then all epochs run). Deterministic for a given
 * seed and data order. *out is the caller's. */
int wf_model_train(const char *kind, const wf_example *train, size_t n_train,
                   const wf_example *eval, size_t n_eval, const wf_train_opts *o, wf_model **out,
                   wf_train_report *report, wf_error *err);
/* The same, reusing what it can of like, the model being served (NULL:
 * nothing): a transformer over the same base trains on like's base weights
 * and GPU copy instead of loading a second one. like is only borrowed for
 * the call; the result holds its own reference to anything shared. */
int wf_model_train_like(const char *kind, const wf_model *like, const wf_example *train,
                        size_t n_train, const wf_example *eval, size_t n_eval,
                        const wf_train_opts *o, wf_model **out, wf_train_report *report,
                        wf_error *err);

/* Loads the model in dir (its meta.json names the backend). Weight files are
 * validated before use; a corrupt or truncated file is an error. */
int wf_model_load_dir(const char *dir, wf_model **out, wf_error *err);
/* The validation of wf_model_load_dir alone: meta.json names a known
 * backend and every file matches its sha256. Reads every file, loads
 * nothing. */
int wf_model_check_dir(const char *dir, wf_error *err);

/* wf_model_load_dir for a hot swap: when like (borrowed, may be NULL) is a
 * transformer over the same base (same directory, same config.json sha256)
 * the new model shares like's base (tokenizer, weights, GPU copy) instead
 * of reading it again, and only its adapters and head are read. The shared
 * base is reference-counted, so like may be freed before or after *out.
 * Other backends ignore like. */
int wf_model_load_dir_like(const char *dir, const wf_model *like, wf_model **out, wf_error *err);

#endif
