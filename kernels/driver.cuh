/* The driver of the CUDA path (internal to kernels/): the device model, the
 * adapters, the buffers of a packed batch and the functions that run a
 * layer forward and backward on them. The kernels it calls are in
 * kernels.cuh; wf_cuda.h is the public contract it implements.
 *
 * Data types, as issue 7 decides: base weights bf16; the residual stream,
 * norms, loss and optimiser in fp32; every matrix product takes bf16 inputs
 * and accumulates in fp32 (cuBLAS); the trained values are fp32 on the
 * device with a bf16 mirror for the products; their gradient is fp32.
 *
 * Layout choices: q, k and v come from one product with the three weights
 * stacked ([qd + 2 kvd, hidden]: row-major [out, in] matrices stack along
 * out by simple concatenation), and gate and up likewise ([2 inter,
 * hidden]); LoRA branches add into their column range of the fused output.
 *
 * Training stores every layer's activations (see wf_cu_train_*): the base
 * weights are frozen, so a backward step costs about one forward, and
 * recomputing the forward would make training 3 instead of 2 forwards. */
#ifndef WF_DRIVER_CUH
#define WF_DRIVER_CUH

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.cuh"

extern "C" {
#include "model_transformer/tf_internal.h"
#include "wf_cuda.h"
}

/* ---- errors (device.cu) ---- */

/* 0 when e is success, else a wf_err (WF_ENOMEM for allocation failures,
 * WF_EIO otherwise) with a message naming the call and its place. */
int wf_cu_check(cudaError_t e, const char *call, const char *file, int line, wf_error *err);
int wf_cublas_check(cublasStatus_t s, const char *call, const char *file, int line, wf_error *err);
/* With WF_CUDA_SYNC=1 in the environment both also wait for the device
 * after a successful call, so that an asynchronous fault is reported by the
 * call that caused it. The macros expect a wf_error *err in scope;
 * WF_CU_AFTER(name) checks a call that reports its own errors (the
 * attention path) the same way. */
#define WF_CU(call) wf_cu_check((call), #call, __FILE__, __LINE__, err)
#define WF_CUBLAS(call) wf_cublas_check((call), #call, __FILE__, __LINE__, err)
#define WF_CU_AFTER(name) wf_cu_check(cudaSuccess, name, __FILE__, __LINE__, err)

/* ---- carving one allocation into buffers ---- */

/* Buffers are laid out twice: first with base NULL to count the bytes (the
 * memory plan), then over one allocation of that size. */
typedef struct wf_cu_arena {
    char *base;
    size_t used;
} wf_cu_arena;

/* n elements of T, 256-byte aligned; NULL when n is 0 or when counting. */
template <typename T> T *wf_carve(wf_cu_arena *a, size_t n)
{
    if (n == 0)
        return NULL;
    size_t at = (a->used + 255) & ~(size_t)255;
    a->used = at + n * sizeof(T);
    return a->base ? (T *)(a->base + at) : NULL;
}

/* ---- the model (model.cu) ---- */

/* Device memory every plan leaves free, for the CUDA libraries' own
 * allocations. */
#define WF_CU_RESERVE_BYTES ((size_t)256 << 20)
/* cuBLAS's workspace, what it suggests for Hopper. */
#define WF_CU_CUBLAS_WS_BYTES ((size_t)32 << 20)

/* The widths the driver uses, from the configuration. */
typedef struct wf_cu_dims {
    size_t h, hd, heads, kv, qd, kvd, qkvd, inter, layers, vocab;
    size_t max_in; /* widest projection input: max(h, qd, inter) */
    float eps;
} wf_cu_dims;

typedef struct wf_cu_layer {
    const wf_bf16 *wqkv;              /* [qkvd, h]: wq, wk, wv stacked */
    const wf_bf16 *wo;                /* [h, qd] */
    const wf_bf16 *wgu;               /* [2 inter, h]: w_gate, w_up stacked */
    const wf_bf16 *wdown;             /* [h, inter] */
    const float *in_norm, *post_norm; /* [h] */
    const float *q_norm, *k_norm;     /* [hd], Qwen3 only, else NULL */
    const float *bqkv;                /* [qkvd], Qwen2 only, else NULL */
} wf_cu_layer;

/* Per-batch buffers of the scoring forward, sized for the token budget B;
 * training reuses the ones that are not per layer. */
