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

/* Reads the weights of dir into m (cfg already set); frees nothing on error
 * (the caller's wf_tf_free does). */
int wf_tf_load_weights(const char *dir, wf_tf_model *m, uint64_t head_seed, wf_error *err);

#endif
