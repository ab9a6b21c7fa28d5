/* Refusal detection (DESIGN §1): a short reply carrying a refusal marker.
 * Only detection lives here; validation is a judge task (WF_TASK_REFUSAL). */
#ifndef WF_FEEDBACK_REFUSAL_H
#define WF_FEEDBACK_REFUSAL_H

#include <stddef.h>

#include "wildfeed/config.h"
#include "wildfeed/err.h"

typedef struct wf_refusal_detector wf_refusal_detector;

/* Reads refusal.max_chars and refusal.markers. Owned by the caller. */
wf_refusal_detector *wf_refusal_detector_new(const wf_config *cfg, wf_error *err);
void wf_refusal_detector_free(wf_refusal_detector *d);

/* 1 when response is under the length limit (in code points) and contains a
 * marker, compared case-insensitively. */
int wf_refusal_detect(const wf_refusal_detector *d, const char *response, size_t n);

#endif
