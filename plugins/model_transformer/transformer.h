/* The transformer reward model's CPU reference path (DESIGN §6): a Hugging
 * Face model directory of the Qwen3 / Qwen2 / Llama families (config.json,
 * model.safetensors or a sharded index), a decoder forward pass in fp32 with
 * OpenBLAS, pooled at the last token of each sequence, and an ordinal head of
 * WF_LOGITS outputs.
 *
 * A wf_tf_model is owned by the caller of wf_tf_load_dir (wf_tf_free). Once
 * loaded it is read-only: forward passes allocate their own scratch, so any
 * number of threads may run them at once. */
#ifndef WF_MODEL_TRANSFORMER_H
#define WF_MODEL_TRANSFORMER_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/err.h"

#define WF_TF_DEFAULT_MAX_LEN 4096

typedef enum wf_tf_arch { WF_TF_LLAMA = 0, WF_TF_QWEN2, WF_TF_QWEN3 } wf_tf_arch;

typedef enum wf_tf_rope_kind {
    WF_TF_ROPE_DEFAULT = 0,
    WF_TF_ROPE_LINEAR, /* positions divided by factor */
    WF_TF_ROPE_LLAMA3  /* Llama 3.1's banded frequency scaling */
} wf_tf_rope_kind;

typedef struct wf_tf_rope {
    wf_tf_rope_kind kind;
    double theta;
    double factor;                            /* linear, llama3 */
    double low_freq_factor, high_freq_factor; /* llama3 */
    double original_max_position_embeddings;  /* llama3 */
} wf_tf_rope;

/* What config.json says, validated. */
typedef struct wf_tf_config {
    wf_tf_arch arch;
    int seq_cls; /* *ForSequenceClassification: a score head may be present */
    int hidden, layers, heads, kv_heads, head_dim, intermediate, vocab;
    double rms_eps;
    wf_tf_rope rope;
    int tie_word_embeddings;
    int num_labels;   /* from id2label, else num_labels, else 2 (HF's default) */
    int pad_token_id; /* -1 when absent or null */
    int qk_norm;      /* Qwen3: per-head RMSNorm of q and k before RoPE */
    int qkv_bias;     /* Qwen2: biases on the q, k and v projections */
} wf_tf_config;

/* Parses config.json bytes; what names the source in errors, which name the
 * offending key. */
int wf_tf_config_parse(const char *json, size_t len, const char *what, wf_tf_config *out,
                       wf_error *err);
int wf_tf_config_load(const char *path, wf_tf_config *out, wf_error *err);

typedef struct wf_tf_load_opts {
    size_t max_len; /* longest sequence forward accepts; 0 = WF_TF_DEFAULT_MAX_LEN */
    /* A new head (causal-LM checkpoints, or a score weight that is not
     * WF_LOGITS wide): zero when head_seed is 0, else small deterministic
     * random weights drawn from head_seed. */
    uint64_t head_seed;
} wf_tf_load_opts;

typedef struct wf_tf_model wf_tf_model;

/* Loads dir/config.json and dir/model.safetensors, or the shards named by
 * dir/model.safetensors.index.json; every tensor is checked for presence and
 * exact shape and converted to fp32. opts may be NULL (defaults). */
int wf_tf_load_dir(const char *dir, const wf_tf_load_opts *opts, wf_tf_model **out, wf_error *err);
void wf_tf_free(wf_tf_model *m);

const wf_tf_config *wf_tf_model_config(const wf_tf_model *m);
size_t wf_tf_model_max_len(const wf_tf_model *m);
/* 1 when the head came from the checkpoint's score weight. */
int wf_tf_model_head_from_checkpoint(const wf_tf_model *m);

/* Runs n token sequences (ids[i][0..lens[i]), 1 <= lens[i] <= max_len, ids
 * in [0, vocab)) through the decoder and the head: logits[n * 3]. Each
 * sequence is pooled at its last token, and sequences never see each other,
 * so a sequence's logits do not depend on what it is batched with. */
int wf_tf_forward(const wf_tf_model *m, const int32_t *const *ids, const size_t *lens, size_t n,
                  float *logits, wf_error *err);

/* Truncation (issue 6): the history goes first, oldest tokens first; then
 * the query, from its start; never the response. */
typedef struct wf_tf_keep {
    size_t history_from; /* keep history[history_from .. n_history) */
    size_t query_from;   /* keep query[query_from .. n_query) */
    size_t total;        /* tokens kept, <= max_len */
} wf_tf_keep;

/* WF_EINVAL when the response alone is longer than max_len. */
int wf_tf_truncate(size_t n_history, size_t n_query, size_t n_response, size_t max_len,
                   wf_tf_keep *keep, wf_error *err);

#endif
