/* The scoring workers of a slow model (ops.slow). Its scoring, which may take
 * hundreds of milliseconds on a CPU or wait for a GPU batch, runs here with
 * the request's connection suspended, not on libmicrohttpd's threads. So up
 * to server.max_concurrent requests share the model at once (the transformer
 * batches them), and /healthz never waits behind them.
 *
 * The handler suspends the connection and queues the request; a worker
 * scores it, leaves the answer in the request and resumes the connection;
 * libmicrohttpd then calls the handler again, which queues the response.
 * Only the handler queues responses: libmicrohttpd 0.9.75 lets another thread
 * queue one for a suspended connection, but later versions deprecate it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "serve/serve.h"

int wf_serve_pool_init(wf_serve_pool *p, size_t cap, wf_error *err)
{
    *p = (wf_serve_pool){.cap = cap};
    p->threads = calloc(cap, sizeof *p->threads);
    p->queue = calloc(cap, sizeof *p->queue);
    if (!p->threads || !p->queue) {
        free(p->threads);
        free(p->queue);
        return wf_error_set(err, WF_ENOMEM, "server: out of memory for %zu scoring workers", cap);
    }
    /* With default attributes these cannot fail on Linux. The drain
     * deadline must not move with the wall clock. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->drained, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&p->work, NULL);
    pthread_mutex_init(&p->mu, NULL);
    return 0;
}

void wf_serve_pool_free(wf_serve_pool *p)
{
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->drained);
    free(p->threads);
    free(p->queue);
}

static void push(wf_serve_pool *p, wf_serve_req *r)
{
    /* Each request holds a max_concurrent place until a worker is done with
     * it and its answer is queued, and cap is max_concurrent: a full ring is
     * a broken count, and writing past it would corrupt memory. */
    if (p->len >= p->cap) {
        fprintf(stderr, "wildfeed: scoring queue overflow (%zu of %zu)\n", p->len, p->cap);
        abort();
    }
    p->queue[(p->head + p->len) % p->cap] = r;
    p->len++;
}

static wf_serve_req *pop(wf_serve_pool *p)
{
    wf_serve_req *r = p->queue[p->head];
    p->head = (p->head + 1) % p->cap;
    p->len--;
    return r;
}

/* Runs queued requests until the server stops and none is left. After
 * resuming a connection the worker no longer touches its request: the
 * handler answers it and libmicrohttpd frees it. */
static void *worker(void *arg)
{
    wf_server *s = arg;
    wf_serve_pool *p = &s->pool;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->len == 0 && !p->stopping) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->mu);
            p->idle--;
        }
        if (p->len == 0)
            break;
        wf_serve_req *r = pop(p);
        pthread_mutex_unlock(&p->mu);
        wf_serve_score(s, r);
        MHD_resume_connection(r->conn);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Whether a worker will take one more request, starting one when none is
 * idle. A failed start leaves the request to the busy ones, if any. */
static int have_worker(wf_server *s)
{
    wf_serve_pool *p = &s->pool;
    if (p->len >= p->idle && p->started < p->cap &&
        pthread_create(&p->threads[p->started], NULL, worker, s) == 0)
        p->started++;
    return p->started > 0;
}

/* Suspending under the lock closes the gap between the stopping check and
 * the queue: once wf_serve_pool_stop has set stopping, no connection can be
 * suspended without a worker to resume it. The worker resumes without the
 * lock, so libmicrohttpd's own lock is never taken the other way round. */
enum MHD_Result wf_serve_submit(wf_server *s, struct MHD_Connection *c, wf_serve_req *r)
{
    wf_serve_pool *p = &s->pool;
    pthread_mutex_lock(&p->mu);
    const char *why = p->stopping       ? "the server is stopping"
                      : !have_worker(s) ? "cannot start a scoring thread"
                                        : NULL;
    if (why) {
        pthread_mutex_unlock(&p->mu);
        return wf_serve_reply_error(s, c, r->ep, MHD_HTTP_SERVICE_UNAVAILABLE, why);
    }
    r->conn = c;
    r->queued = 1;
    r->tracked = 1;
    MHD_suspend_connection(c);
    push(p, r);
    p->unanswered++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return MHD_YES;
}

int wf_serve_pool_stopping(wf_serve_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int stopping = p->stopping;
    pthread_mutex_unlock(&p->mu);
    return stopping;
}

void wf_serve_pool_track(wf_serve_pool *p, wf_serve_req *r)
{
    pthread_mutex_lock(&p->mu);
    p->unanswered++;
    pthread_mutex_unlock(&p->mu);
    r->tracked = 1;
}

void wf_serve_pool_answered(wf_serve_pool *p)
{
    pthread_mutex_lock(&p->mu);
    if (--p->unanswered == 0)
        pthread_cond_broadcast(&p->drained);
    pthread_mutex_unlock(&p->mu);
}

/* Answers go out on libmicrohttpd's threads, which keep running until the
 * daemon stops; a client that does not read its answer is given up on at
 * the deadline, and MHD_stop_daemon closes its connection. */
static void wait_answers_sent(wf_serve_pool *p)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += WF_SERVE_DRAIN_S;
    pthread_mutex_lock(&p->mu);
    while (p->unanswered > 0 && pthread_cond_timedwait(&p->drained, &p->mu, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&p->mu);
}

void wf_serve_pool_stop(wf_serve_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    size_t n = p->started; /* no more start once stopping */
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < n; i++)
        pthread_join(p->threads[i], NULL);
    wait_answers_sent(p);
}
