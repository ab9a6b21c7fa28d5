/* Batching of concurrent score calls on one transformer model (issue 7:
 * dynamic batching under a token budget). A caller that finds no batch
 * running becomes the leader: it takes the queued requests, its own among
 * them, up to the token budget, runs them as one packed forward pass, hands
 * every caller its logits, and leads again while requests wait. Callers
 * that arrive meanwhile queue up for the next batch. There is no thread of
 * its own and no timer: a lone request runs at once, and under load the
 * batches grow towards the budget, so a GPU does a few large products
 * rather than many small ones.
 *
 * The queue holds at most one request per calling thread (each request
 * lives on its caller's stack until it is done), so it is bounded by the
 * scoring server's concurrency. Internal to src/models and its tests. */
#ifndef WF_MODELS_TF_BATCHER_H
#define WF_MODELS_TF_BATCHER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "wildfeed/err.h"

/* Runs n packed sequences: logits[n * 3]. */
typedef int (*wf_tfb_forward_fn)(void *ctx, const int32_t *const *ids, const size_t *lens, size_t n,
                                 float *logits, wf_error *err);

typedef struct wf_tfb_request wf_tfb_request;

typedef struct wf_tfb_batcher {
    pthread_mutex_t mu;
    pthread_cond_t done;
    wf_tfb_request *head, *tail;
    int running;
    size_t budget;
    size_t queued;              /* under mu: requests waiting for a batch */
    uint64_t batches, requests; /* under mu: how much batching happened */
} wf_tfb_batcher;

/* budget: tokens per batch that requests are gathered up to (a single
 * request may exceed it: the forward function splits as it must). */
void wf_tfb_batcher_init(wf_tfb_batcher *b, size_t budget);
void wf_tfb_batcher_destroy(wf_tfb_batcher *b);

/* Scores n sequences through fn(ctx, ...) in some batch, with other
 * callers' sequences, and returns when logits[n * 3] are written. Every
 * caller of one batcher must pass the same fn and ctx. A failing forward
 * fails every request of its batch, with its message. */
int wf_tfb_batcher_score(wf_tfb_batcher *b, wf_tfb_forward_fn fn, void *ctx,
                         const int32_t *const *ids, const size_t *lens, size_t n, float *logits,
                         wf_error *err);

#endif
