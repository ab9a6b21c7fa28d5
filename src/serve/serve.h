/* Internals of the scoring server shared by its files. */
#ifndef WF_SERVE_SERVE_H
#define WF_SERVE_SERVE_H

#include <microhttpd.h>
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
#define WF_SERVE_STATUSES 13

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
};

/* One request's state across the handler's calls. */
typedef struct wf_serve_req {
    wf_ep ep;
    char version[129]; /* activate: the version named in the path (<= 128 chars) */
    wf_strbuf body;    /* kept for the scoring endpoints only */
    size_t received;   /* body bytes so far, whatever the endpoint */
    int counted;       /* holds one of the max_concurrent places */
    double t0;         /* monotonic seconds at the start */
} wf_serve_req;

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
enum MHD_Result wf_serve_score(wf_server *s, struct MHD_Connection *c, wf_serve_req *r);
enum MHD_Result wf_serve_admin(wf_server *s, struct MHD_Connection *c, wf_serve_req *r);
enum MHD_Result wf_serve_probe(wf_server *s, struct MHD_Connection *c, wf_serve_req *r);

/* Admin (admin.c). */
int wf_serve_load_token(wf_server *s, const char *path, wf_error *err);
/* 0 when the Authorization header carries the token, else 401 or 403. */
unsigned wf_serve_check_token(const wf_server *s, struct MHD_Connection *c);

/* Metrics (stats.c). */
void wf_serve_count(wf_serve_stats *st, wf_ep ep, unsigned status);
void wf_serve_refused(wf_serve_stats *st, wf_refusal why);
void wf_serve_collect(void *ctx, wf_strbuf *out);

#endif