typedef struct wf_cu_fwd {
    float *x;             /* [B, h] residual stream */
    wf_bf16 *xn1, *xn2;   /* [B, h] */
    float *rstd1, *rstd2; /* [B] */
    wf_bf16 *qkv;         /* [B, qkvd] */
    wf_bf16 *qk;          /* [B, qd + kvd], qk_norm only */
    wf_bf16 *att;         /* [B, qd] */
    wf_bf16 *gu;          /* [B, 2 inter] */
    wf_bf16 *act;         /* [B, inter] */
    wf_bf16 *xd;          /* [B, max_in]: a LoRA input after dropout */
    void *attn;           /* the cuBLAS attention's scratch; NULL with flash_fwd */
    size_t attn_bytes;
    int32_t *ids, *starts, *pos; /* [B], [B + 1], [B] */
    float *pooled, *prstd;       /* [B, h], [B] */
    float *logits;               /* [B, 3] */
} wf_cu_fwd;

struct wf_cuda_model {
    wf_tf_config cfg;
    wf_cu_dims d;
    size_t max_len, budget;
    int device;
    /* The flash kernels run on this device (head width and shared memory
     * allow them); the cuBLAS attention path is taken otherwise. flash_bwd
     * implies flash_fwd, whose log-sum-exp training keeps for it. */
    int flash_fwd, flash_bwd;
    pthread_mutex_t lock; /* one call at a time on this model */
    cudaStream_t stream;
    cublasHandle_t blas;
    void *blas_ws;
    char *weights; /* one allocation: every weight below points into it */
    const wf_bf16 *embed;
    wf_cu_layer *layers; /* host array [layers] */
    const float *final_norm, *inv_freq;
    char *scratch; /* one allocation: fwd's buffers */
    wf_cu_fwd fwd;
    int32_t *h_ids, *h_starts;    /* pinned host staging [B], [B + 1] */
    float *h_logits;              /* pinned [B, 3] */
    struct wf_cuda_adapter *base; /* no LoRA, the model's own head */
};

/* The widths of configuration c. */
void wf_cu_dims_of(const wf_tf_config *c, wf_cu_dims *d);
/* The bytes of cm's weights and scoring buffers (cm's configuration,
 * dimensions, budget, max_len and flash flags set), as wf_cuda_model_new
 * plans them; nothing is allocated. */
void wf_cu_plan_model(wf_cuda_model *cm, size_t *weights, size_t *scoring);
/* Scratch bytes of the cuBLAS attention path for sequences up to longest
 * tokens, forward or backward. */
size_t wf_cu_attention_scratch(const wf_cuda_model *cm, size_t longest);

/* Locks cm and makes its device current for this thread. */
int wf_cu_enter(wf_cuda_model *cm, wf_error *err);
void wf_cu_leave(wf_cuda_model *cm);
/* Waits for the stream: where a call's asynchronous faults surface. */
int wf_cu_sync(wf_cuda_model *cm, wf_error *err);

/* ---- adapters (adapter.cu) ---- */

typedef struct wf_cu_lora {
    int on;
    size_t a, b; /* offsets of A [rank, in] and B [out, rank] in params */
} wf_cu_lora;

struct wf_cuda_adapter {
    wf_cuda_model *cm;
    int rank, coral;
    float scale;   /* alpha / rank */
    float dropout; /* used by training only */
    size_t n_params, n_decay;
    size_t head_w, head_b;           /* offsets in params */
    wf_cu_lora (*lora)[WF_TF_NPROJ]; /* host [layers][WF_TF_NPROJ] */
    void *mem;                       /* the one device allocation of the three below */
    float *p32;                      /* device [n_params]: the values (fp32 masters) */
    wf_bf16 *p16;                    /* device [n_params]: their bf16 mirror */
    wf_bf16 *u;                      /* device [B, rank]: the scoring forward's A products */
};

/* The base model's head as an adapter (no LoRA), from the host model. */
int wf_cu_adapter_base(wf_cuda_model *cm, const wf_tf_model *m, wf_cuda_adapter **out,
                       wf_error *err);
/* Lays out ca's device values, their bf16 mirror and the scoring forward's
 * A products (counting when a->base is NULL); ca's layout (lora, rank,
 * n_params) set. */
void wf_cu_adapter_lay_out(const wf_cuda_model *cm, wf_cuda_adapter *ca, wf_cu_arena *a);
/* Uploads without taking the lock (the caller holds it). */
int wf_cu_adapter_new(wf_cuda_model *cm, const wf_tf_adapter *ad, wf_cuda_adapter **out,
                      wf_error *err);
void wf_cu_adapter_destroy(wf_cuda_adapter *ca);
/* Checks that ad fits ca's layout (same offsets and sizes): what download
 * and wf_cuda_grad rely on. */
