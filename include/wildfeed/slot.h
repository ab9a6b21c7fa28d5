/* The active model behind an atomic, reference-counted slot (DESIGN §8):
 * a request acquires the model it starts with and keeps it to the end; a
 * publish swaps in a new one at once, and the old model is freed when its
 * last request releases it. No request ever sees a half-loaded model.
 * Thread-safe. The slot is owned by its creator. */
#ifndef WILDFEED_SLOT_H
#define WILDFEED_SLOT_H

#include "wildfeed/model.h"

typedef struct wf_model_slot wf_model_slot;

/* A held model: valid until wf_model_slot_release. */
typedef struct wf_model_ref {
    const wf_model *model;
    const char *version;
} wf_model_ref;

wf_model_slot *wf_model_slot_new(void);
/* Frees the slot and its model; no reference may be outstanding. */
void wf_model_slot_free(wf_model_slot *s);

/* Makes m (ownership taken) the active model under version (copied). */
int wf_model_slot_publish(wf_model_slot *s, wf_model *m, const char *version, wf_error *err);
/* The active model, or NULL when none was published yet. */
const wf_model_ref *wf_model_slot_acquire(wf_model_slot *s);
void wf_model_slot_release(wf_model_slot *s, const wf_model_ref *r);

#endif
