/* What LoRA fine-tuning trains (issue 6): low-rank adapters on chosen
 * projections of every layer, and the ordinal head. The base weights stay
 * frozen and shared, so a retrained model is only this (megabytes), and a
 * hot swap replaces only this.
 *
 * A projection y = x W^T becomes y = x W^T + s * (drop(x) A^T) B^T, with
 * A [rank, in], B [out, rank] and s = alpha / rank, as PEFT's LoRA layers do.
 *
 * All trainable values live in one flat array, params, in a fixed order
 * (layer by layer, projection by projection in wf_tf_proj order, A then B;
 * then the head weights; then the head biases), so the optimiser, gradient
 * clipping and the CUDA path see one vector. A wf_tf_adapter is owned by
 * whoever created or loaded it (wf_tf_adapter_free); it is read-only while
 * forward passes use it. */
#ifndef WF_TF_ADAPTER_H
#define WF_TF_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "model_transformer/transformer.h"
#include "wildfeed/model.h"

typedef enum wf_tf_proj {
    WF_TF_Q = 0,
    WF_TF_K,
    WF_TF_V,
    WF_TF_O,
    WF_TF_GATE,
    WF_TF_UP,
    WF_TF_DOWN,
    WF_TF_NPROJ
} wf_tf_proj;

/* "q_proj", "k_proj", ... as PEFT's target_modules name them. */
const char *wf_tf_proj_name(wf_tf_proj p);
/* Parses a comma-separated list of projection names (or "all") into a
 * bit set (1u << wf_tf_proj); WF_EINVAL names an unknown one. */
int wf_tf_proj_parse(const char *list, unsigned *targets, wf_error *err);
/* The in and out widths of projection p under c. */
void wf_tf_proj_dims(const wf_tf_config *c, wf_tf_proj p, size_t *in, size_t *out);

typedef struct wf_tf_lora_opts {
    int rank;         /* >= 1 */
    double alpha;     /* scale s = alpha / rank */
    double dropout;   /* on the adapter's input while training, [0, 1) */
    unsigned targets; /* bit set of wf_tf_proj; may be 0 (head only) */
} wf_tf_lora_opts;

typedef struct wf_tf_lora {
    float *a; /* [rank, in]; NULL when the projection is not a target */
    float *b; /* [out, rank] */
} wf_tf_lora;

typedef struct wf_tf_adapter {
    wf_tf_lora_opts lora;
    wf_head_kind head;
    int layers, hidden;
    wf_tf_lora (*proj)[WF_TF_NPROJ]; /* [layers][WF_TF_NPROJ], pointers into params */
    /* coral: head_w[hidden], logit k = w.x + head_b[k]; independent:
     * head_w[3 * hidden], logit k = w_k.x + head_b[k]. */
    float *head_w, *head_b;
    float *params; /* owned: every trainable value */
    size_t n_params;
    size_t n_decay; /* params[0 .. n_decay) take weight decay; the head biases do not */
} wf_tf_adapter;

/* A new adapter for base m: A drawn uniform in +-1/sqrt(in) from seed (as
 * PEFT's Kaiming init), B zero, so the adapted model starts as the base.
 * The head starts from m's head (independent: copied; coral: the mean of
 * its rows, biases copied). */
int wf_tf_adapter_new(const wf_tf_model *m, const wf_tf_lora_opts *o, wf_head_kind head,
                      uint64_t seed, wf_tf_adapter **out, wf_error *err);
/* A deep copy (to keep the best epoch while training goes on). */
int wf_tf_adapter_clone(const wf_tf_adapter *src, wf_tf_adapter **out, wf_error *err);
void wf_tf_adapter_free(wf_tf_adapter *ad);

/* The adapter's logits for the pooled, final-normed row x[hidden]. */
void wf_tf_head_apply(const wf_tf_adapter *ad, const float *x, float z[3]);

/* wf_tf_forward with adapters and head from ad (NULL: the base model's own
 * head and no adapters). No dropout: this is the scoring path. */
int wf_tf_forward_adapted(const wf_tf_model *m, const wf_tf_adapter *ad, const int32_t *const *ids,
                          const size_t *lens, size_t n, float *logits, wf_error *err);

#endif