int wf_cu_adapter_same_layout(const wf_cuda_adapter *ca, const wf_tf_adapter *ad, wf_error *err);

/* ---- matrix products (gemm.cu) ---- */

typedef struct wf_cu_ctx {
    cublasHandle_t blas;
    cudaStream_t stream;
} wf_cu_ctx;

/* Row-major C[M, N] = alpha op(A) op(B) + beta C with bf16 A and B, fp32
 * accumulation, C of ctype (CUDA_R_32F or CUDA_R_16BF). */
int wf_gemm(const wf_cu_ctx *x, int ta, int tb, size_t M, size_t N, size_t K, float alpha,
            const wf_bf16 *A, size_t lda, const wf_bf16 *B, size_t ldb, float beta, void *C,
            cudaDataType_t ctype, size_t ldc, wf_error *err);
/* Y[rows, out] (ld ldy) = X[rows, in] W[out, in]^T + beta Y. */
int wf_gemm_xwt(const wf_cu_ctx *x, size_t rows, size_t in, size_t out, const wf_bf16 *X,
                const wf_bf16 *W, float beta, void *Y, cudaDataType_t ytype, size_t ldy,
                wf_error *err);
/* dX[rows, in] (fp32) = dY[rows, out] (ld lddy) W[out, in] + beta dX. */
int wf_gemm_dyw(const wf_cu_ctx *x, size_t rows, size_t out, size_t in, const wf_bf16 *dY,
                size_t lddy, const wf_bf16 *W, float beta, float *dX, wf_error *err);

/* ---- one packed batch (forward.cu, backward.cu) ---- */

/* The per-layer activations training keeps for the backward; scoring uses
 * one set (fwd's buffers), with x_in, x_mid and x_out all the same buffer
 * (the residual updated in place). */
typedef struct wf_cu_acts {
    float *x_in, *x_mid, *x_out; /* [T, h] */
    wf_bf16 *xn1, *xn2, *qkv, *qk, *att, *gu, *act;
    float *rstd1, *rstd2;
    float *lse;              /* [T, heads]: flash attention's, kept for backward; NULL scoring */
    wf_bf16 *u[WF_TF_NPROJ]; /* [T, rank] each, NULL where no LoRA */
} wf_cu_acts;

/* Backward scratch, one set for all layers, [B, width] each. */
typedef struct wf_cu_bwd {
    float *dx;       /* [B, h]: the residual's gradient */
    wf_bf16 *dy16;   /* [B, h] */
    float *dxn;      /* [B, h] */
    float *dwide;    /* [B, max(qd, inter)] */
    wf_bf16 *datt;   /* [B, qd] */
    wf_bf16 *dproj;  /* [B, max(qkvd, 2 inter)] */
    wf_bf16 *du;     /* [B, rank] */
    float *dxd;      /* [B, max_in], when dropout > 0 */
    float *dpooled;  /* [B, h] */
    float *dlogits;  /* [B, 3] */
    double *loss;    /* [B] */
    int32_t *labels; /* [B] */
    void *attn;      /* the attention backward's scratch (flash or cuBLAS), attn_bytes */
    size_t attn_bytes;
} wf_cu_bwd;

/* What training owns on the device for packed batches of B tokens: the
 * stored activations of every layer, the backward scratch, and the flat
 * gradient. Made for one adapter's rank and dropout. */
typedef struct wf_cu_train {
    char *mem;
    size_t bytes;
    size_t budget;    /* B, tokens per packed batch: the model's budget or less */
    float *res;       /* [layers + 1, B, h]: the residual stream between layers */
    wf_cu_acts *acts; /* host [layers] */
    wf_cu_bwd bwd;
    float *grad;             /* [n_params] */
    double *partial, *sumsq; /* [WF_K_REDUCE_BLOCKS], [1]: the gradient norm */
    double *h_loss;          /* pinned [B] */
    int32_t *h_labels;       /* pinned [B] */
} wf_cu_train;

/* The plan for the largest packed batch (the model's token budget, halved
 * at each try, down to the longest sequence) whose bytes, with extra bytes
 * beside them and the reserve, fit free_b: 1 with tr->budget and tr->bytes
 * set; 0 when none does (tr then holds the smallest plan). tr->acts must
 * hold cm's layers; nothing is allocated. */
int wf_cu_train_fit(const wf_cuda_model *cm, const wf_cuda_adapter *ca, size_t extra, size_t free_b,
                    wf_cu_train *tr);
