/* LoRA fine-tuning of the transformer reward model (issue 6): the ordinal
 * loss, the CPU forward+backward pass, the AdamW optimiser with its
 * schedule, and the training loop, which drives an engine (the CPU here,
 * or the CUDA path of kernels/) so both share one loop. */
#ifndef WF_TF_TRAIN_H
#define WF_TF_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "model_transformer/adapter.h"
#include "wildfeed/model.h"

/* The loss of one sample: the mean over the three thresholds of the binary
 * cross-entropy of z[k] against (label > k + 1), as the linear model's.
 * dz[k] = d loss / d z[k]. */
double wf_tf_ordinal_loss(const float z[3], int label, float dz[3]);

/* A batch of labelled token sequences (packed one after another, as
 * wf_tf_forward does). */
typedef struct wf_tf_batch {
    const int32_t *const *ids;
    const size_t *lens;
    const int *labels; /* 1..4 */
    size_t n;
} wf_tf_batch;

/* Forward and backward on the CPU (grad.c): adds scale * d(sum of the
 * batch's sample losses)/d(params) into grad[ad->n_params] and sets
 * *loss_sum to the sum of the sample losses. LoRA dropout masks come from
 * dropout_seed through dropout.h's draws, so the CUDA path can
 * draw the same ones. Only the residual stream entering each layer is kept;
 * a layer's inner activations are recomputed during its backward step. */
int wf_tf_grad(const wf_tf_model *m, const wf_tf_adapter *ad, const wf_tf_batch *b,
               uint64_t dropout_seed, float scale, float *grad, double *loss_sum, wf_error *err);

/* AdamW (optim.c). */
typedef struct wf_tf_optim_opts {
    double lr; /* peak learning rate */
    double beta1, beta2, eps;
    double weight_decay;  /* decoupled, on params[0 .. n_decay) */
    double warmup_ratio;  /* of total_steps: linear warm-up from 0 */
    double max_grad_norm; /* global-norm clipping; 0 = none */
    size_t total_steps;   /* cosine decay to 0 at total_steps */
} wf_tf_optim_opts;

/* lr 2e-4, betas 0.9 and 0.999, eps 1e-8, no decay, warm-up 0.05, clip
 * 1.0, total_steps 1. */
void wf_tf_optim_defaults(wf_tf_optim_opts *o);
/* The learning rate of step (0-based): lr * (step + 1) / warmup during the
 * warm-up steps, then lr * (1 + cos(pi * progress)) / 2 over the rest. */
double wf_tf_lr_at(const wf_tf_optim_opts *o, size_t step);
/* The global L2 norm of g[0..n), in double. */
double wf_tf_grad_norm(const float *g, size_t n);

/* Moments of n parameters; owned by the caller (wf_tf_adamw_free). */
typedef struct wf_tf_adamw {
    wf_tf_optim_opts o;
    size_t n, step;
    float *m, *v;
} wf_tf_adamw;

int wf_tf_adamw_init(wf_tf_adamw *a, const wf_tf_optim_opts *o, size_t n, wf_error *err);
void wf_tf_adamw_free(wf_tf_adamw *a);
/* Clips grad to o.max_grad_norm, then one AdamW step at learning rate lr
 * (bias-corrected moments; decoupled decay lr * weight_decay on params[0 ..
 * n_decay)). Returns the norm before clipping. grad is left scaled. */
double wf_tf_adamw_step(wf_tf_adamw *a, float *params, float *grad, size_t n_decay, double lr);

/* An engine runs the numeric work of training on one device. The loop
 * calls accumulate once per micro-batch, step once per optimiser step,
 * forward for the eval loss, and download to copy the trained values out. */
typedef struct wf_tf_engine_ops {
    const char *device; /* "cpu", "cuda" */
    /* Adds scale * gradient of the micro-batch's loss sum to the engine's
     * gradient buffer; *loss_sum = the micro-batch's loss sum. */
    int (*accumulate)(void *ctx, const wf_tf_batch *b, uint64_t dropout_seed, float scale,
                      double *loss_sum, wf_error *err);
    /* Clip, AdamW at lr, zero the gradient buffer; *grad_norm = the norm
     * before clipping. */
    int (*step)(void *ctx, double lr, double *grad_norm, wf_error *err);
    /* Logits of the current values, no dropout. */
    int (*forward)(void *ctx, const int32_t *const *ids, const size_t *lens, size_t n,
                   float *logits, wf_error *err);
    /* Copies the current values into ad->params (same layout). */
    int (*download)(void *ctx, wf_tf_adapter *ad, wf_error *err);
    void (*destroy)(void *ctx);
} wf_tf_engine_ops;

typedef struct wf_tf_engine {
    const wf_tf_engine_ops *ops;
    void *ctx;
} wf_tf_engine;

/* The CPU engine (engine_cpu.c): trains ad's values in place with
 * wf_tf_grad and wf_tf_adamw. m and ad are borrowed and must outlive it. */
int wf_tf_engine_cpu(const wf_tf_model *m, wf_tf_adapter *ad, const wf_tf_optim_opts *o,
                     wf_tf_engine *out, wf_error *err);

/* One labelled, tokenised training example. */
typedef struct wf_tf_seq {
    const int32_t *ids;
    size_t len;
    int label; /* 1..4 */
} wf_tf_seq;

typedef struct wf_tf_train_opts {
    int epochs;                  /* passes over train at most */
    int patience;                /* epochs without a better eval loss before stopping */
    size_t micro_batch;          /* samples per accumulate call */
    size_t accum;                /* micro-batches per optimiser step */
    uint64_t seed;               /* shuffles and dropout */
    wf_tf_optim_opts optim;      /* total_steps is filled in by wf_tf_train */
    int (*cancelled)(void *ctx); /* may be NULL: see wf_train_opts */
    void *cancel_ctx;
} wf_tf_train_opts;

/* Trains ad (its values start the run and receive the result: the epoch of
 * the best eval loss, or the last epoch when eval is empty) through the
 * engine made by make_engine for the filled-in optimiser options. The
 * shuffle is seeded, so a run is deterministic for a given seed and data. */
typedef int (*wf_tf_engine_maker)(void *arg, wf_tf_adapter *ad, const wf_tf_optim_opts *o,
                                  wf_tf_engine *out, wf_error *err);
int wf_tf_train(wf_tf_adapter *ad, const wf_tf_seq *train, size_t n_train, const wf_tf_seq *eval,
                size_t n_eval, const wf_tf_train_opts *o, wf_tf_engine_maker make_engine,
                void *make_arg, wf_train_report *report, wf_error *err);

/* Model FLOPs of a forward pass over sequences of the given lengths (matrix
 * products only, causal attention counted at half); training counts 3x. */
double wf_tf_forward_flops(const wf_tf_config *c, const size_t *lens, size_t n);

#endif
