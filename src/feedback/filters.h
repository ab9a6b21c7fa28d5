/* Sample filters of DESIGN §1, each a drop reason. Thresholds and word lists
 * come from filter.* configuration. A wf_filters is read-only after creation
 * and owned by its creator. */
#ifndef WF_FEEDBACK_FILTERS_H
#define WF_FEEDBACK_FILTERS_H

#include "wildfeed/config.h"
#include "wildfeed/pipeline.h"
#include "wildfeed/sample.h"

typedef struct wf_filters wf_filters;

wf_filters *wf_filters_new(const wf_config *cfg, wf_error *err);
void wf_filters_free(wf_filters *f);

/* Returns -1 when the candidate passes, else the first wf_drop_reason that
 * applies (checked in enum order). is_refusal exempts the response-length
 * filter: short refusals are exactly the samples refusal validation needs.
 * *language is set to the candidate's language, detected from the text when
 * the log carried none (a static string, or the candidate's own). */
int wf_filters_check(const wf_filters *f, const wf_candidate *c, int is_refusal,
                     const char **language);

#endif
