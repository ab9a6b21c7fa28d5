/* The CUDA path of the transformer reward model (issue 7), behind a plain C
 * header. When CMake finds nvcc the .cu files of this folder implement it;
 * otherwise none.c does, reporting no device, so every caller falls back to
 * the CPU path. The same happens at run time on a machine with no GPU.
 *
 * Numerics: cuBLAS for every matrix product with bf16 inputs and fp32
 * accumulation; base weights in bf16, uploaded once; the trained values
 * (adapters and head) kept in fp32 masters with bf16 copies for the
 * products. Results match the CPU reference (model_transformer) to about
 * 1e-2 relative. */
#ifndef WF_CUDA_H
#define WF_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "model_transformer/adapter.h"
#include "model_transformer/train.h"
#include "wildfeed/err.h"

/* Usable CUDA devices: 0 when built without CUDA or when the driver finds
 * none. */
int wf_cuda_device_count(void);
/* The name of device dev, "" when there is none. */
void wf_cuda_device_name(int dev, char *buf, size_t cap);
/* 1 when device dev can run nothing more in this process: its context was
 * poisoned by an earlier fault (see wf_cuda_model_lost). Waits for the
 * device's work. 0 without a device. */
int wf_cuda_device_lost(int dev);

#define WF_CUDA_DEFAULT_TOKEN_BUDGET 16384

typedef struct wf_cuda_opts {
    int device;
    /* Tokens per forward or backward batch at most: activations are
     * planned for this many; 0 = WF_CUDA_DEFAULT_TOKEN_BUDGET. A single
     * sequence longer than the budget is an error (WF_EINVAL). */
    size_t token_budget;
} wf_cuda_opts;

/* The device memory plan of a model, worked out on the host without a
 * device: what wf_cuda_model_new and a training engine would allocate for
 * it. For sizing, and for the tests of the plan (CI has no GPU). */
typedef struct wf_cuda_plan_in {
    const wf_tf_config *cfg;
    size_t max_len, token_budget; /* as wf_cuda_model_new takes them */
    int lora_rank;                /* of the trained adapters */
    unsigned lora_targets;        /* bit set of wf_tf_proj */
    float lora_dropout;
    int flash_fwd, flash_bwd; /* the attention paths the device allows */
    /* The device's free memory when training starts, after the model and
     * the trained adapter: what training's plan must fit in. */
    size_t free_bytes;
} wf_cuda_plan_in;

typedef struct wf_cuda_plan_out {
    size_t weights, scoring, workspace; /* wf_cuda_model_new's (and the base's tiny head) */
    size_t adapter;      /* the trained adapter's values, mirror and scoring buffer */
    size_t optimizer;    /* AdamW's moments */
    size_t train_tokens; /* tokens per packed training batch; 0 when none fits */
    size_t train_bytes;  /* the training store at train_tokens (or at the fewest tried) */
} wf_cuda_plan_out;

/* Fills out for in; WF_EINVAL for sizes wf_cuda_model_new or the adapters
 * refuse, WF_ESTATE in a build without CUDA. */
int wf_cuda_plan(const wf_cuda_plan_in *in, wf_cuda_plan_out *out, wf_error *err);

/* The base model on the device. Owned by its creator (wf_cuda_model_free,
 * after every adapter and engine made from it). Calls on one model are
 * serialised by its own lock, so it may be shared by threads. */
typedef struct wf_cuda_model wf_cuda_model;

/* Uploads m's weights once, in bf16, and allocates activations for the
 * token budget. When the plan does not fit the device's free memory it
 * fails with WF_ENOMEM and a message giving both sizes. m is only read
 * during the call. */
int wf_cuda_model_new(const wf_tf_model *m, const wf_cuda_opts *o, wf_cuda_model **out,
                      wf_error *err);
void wf_cuda_model_free(wf_cuda_model *cm);

/* 1 when cm's device can run nothing more: after a fault that poisons the
 * CUDA context (an illegal address, a hardware error), every later call
 * fails with it until the process ends. 0 when it still works, so that a
 * failed call's error was that call's own. Takes cm's lock. */
int wf_cuda_model_lost(wf_cuda_model *cm);

/* Adapters and head on the device: what a hot swap replaces. ad NULL means
 * no adapters and the base model's own head. Owned by the caller
 * (wf_cuda_adapter_free). */
typedef struct wf_cuda_adapter wf_cuda_adapter;
int wf_cuda_adapter_upload(wf_cuda_model *cm, const wf_tf_adapter *ad, wf_cuda_adapter **out,
                           wf_error *err);
void wf_cuda_adapter_free(wf_cuda_adapter *ca);

/* Scores n sequences as wf_tf_forward_adapted does: logits[n * 3]. The
 * sequences are packed and split into batches under the token budget. */
int wf_cuda_forward(wf_cuda_model *cm, const wf_cuda_adapter *ca, const int32_t *const *ids,
                    const size_t *lens, size_t n, float *logits, wf_error *err);

/* One batch's gradient, with the contract of wf_tf_grad (same dropout
 * masks): the check against the CPU reference uses it. */
int wf_cuda_grad(wf_cuda_model *cm, const wf_tf_adapter *ad, const wf_tf_batch *b,
                 uint64_t dropout_seed, float scale, float *grad, double *loss_sum, wf_error *err);

/* A training engine (train.h) on the device: fp32 masters of ad's values,
 * gradient accumulation, clipping and AdamW in kernels. ad is borrowed and
 * receives the values on download. */
int wf_cuda_engine(wf_cuda_model *cm, wf_tf_adapter *ad, const wf_tf_optim_opts *o,
                   wf_tf_engine *out, wf_error *err);
/* The tokens per packed batch a CUDA engine trains with and the device
 * bytes its activations take: the token budget, or a half, a quarter, ...
 * of it when the budget's activations do not fit the free memory (the
 * gradients are the same, the speed a little lower). 0 and 0 for any other
 * engine. */
void wf_cuda_engine_plan(const wf_tf_engine *e, size_t *tokens, size_t *bytes);

#endif
