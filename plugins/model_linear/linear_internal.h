/* The linear model's parameters, shared by scoring, persistence and
 * training. */
#ifndef WF_MODEL_LINEAR_INTERNAL_H
#define WF_MODEL_LINEAR_INTERNAL_H

#include <stddef.h>

#include "model_linear/features.h"
#include "wildfeed/model.h"

typedef struct wf_lin {
    int hash_bits;
    size_t dim; /* 2^hash_bits + WF_LIN_DENSE */
    int n_vec;  /* weight vectors: 1 (CORAL) or 3 (independent) */
    float *w;   /* n_vec * dim, owned */
    float b[WF_LOGITS];
} wf_lin;

/* A zeroed model; NULL on OOM. */
wf_lin *wf_lin_new(wf_head_kind head, int hash_bits);
void wf_lin_free(wf_lin *l);
/* Wraps l into a wf_model that owns it; frees l and returns NULL on OOM. */
wf_model *wf_lin_wrap(wf_lin *l, wf_head_kind head);

/* The query and response of an input (parts, or recovered from text). */
void wf_lin_parts(const wf_model_input *in, const char **q, size_t *qlen, const char **r,
                  size_t *rlen);

#endif
