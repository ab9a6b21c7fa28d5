/* Internals of the scoring server shared by its files. */
#ifndef WF_SERVE_SERVE_H
#define WF_SERVE_SERVE_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "wildfeed/metrics.h"
#include "wildfeed/server.h"
#include "wildfeed/strbuf.h"

/* Endpoints, for routing and for the per-endpoint counters. */
typedef enum wf_ep {
    WF_EP_GET_REWARD = 0,
    WF_EP_SCORE,
    WF_EP_MODELS,
    WF_EP_ACTIVATE,
    WF_EP_RETRAIN,
    WF_EP_HEALTHZ,
    WF_EP_READYZ,
    WF_EP_METRICS,
    WF_EP_OTHER,
    WF_EP_COUNT
} wf_ep;

/* The status codes the server answers, for the counters. */
#define WF_SERVE_STATUSES 14

/* Why the server refused a request before handling it, for
 * wf_server_refused_total. */
typedef enum wf_refusal {
    WF_REFUSE_BODY_DECLARED = 0, /* Content-Length over server.max_body_bytes */
    WF_REFUSE_BODY_STREAMED,     /* the body grew over it while arriving */
    WF_REFUSE_ITEMS,             /* more than server.max_items inputs */
    WF_REFUSE_CONCURRENCY,       /* server.max_concurrent scoring requests running */
    WF_REFUSE_COUNT
} wf_refusal;

typedef struct wf_serve_stats {
    _Atomic uint64_t requests[WF_EP_COUNT][WF_SERVE_STATUSES];
    _Atomic uint64_t refused[WF_REFUSE_COUNT];
    _Atomic uint64_t items[2]; /* inputs scored: get_reward, score */
    wf_histogram latency[2];   /* seconds per scoring request, same order */
} wf_serve_stats;

typedef struct wf_serve_req wf_serve_req;

/* The scoring workers (pool.c): a request to a slow model whose body is
 * complete is handed over with its connection suspended, so that slow
 * scoring never holds the HTTP threads, and the probes stay answered. Threads are started as
 * concurrency requires, up to cap (server.max_concurrent), and kept until
 * the server stops. Every queued request holds one of the max_concurrent
 * places, so the queue (cap entries) cannot overflow. */
typedef struct wf_serve_pool {
    pthread_mutex_t mu;
    pthread_cond_t work;    /* a request queued, or stopping */
    pthread_cond_t drained; /* unanswered fell to 0 */
    pthread_t *threads;
    wf_serve_req **queue; /* a ring of cap entries */
    size_t cap, started, idle, head, len;
    size_t unanswered; /* requests handed over whose answer is not yet sent */
    int stopping;
} wf_serve_pool;

struct wf_server {
    struct MHD_Daemon *d;
    wf_model_slot *slot;
    wf_server_hooks hooks;
    char *token; /* NULL: admin endpoints disabled */
    size_t token_len;
    size_t max_body, max_items;
    long max_concurrent;
    _Atomic long inflight;    /* scoring requests accepted and not yet completed */
    _Atomic long connections; /* client connections open */
    int port;
    int metrics_handle;
    wf_serve_stats stats;
    wf_serve_pool pool;
};

/* One request's state across the handler's calls. */
struct wf_serve_req {
    wf_ep ep;
    char version[129]; /* activate: the version named in the path (<= 128 chars) */
    wf_strbuf body;    /* kept for the scoring endpoints only */
    size_t received;   /* body bytes so far, whatever the endpoint */
    int counted;       /* holds one of the max_concurrent places */
    double t0;         /* monotonic seconds at the start */
    /* Scoring: the answer it leaves for the handler; when handed to the
     * workers (queued), the suspended connection. A worker stores status
     * last, so a handler that reads it nonzero sees the whole answer. */
    struct MHD_Connection *conn;
    int queued;
    int tracked; /* counted in pool.unanswered until it completes */
    wf_strbuf answer;
    _Atomic unsigned status;
};

/* Routing (route.c): the endpoint of url, WF_EP_OTHER when none; for the
 * activate path, the version is copied into r->version. */
wf_ep wf_serve_route(const char *url, wf_serve_req *r);
/* The methods an endpoint accepts, for the check and the Allow header. */
const char *wf_serve_allowed(wf_ep ep);

/* Answers (server.c): queue a response and count it. body is consumed. */
enum MHD_Result wf_serve_reply(wf_server *s, struct MHD_Connection *c, wf_ep ep, unsigned status,
                               const char *ctype, wf_strbuf *body);
enum MHD_Result wf_serve_reply_error(wf_server *s, struct MHD_Connection *c, wf_ep ep,
                                     unsigned status, const char *msg);
double wf_serve_now(void);

/* Endpoint handlers, called with the whole body received. */
enum MHD_Result wf_serve_admin(wf_server *s, struct MHD_Connection *c, wf_serve_req *r);
enum MHD_Result wf_serve_probe(wf_server *s, struct MHD_Connection *c, wf_serve_req *r);

/* Scoring (score.c), on a worker or the HTTP thread: parses r's body,
 * scores it and leaves the answer in r->answer and r->status. */
void wf_serve_score(wf_server *s, wf_serve_req *r);

/* Workers (pool.c). */
int wf_serve_pool_init(wf_serve_pool *p, size_t cap, wf_error *err);
/* Suspends c and queues r for a worker, which resumes c once r->status is
 * set; the handler then answers. Refused with 503 (answered here, c not
 * suspended) once the server is stopping, or when no worker can be started. */
enum MHD_Result wf_serve_submit(wf_server *s, struct MHD_Connection *c, wf_serve_req *r);
/* 1 once wf_serve_pool_stop began: scoring is refused from then on. */
int wf_serve_pool_stopping(wf_serve_pool *p);
/* Counts r among the answers a stop waits to see sent: a request scored on
 * the HTTP thread (the pool counts those it is handed). */
void wf_serve_pool_track(wf_serve_pool *p, wf_serve_req *r);
/* A tracked request has completed (answered, or its connection gone). */
void wf_serve_pool_answered(wf_serve_pool *p);
/* Refuses new requests, lets the workers finish every one queued, joins them,
 * then waits (at most WF_SERVE_DRAIN_S) for every tracked answer to be sent.
 * After it no connection is suspended, so the daemon may be stopped. */
void wf_serve_pool_stop(wf_serve_pool *p);
void wf_serve_pool_free(wf_serve_pool *p);
#define WF_SERVE_DRAIN_S 5

/* Admin (admin.c). */
int wf_serve_load_token(wf_server *s, const char *path, wf_error *err);
/* 0 when the Authorization header carries the token, else 401 or 403. */
unsigned wf_serve_check_token(const wf_server *s, struct MHD_Connection *c);

/* Metrics (stats.c). */
void wf_serve_count(wf_serve_stats *st, wf_ep ep, unsigned status);
void wf_serve_refused(wf_serve_stats *st, wf_refusal why);
void wf_serve_collect(void *ctx, wf_strbuf *out);

#endif
