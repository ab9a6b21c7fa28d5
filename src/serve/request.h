/* Request bodies of the scoring endpoints: JSON in (jansson), model inputs
 * out, and the JSON answers. Separate from the HTTP code so the fuzz target
 * and the tests can call them directly. */
#ifndef WF_SERVE_REQUEST_H
#define WF_SERVE_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#include "wildfeed/err.h"
#include "wildfeed/event.h"
#include "wildfeed/model.h"
#include "wildfeed/strbuf.h"

/* Parsed inputs. Every string the inputs point to lives in root; the batch
 * is owned by the caller (wf_serve_batch_free). */
typedef struct wf_serve_batch {
    json_t *root;
    wf_model_input *in;
    wf_msg *msgs; /* every history, back to back */
    size_t n;
} wf_serve_batch;

/* Both return WF_EPARSE for malformed JSON or a wrong shape or type (the
 * message says where), WF_EINVAL when there are more than max_items inputs,
 * WF_ENOMEM. On error b is left empty. */

/* /get_reward: {"query": [text, ...]}; each text is a rendered model input. */
int wf_serve_parse_rewards(const char *body, size_t len, size_t max_items, wf_serve_batch *b,
                           wf_error *err);
/* /v1/score: {"items": [{"history": [{"role","content"}...], "query",
 * "response"}, ...]}; history may be absent or null. */
int wf_serve_parse_score(const char *body, size_t len, size_t max_items, wf_serve_batch *b,
                         wf_error *err);
void wf_serve_batch_free(wf_serve_batch *b);

/* Answers. Return WF_EINVAL when a logit is not finite (nothing appended). */
int wf_serve_render_rewards(wf_strbuf *out, const float *logits, size_t n);
int wf_serve_render_score(wf_strbuf *out, const char *version, const float *logits, size_t n);
/* {"error": msg} */
void wf_serve_render_error(wf_strbuf *out, const char *msg);

#endif
