/* One decoder layer over a packed batch, forward and backward, with LoRA.
 * Scoring (forward.c) and training (grad.c) run the same layer_forward, so
 * the activations training differentiates are exactly the ones scoring
 * computes. */
#ifndef WF_TF_LAYER_H
#define WF_TF_LAYER_H

#include "model_transformer/adapter.h"
#include "model_transformer/tf_internal.h"

/* What a pass over one packed batch shares between its layers. */
typedef struct wf_tf_pass {
    const wf_tf_model *m;
    const wf_tf_adapter *ad; /* NULL: no adapters */
    const size_t *lens;
    size_t n, tokens, longest;
    float dropout; /* LoRA input dropout; 0 when scoring */
    uint64_t seed; /* of the dropout masks */
    float *grad;   /* backward: ad's flat gradient, accumulated into */
} wf_tf_pass;

/* One layer's activations, [tokens, width] each, kept by layer_forward for
 * layer_backward; the d* buffers exist only when allocated for backward. */
typedef struct wf_tf_acts {
    float *xn1, *q_lin, *k_lin, *q, *k, *v, *att, *x_mid, *xn2, *gate, *up, *act;
    float *xd, *u; /* LoRA: the (dropped-out) input and its A product */
    float *scores; /* attention scratch */
    float *d_wide, *d_gate, *d_up, *d_xn, *d_att, *dq, *dk, *dv, *dx_mid, *du, *dxd;
} wf_tf_acts;

/* Checks ids and lengths and fills p's sizes; WF_EINVAL names the bad item. */
int wf_tf_pass_check(wf_tf_pass *p, const int32_t *const *ids, wf_error *err);
int wf_tf_acts_alloc(const wf_tf_pass *p, int backward, wf_tf_acts *a, wf_error *err);
void wf_tf_acts_free(wf_tf_acts *a);

/* x [tokens, hidden]: the layer's input in, its output out. */
void wf_tf_layer_forward(const wf_tf_pass *p, int layer, float *x, wf_tf_acts *a);
/* Given a's activations from layer_forward on this layer's input x_in, turns
 * dx from the gradient of the layer's output into that of its input, and
 * accumulates the LoRA gradients into p->grad. */
void wf_tf_layer_backward(const wf_tf_pass *p, int layer, const float *x_in, wf_tf_acts *a,
                          float *dx);

/* A projection with its LoRA branch: y = x W^T (+ bias) + s (drop(x) A^T) B^T. */
void wf_tf_project(const wf_tf_pass *p, int layer, wf_tf_proj proj, const float *x, const float *w,
                   const float *bias, float *y, wf_tf_acts *a);
/* Its backward: dx (+)= dy W + the LoRA branch's input gradient, and the
 * LoRA gradients into p->grad. */
void wf_tf_project_backward(const wf_tf_pass *p, int layer, wf_tf_proj proj, const float *x,
                            const float *w, const float *dy, float *dx, int accumulate,
                            wf_tf_acts *a);

#endif
