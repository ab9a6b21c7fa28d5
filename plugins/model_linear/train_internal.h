/* The optimiser state of a linear-model training: Adam moments, the sparse
 * gradient of the current batch, and the best weights so far. */
#ifndef WF_MODEL_LINEAR_TRAIN_INTERNAL_H
#define WF_MODEL_LINEAR_TRAIN_INTERNAL_H

#include "model_linear/linear_internal.h"

typedef struct wf_lin_trainer wf_lin_trainer;

/* Trains l in place (borrowed); NULL on OOM. */
wf_lin_trainer *wf_lin_trainer_new(wf_lin *l, const wf_train_opts *o);
void wf_lin_trainer_free(wf_lin_trainer *t);

/* Extracts the features of in (kept for accumulate) and computes z. */
void wf_lin_trainer_logits(wf_lin_trainer *t, const wf_model_input *in, double z[WF_LOGITS]);
/* Adds g[k] (dLoss/dz_k, already scaled) times the last features to the
 * batch gradient. */
void wf_lin_trainer_accumulate(wf_lin_trainer *t, const double g[WF_LOGITS]);
/* One Adam step on the weights the batch touched and on the biases. */
void wf_lin_trainer_step(wf_lin_trainer *t);
/* Remembers the current weights as the best; restore puts them back. */
void wf_lin_trainer_keep(wf_lin_trainer *t);
void wf_lin_trainer_restore(wf_lin_trainer *t);
/* 1 when a buffer could not grow (the training is then invalid). */
int wf_lin_trainer_failed(const wf_lin_trainer *t);

#endif
