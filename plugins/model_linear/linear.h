/* The `linear` reward-model backend (DESIGN §6): hashed sparse features, an
 * ordinal head (CORAL or independent), trained with mini-batch Adam.
 *
 * Weight file: model.safetensors with "weight" [V, 2^hash_bits + dense]
 * (V = 1 for CORAL, 3 for independent) and "bias" [3], and __metadata__
 * {"kind": "linear", "head", "hash_bits", "feature_version"}. */
#ifndef WF_MODEL_LINEAR_LINEAR_H
#define WF_MODEL_LINEAR_LINEAR_H

#include "wildfeed/model.h"

#define WF_LIN_FILE "model.safetensors"

/* Loads dir/model.safetensors; *out is the caller's (wf_model_free). */
int wf_linear_load(const char *dir, wf_model **out, wf_error *err);

/* Trains a model (see wf_model_train). */
int wf_linear_train(const wf_example *train, size_t n_train, const wf_example *eval, size_t n_eval,
                    const wf_train_opts *o, wf_model **out, wf_train_report *report, wf_error *err);

#endif
