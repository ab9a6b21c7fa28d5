/* Leader-follower batching of concurrent score calls (see tf_batcher.h). */
#include <stdlib.h>
#include <string.h>

#include "models/tf_batcher.h"
#include "wildfeed/model.h"

struct wf_tfb_request {
    const int32_t *const *ids;
    const size_t *lens;
    size_t n, tokens;
    float *logits;
    int done, rc;
    wf_error err;
    wf_tfb_request *next;
};

void wf_tfb_batcher_init(wf_tfb_batcher *b, size_t budget)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->done, NULL);
    b->budget = budget;
}

void wf_tfb_batcher_destroy(wf_tfb_batcher *b)
{
    pthread_cond_destroy(&b->done);
    pthread_mutex_destroy(&b->mu);
}

/* Under mu: the queued requests that fit the budget together (at least
 * one), unlinked from the queue in order. */
static wf_tfb_request *take_batch(wf_tfb_batcher *b, size_t *n_seqs)
{
    wf_tfb_request *first = b->head, *last = first;
    size_t tokens = first->tokens;
    *n_seqs = first->n;
    b->queued--;
    while (last->next && tokens + last->next->tokens <= b->budget) {
        last = last->next;
        tokens += last->tokens;
        *n_seqs += last->n;
        b->queued--;
    }
    b->head = last->next;
    if (!b->head)
        b->tail = NULL;
    last->next = NULL;
    return first;
}

/* Runs one batch outside the lock and fills in each request's result. */
static void run_batch(wf_tfb_request *batch, size_t n, wf_tfb_forward_fn fn, void *ctx)
{
    const int32_t **ids = malloc(n * sizeof *ids);
    size_t *lens = malloc(n * sizeof *lens);
    float *logits = malloc(n * WF_LOGITS * sizeof *logits);
    wf_error err = {0};
    int rc = ids && lens && logits ? 0 : wf_error_set(&err, WF_ENOMEM, "out of memory");
    size_t at = 0;
    for (wf_tfb_request *r = batch; rc == 0 && r; at += r->n, r = r->next) {
        memcpy(ids + at, r->ids, r->n * sizeof *ids);
        memcpy(lens + at, r->lens, r->n * sizeof *lens);
    }
    if (rc == 0)
        rc = fn(ctx, ids, lens, n, logits, &err);
    at = 0;
    for (wf_tfb_request *r = batch; r; at += r->n, r = r->next) {
        r->rc = rc;
        if (rc == 0)
            memcpy(r->logits, logits + at * WF_LOGITS, r->n * WF_LOGITS * sizeof *logits);
        else
            r->err = err;
    }
    free(ids), free(lens), free(logits);
}

int wf_tfb_batcher_score(wf_tfb_batcher *b, wf_tfb_forward_fn fn, void *ctx,
                         const int32_t *const *ids, const size_t *lens, size_t n, float *logits,
                         wf_error *err)
{
    wf_tfb_request me = {.ids = ids, .lens = lens, .n = n, .logits = logits};
    for (size_t i = 0; i < n; i++)
        me.tokens += lens[i];
    pthread_mutex_lock(&b->mu);
    if (b->tail)
        b->tail->next = &me;
    else
        b->head = &me;
    b->tail = &me;
    b->queued++;
    while (!me.done) {
        if (b->running || !b->head) {
            pthread_cond_wait(&b->done, &b->mu);
            continue;
        }
        size_t seqs;
        wf_tfb_request *batch = take_batch(b, &seqs);
        b->running = 1;
        pthread_mutex_unlock(&b->mu);
        run_batch(batch, seqs, fn, ctx);
        pthread_mutex_lock(&b->mu);
        b->batches++;
        for (wf_tfb_request *r = batch, *next; r; r = next) {
            next = r->next; /* its caller may return as soon as mu is free */
            r->done = 1;
            b->requests++;
        }
        b->running = 0;
        pthread_cond_broadcast(&b->done);
    }
    pthread_mutex_unlock(&b->mu);
    if (me.rc < 0 && err)
        *err = me.err;
    return me.rc;
}
