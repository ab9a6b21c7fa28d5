/* The loaded model's layout and the kernels the forward pass is built from.
 * Matrices are row-major fp32 in Hugging Face's [out, in] layout. */
#ifndef WF_TF_INTERNAL_H
#define WF_TF_INTERNAL_H

#include <stddef.h>

#include "model_transformer/transformer.h"

typedef struct wf_tf_layer {
    float *in_norm, *post_norm;    /* [hidden] */
    float *wq, *wk, *wv, *wo;      /* [heads*hd, hidden], [kv*hd, hidden] x2, [hidden, heads*hd] */
    float *bq, *bk, *bv;           /* Qwen2 only, else NULL */
    float *q_norm, *k_norm;        /* [hd], Qwen3 only, else NULL */
    float *w_gate, *w_up, *w_down; /* [inter, hidden] x2, [hidden, inter] */
} wf_tf_layer;

struct wf_tf_model {
    wf_tf_config cfg;
    size_t max_len;
    float *embed; /* [vocab, hidden] */
    wf_tf_layer *layers;
    float *final_norm; /* [hidden] */
    float *head_w;     /* [WF_TF_HEAD_OUT, hidden] */
    float head_b[3];
    int head_from_checkpoint;
    float *inv_freq; /* [hd/2], RoPE frequencies after scaling */
};

#define WF_TF_HEAD_OUT 3

/* Y[rows, out] = X[rows, in] W[out, in]^T (+ bias[out] when non-NULL). */
void wf_tf_linear(const float *x, size_t rows, size_t in, const float *w, const float *bias,
                  size_t out, float *y);
/* Each of rows vectors of width dim (row stride stride) scaled by its RMS
 * and by weight, in place when x == y. */
void wf_tf_rmsnorm(const float *x, size_t rows, size_t dim, size_t stride, const float *weight,
                   double eps, float *y, size_t y_stride);
/* RoPE frequencies for the configuration: inv_freq[hd/2]. */
void wf_tf_rope_freqs(const wf_tf_config *c, float *inv_freq);
/* Rotates n_heads heads of width hd in each of rows rows (stride apart),
 * row r at position pos0 + r, in the rotate_half layout. */
void wf_tf_rope_apply(float *x, size_t rows, size_t stride, int n_heads, int hd,
                      const float *inv_freq, size_t pos0);
/* gate[i] = silu(gate[i]) * up[i]. */
void wf_tf_swiglu(float *gate, const float *up, size_t n);
/* Causal grouped-query attention of one sequence of len tokens: q [len,
 * heads*hd], k and v [len, kv*hd], out [len, heads*hd], all with their
 * natural row strides; scratch holds wf_tf_attention_scratch(c, len)
 * floats. */
#define WF_TF_ATTN_BLOCK 128
size_t wf_tf_attention_scratch(const wf_tf_config *c, size_t longest);
void wf_tf_attention(const wf_tf_config *c, const float *q, const float *k, const float *v,
                     size_t len, float *out, float *scratch);

/* Pieces of wf_tf_attention that its backward pass recomputes identically:
 * the causal softmax of a block of stacked rows (row i of each head's block
 * sees keys 0 .. first + i % block), and the stacking of a KV group's query
 * heads into [group * rows, hd] form and back. */
void wf_tf_causal_softmax(float *s, size_t rows, size_t block, size_t cols, size_t first);
void wf_tf_stack_heads(const float *src, size_t stride, float *dst, size_t rows, int group, int hd);
void wf_tf_unstack_heads(const float *src, float *dst, size_t stride, size_t rows, int group,
                         int hd);

/* Backward kernels (ops_backward.c, attention_backward.c, RoPE's in ops.c): the weights
 * are frozen, so each gives the gradient of its input only. "accumulate"
 * adds into the output instead of overwriting it. */

/* dX[rows, in] (+)= dY[rows, out] W[out, in]. */
void wf_tf_linear_backward(const float *dy, size_t rows, size_t out, const float *w, size_t in,
                           float *dx, int accumulate);
/* dx (+)= the gradient through y = weight * x / rms(x), given the forward
 * input x and dy, with the strides of wf_tf_rmsnorm; dx may be dy. */
void wf_tf_rmsnorm_backward(const float *x, size_t rows, size_t dim, size_t stride,
                            const float *weight, double eps, const float *dy, size_t dy_stride,
                            float *dx, size_t dx_stride, int accumulate);
/* The transpose of wf_tf_rope_apply (a rotation by the opposite angle), in
 * place on the gradient. */
void wf_tf_rope_backward(float *dx, size_t rows, size_t stride, int n_heads, int hd,
                         const float *inv_freq, size_t pos0);
/* From the forward's pre-activation gate and up and the gradient of
 * silu(gate) * up: dgate and dup (written; either may be dout). */
void wf_tf_swiglu_backward(const float *gate, const float *up, const float *dout, size_t n,
                           float *dgate, float *dup);
/* The gradients of wf_tf_attention's q, k and v (RoPE already applied) for
 * one sequence, given dout [len, heads*hd]: dq [len, heads*hd], dk and dv
 * [len, kv*hd], all written. Probabilities are recomputed block by block,
 * so scratch holds wf_tf_attention_backward_scratch(c, len) floats. */
size_t wf_tf_attention_backward_scratch(const wf_tf_config *c, size_t longest);
void wf_tf_attention_backward(const wf_tf_config *c, const float *q, const float *k, const float *v,
                              const float *dout, size_t len, float *dq, float *dk, float *dv,
                              float *scratch);

/* The embeddings of n packed sequences into x [tokens, hidden]. */
void wf_tf_embed(const wf_tf_model *m, const int32_t *const *ids, const size_t *lens, size_t n,
                 float *x);

/* Reads the weights of dir into m (cfg already set); frees nothing on error
 * (the caller's wf_tf_free does). */
int wf_tf_load_weights(const char *dir, wf_tf_model *m, uint64_t head_seed, wf_error *err);

#endif
