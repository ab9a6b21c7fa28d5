/* POST /get_reward and POST /v1/score, on a scoring worker (a slow model) or
 * the HTTP thread: parse, score with the model the slot holds now, render
 * the answer. The model reference
 * is held only while scoring and rendering, so a swap never waits for more
 * than that. */
#include <stdlib.h>

#include "serve/request.h"
#include "serve/serve.h"

static unsigned parse_status(int rc)
{
    switch (rc) {
    case WF_EINVAL: return MHD_HTTP_CONTENT_TOO_LARGE;
    case WF_ENOMEM: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    default: return MHD_HTTP_BAD_REQUEST;
    }
}

/* Scores b with the current model into out; the HTTP status. */
static unsigned score_batch(wf_server *s, wf_ep ep, const wf_serve_batch *b, wf_strbuf *out)
{
    const wf_model_ref *ref = wf_model_slot_acquire(s->slot);
    if (!ref) {
        wf_serve_render_error(out, "no model loaded");
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    unsigned st = MHD_HTTP_OK;
    wf_error e = {0};
    float *logits = malloc((b->n ? b->n : 1) * WF_LOGITS * sizeof *logits);
    int rc = logits ? 0 : wf_error_set(&e, WF_ENOMEM, "out of memory");
    if (rc == 0 && b->n)
        rc = wf_model_score(ref->model, b->in, b->n, logits, &e);
    if (rc == 0)
        rc = ep == WF_EP_SCORE ? wf_serve_render_score(out, ref->version, logits, b->n)
                               : wf_serve_render_rewards(out, logits, b->n);
    if (rc < 0) {
        wf_strbuf_reset(out);
        wf_serve_render_error(out, e.code ? e.msg : "the model gave a non-finite score");
        /* WF_EINVAL: the model refuses an input (say, a response longer than
         * its maximum length); the client must change it, not retry. */
        st = e.code == WF_EINVAL ? MHD_HTTP_UNPROCESSABLE_CONTENT : MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    wf_model_slot_release(s->slot, ref);
    free(logits);
    return st;
}

/* Parsing is done here too, on the worker for a slow model: a body of
 * server.max_body_bytes takes jansson a while, and the probes must not wait
 * for it behind a transformer's scoring. */
void wf_serve_score(wf_server *s, wf_serve_req *r)
{
    wf_serve_batch b;
    wf_error e = {0};
    const char *body = r->body.data ? r->body.data : "";
    int rc = r->ep == WF_EP_SCORE ? wf_serve_parse_score(body, r->body.len, s->max_items, &b, &e)
                                  : wf_serve_parse_rewards(body, r->body.len, s->max_items, &b, &e);
    if (rc == WF_EINVAL)
        wf_serve_refused(&s->stats, WF_REFUSE_ITEMS);
    if (rc < 0) {
        wf_serve_render_error(&r->answer, e.msg);
        atomic_store_explicit(&r->status, parse_status(rc), memory_order_release);
        return;
    }
    unsigned st = score_batch(s, r->ep, &b, &r->answer);
    size_t idx = r->ep == WF_EP_SCORE;
    if (st == MHD_HTTP_OK) {
        atomic_fetch_add(&s->stats.items[idx], b.n);
        wf_histogram_observe(&s->stats.latency[idx], wf_serve_now() - r->t0);
    }
    wf_serve_batch_free(&b);
    atomic_store_explicit(&r->status, st, memory_order_release);
}
