/* Model input rendering (DESIGN §4, shared/formats/wildreward-input.md).
 * A template has {history}, {query} and {response} placeholders; the default
 * reproduces the released WildReward model's input byte for byte. */
#ifndef WF_FEEDBACK_TEMPLATE_H
#define WF_FEEDBACK_TEMPLATE_H

#include <stddef.h>

#include "wildfeed/err.h"
#include "wildfeed/event.h"
#include "wildfeed/strbuf.h"

typedef struct wf_template wf_template;

/* path NULL or "" = the built-in default. Owned by the caller. */
wf_template *wf_template_load(const char *path, wf_error *err);
void wf_template_free(wf_template *t);

/* Appends the rendered text (stripped of leading and trailing whitespace as
 * Python's str.strip() does) to out. */
void wf_template_render(const wf_template *t, const wf_msg *history, size_t n_history,
                        const char *query, const char *response, wf_strbuf *out);

#endif
