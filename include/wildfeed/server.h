/* The scoring server (DESIGN §8): libmicrohttpd on server.listen, scoring
 * with whatever model the slot holds when a request starts.
 *
 * Endpoints: POST /get_reward, POST /v1/score, GET /v1/models,
 * POST /v1/models/{version}/activate and POST /v1/admin/retrain (bearer
 * token from server.admin_token_file; 404 when none is configured),
 * GET /healthz, GET /readyz, GET /metrics. A {version} is 1..128 characters
 * of [A-Za-z0-9._-] (not "." or ".."); any other path answers 404.
 *
 * The server is owned by whoever started it (wf_server_stop). It borrows the
 * slot and the hooks' ctx, which must outlive it. */
#ifndef WILDFEED_SERVER_H
#define WILDFEED_SERVER_H

#include "wildfeed/config.h"
#include "wildfeed/err.h"
#include "wildfeed/slot.h"
#include "wildfeed/strbuf.h"

/* What the daemon supplies for the registry endpoints; any hook may be NULL,
 * and its endpoint then answers 404. Hooks run on server threads and may be
 * called concurrently. They return 0 or a negative wf_err: WF_ENOTFOUND
 * answers 404, WF_EINVAL / WF_EPARSE 400, WF_ESTATE / WF_EAGAIN 409 (e.g. a
 * training already running), any other 500 with err's message. */
typedef struct wf_server_hooks {
    void *ctx;
    /* Appends the registry's JSON ({"current":...,"models":[...]}) to out. */
    int (*list_models)(void *ctx, wf_strbuf *out);
    /* Loads version and publishes it into the slot. */
    int (*activate)(void *ctx, const char *version, wf_error *err);
    /* Starts a training in the background (answered 202). */
    int (*retrain)(void *ctx, wf_error *err);
} wf_server_hooks;

typedef struct wf_server wf_server;

/* Starts listening on server.listen ("host:port"; port 0 picks a free one)
 * with server.threads threads and the server.max_* limits, and registers the
 * server's metrics collector. hooks may be NULL (all three endpoints 404).
 *
 * The server.threads threads read requests, write answers and run the other
 * endpoints (the hooks included). A slow model (ops.slow: the transformer)
 * scores on threads of its own, started as concurrent requests need them, up
 * to server.max_concurrent, and kept until the server stops: concurrent
 * requests meet in its batches, and /healthz is answered while every
 * scoring thread is busy. A fast one scores on the HTTP thread. A request
 * beyond server.max_concurrent gets 429.
 *
 * Limits: a body over server.max_body_bytes is answered 413 and its
 * connection closed, before it is read when its Content-Length says so, else
 * as soon as it grows past the limit (the rest is never read). Connections
 * over server.max_connections wait unaccepted until one closes; those over
 * server.max_connections_per_ip (0: none) are closed at once. WF_EINVAL when
 * server.max_connections is below server.threads. */
int wf_server_start(const wf_config *cfg, wf_model_slot *slot, const wf_server_hooks *hooks,
                    wf_server **out, wf_error *err);
/* The port actually bound. */
int wf_server_port(const wf_server *s);
/* Scoring requests already received are scored and answered (up to 5 s is
 * given for the answers to be sent); meanwhile /readyz and a new request to
 * a slow model get 503 and the other endpoints are answered as usual. Then stops listening,
 * closes every connection and frees the server. Returns once the last
 * scoring request has left the model, however long that takes. */
void wf_server_stop(wf_server *s);

#endif