/* Allocates tr for ca on cm, for packed batches of the model's token
 * budget or, where their activations and extra bytes (what the caller
 * allocates next, e.g. optimiser state) do not fit the free memory, of
 * half, a quarter, ... of it, down to the longest sequence (WF_ENOMEM
 * naming the sizes when even that does not fit); the caller holds the
 * lock. */
int wf_cu_train_new(wf_cuda_model *cm, const wf_cuda_adapter *ca, size_t extra, wf_cu_train *tr,
                    wf_error *err);
void wf_cu_train_free(wf_cu_train *tr);

/* One packed batch: sequences of a wf_tf_batch (or a scoring call) whose
 * tokens fit the budget. */
typedef struct wf_cu_pass {
    wf_cuda_model *cm;
    const wf_cuda_adapter *ca;
    wf_cu_ctx cx;
    int T, n;                /* tokens, sequences */
    const int32_t *h_starts; /* host [n + 1] */
    float dropout;           /* LoRA input dropout; 0 when scoring */
    uint64_t seed;
    size_t row0; /* the first token's index in the whole wf_tf_batch (dropout masks) */
    float *grad; /* the flat gradient, backward only */
} wf_cu_pass;

/* Splits lens[0..n) into consecutive batches of at most budget tokens:
 * *count sequences from the first, *tokens of them. */
void wf_cu_next_batch(const size_t *lens, size_t n, size_t budget, size_t *count, size_t *tokens);
/* Checks lengths and ids as the CPU does, plus each length <= budget. */
int wf_cu_check_seqs(const wf_cuda_model *cm, const int32_t *const *ids, const size_t *lens,
                     size_t n, wf_error *err);
/* Packs the ids of n sequences into cm's staging buffers and uploads them
 * with their starts and positions; fills p->T, p->n, p->h_starts. */
int wf_cu_upload_batch(wf_cu_pass *p, const int32_t *const *ids, const size_t *lens, size_t n,
                       wf_error *err);
/* The attention path's arguments for p's batch (the forward's scratch). */
void wf_cu_attn_args(const wf_cu_pass *p, wf_k_attn *at);
/* The scoring view of fwd's buffers as one layer's activations. */
void wf_cu_fwd_acts(wf_cuda_model *cm, const wf_cuda_adapter *ca, wf_cu_acts *a);

/* The embedding, every layer (acts[l], or acts[0] for all when shared),
 * the final norm and head: logits of the batch in fwd.logits. */
int wf_cu_forward_pass(const wf_cu_pass *p, wf_cu_acts *acts, int shared, wf_error *err);
/* The loss (each sample's into bwd.loss, unscaled; its gradient times
 * scale) and the whole backward of a pass whose forward kept tr->acts: the
 * gradients accumulate into p->grad. */
int wf_cu_backward_pass(const wf_cu_pass *p, wf_cu_train *tr, float scale, wf_error *err);
/* Forward and backward of a whole wf_tf_batch, split into packed batches
 * of tr->budget tokens, into tr->grad (accumulated); *loss_sum = the
 * batch's loss sum. */
int wf_cu_grad_batch(wf_cuda_model *cm, const wf_cuda_adapter *ca, wf_cu_train *tr,
                     const wf_tf_batch *b, uint64_t seed, float scale, double *loss_sum,
                     wf_error *err);
/* Scoring through ca, split under the budget; the caller holds the lock. */
int wf_cu_score(wf_cuda_model *cm, const wf_cuda_adapter *ca, const int32_t *const *ids,
                const size_t *lens, size_t n, float *logits, wf_error *err);

/* ---- projections with their LoRA branch (project.cu) ---- */

/* y (ld ldy, of ytype) += s (drop(x) A^T) B^T for (layer, proj), when ca
 * has that LoRA; x bf16 [T, in]; u receives drop(x) A^T [T, rank]. */
int wf_cu_lora_forward(const wf_cu_pass *p, int layer, wf_tf_proj proj, const wf_bf16 *x,
                       wf_bf16 *u, void *y, cudaDataType_t ytype, size_t ldy, wf_error *err);
/* Its backward given dy bf16 [T, out] (ld lddy): dA and dB into p->grad,
 * and dx fp32 [T, in] += the branch's input gradient. */
int wf_cu_lora_backward(const wf_cu_pass *p, int layer, wf_tf_proj proj, const wf_bf16 *x,
                        const wf_bf16 *u, const wf_bf16 *dy, size_t lddy, float *dx,
                        const wf_cu_bwd *b, wf_error *err);

#endif
