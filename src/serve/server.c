/* The libmicrohttpd daemon: listening, the checks every request passes
 * before its body is read (route, method, token, size, concurrency), body
 * accumulation under the size limit, and dispatch to the endpoint files or,
 * for scoring with a slow model, to the workers (pool.c). */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "serve/request.h"
#include "serve/serve.h"

double wf_serve_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void extra_headers(struct MHD_Response *resp, wf_ep ep, unsigned status)
{
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, "Allow", wf_serve_allowed(ep));
    else if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    else if (status == MHD_HTTP_TOO_MANY_REQUESTS || status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, "Retry-After", "1");
}

enum MHD_Result wf_serve_reply(wf_server *s, struct MHD_Connection *c, wf_ep ep, unsigned status,
                               const char *ctype, wf_strbuf *body)
{
    if (body->oom) {
        wf_strbuf_free(body);
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        wf_strbuf_puts(body, "{\"error\":\"out of memory\"}");
        ctype = "application/json";
    }
    size_t len = body->len;
    char *data = wf_strbuf_take(body);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(data ? len : 0, data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    extra_headers(resp, ep, status);
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    wf_serve_count(&s->stats, ep, status);
    return rc;
}

enum MHD_Result wf_serve_reply_error(wf_server *s, struct MHD_Connection *c, wf_ep ep,
                                     unsigned status, const char *msg)
{
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_serve_render_error(&b, msg);
    return wf_serve_reply(s, c, ep, status, "application/json", &b);
}

static int method_ok(wf_ep ep, const char *method)
{
    if (strcmp(wf_serve_allowed(ep), "POST") == 0)
        return strcmp(method, "POST") == 0;
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

static int hook_missing(const wf_server *s, wf_ep ep)
{
    return (ep == WF_EP_MODELS && !s->hooks.list_models) ||
           (ep == WF_EP_ACTIVATE && (!s->hooks.activate || !s->token)) ||
           (ep == WF_EP_RETRAIN && (!s->hooks.retrain || !s->token));
}

#define TOO_BIG "body larger than server.max_body_bytes"

static int declared_too_big(const wf_server *s, struct MHD_Connection *c)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    return cl && strtoull(cl, NULL, 10) > s->max_body;
}

static unsigned refuse(const char **msg, const char *why, unsigned status)
{
    *msg = why;
    return status;
}

/* What the request is answered before its body is read, or 0 to go on.
 * libmicrohttpd reads no body after such an answer and closes the connection
 * once it is sent. */
static unsigned precheck(wf_server *s, struct MHD_Connection *c, wf_serve_req *r,
                         const char *method, const char **msg)
{
    if (r->ep == WF_EP_OTHER || hook_missing(s, r->ep))
        return refuse(msg, "not found", MHD_HTTP_NOT_FOUND);
    if (!method_ok(r->ep, method))
        return refuse(msg, "method not allowed", MHD_HTTP_METHOD_NOT_ALLOWED);
    if (r->ep == WF_EP_ACTIVATE || r->ep == WF_EP_RETRAIN) {
        unsigned st = wf_serve_check_token(s, c);
        if (st)
            return refuse(
                msg, st == MHD_HTTP_UNAUTHORIZED ? "missing bearer token" : "invalid token", st);
    }
    if (declared_too_big(s, c)) {
        wf_serve_refused(&s->stats, WF_REFUSE_BODY_DECLARED);
        return refuse(msg, TOO_BIG, MHD_HTTP_CONTENT_TOO_LARGE);
    }
    if (r->ep == WF_EP_GET_REWARD || r->ep == WF_EP_SCORE) {
        /* Counted from the headers to the end, so the limit also bounds the
         * bodies being buffered. */
        if (atomic_fetch_add(&s->inflight, 1) >= s->max_concurrent) {
            atomic_fetch_sub(&s->inflight, 1);
            wf_serve_refused(&s->stats, WF_REFUSE_CONCURRENCY);
            return refuse(msg, "too many concurrent requests", MHD_HTTP_TOO_MANY_REQUESTS);
        }
        r->counted = 1;
    }
    return 0;
}

static void release_place(wf_server *s, wf_serve_req *r)
{
    if (r->counted)
        atomic_fetch_sub(&s->inflight, 1);
    r->counted = 0;
}

static enum MHD_Result begin(wf_server *s, struct MHD_Connection *c, const char *url,
                             const char *method, void **con_cls)
{
    wf_serve_req *r = calloc(1, sizeof *r);
    if (!r)
        return MHD_NO;
    *con_cls = r;
    r->t0 = wf_serve_now();
    wf_strbuf_init(&r->body);
    wf_strbuf_init(&r->answer);
    r->ep = wf_serve_route(url, r);
    const char *msg = NULL;
    unsigned st = precheck(s, c, r, method, &msg);
    return st ? wf_serve_reply_error(s, c, r->ep, st, msg) : MHD_YES;
}

/* Every endpoint's body counts against server.max_body_bytes (a chunked one
 * has no Content-Length to check first); only the scoring endpoints keep it.
 * 0 once the body is over the limit. */
static int take(wf_server *s, wf_serve_req *r, const char *data, size_t n)
{
    r->received += n;
    if (r->received > s->max_body)
        return 0;
    if (r->ep == WF_EP_GET_REWARD || r->ep == WF_EP_SCORE)
        wf_strbuf_append(&r->body, data, n);
    return 1;
}

/* A body found too large while it arrives. libmicrohttpd (0.9.75) takes a
 * response only before the body or after all of it, and an MHD_NO from the
 * handler closes the connection without a word; reading the rest to answer
 * afterwards would let a client stream without end. So the 413 is written
 * here on the socket, which libmicrohttpd then closes unread: the client gets
 * its answer and an EOF, and at most the socket buffers more of the body are
 * received. The concurrency place is given back and the refusal counted
 * first, so a client that has read the answer sees both. The server speaks
 * plain HTTP only, so the socket carries the bytes as they are. */
static enum MHD_Result refuse_streamed(wf_server *s, struct MHD_Connection *c, wf_serve_req *r)
{
    release_place(s, r);
    wf_strbuf_free(&r->body);
    wf_serve_count(&s->stats, r->ep, MHD_HTTP_CONTENT_TOO_LARGE);
    wf_serve_refused(&s->stats, WF_REFUSE_BODY_STREAMED);
    wf_strbuf msg;
    wf_strbuf_init(&msg);
    wf_serve_render_error(&msg, TOO_BIG);
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      MHD_HTTP_CONTENT_TOO_LARGE,
                      MHD_get_reason_phrase_for(MHD_HTTP_CONTENT_TOO_LARGE), msg.len);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci && !msg.oom && hl > 0 && (size_t)hl < sizeof head) {
        struct iovec iov[2] = {{head, (size_t)hl}, {msg.data, msg.len}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
        /* Nothing else is being sent on this connection now, so the bytes fit
         * the socket buffer; when they do not, only the answer is lost. */
        if (sendmsg(ci->connect_fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
            shutdown(ci->connect_fd, SHUT_WR);
    }
    wf_strbuf_free(&msg);
    return MHD_NO;
}

/* Queues the answer the scoring left in r. The place is given back as the
 * answer is queued, before it is sent: a client that has read its answer
 * may send the next request at once without a 429. */
static enum MHD_Result answer(wf_server *s, struct MHD_Connection *c, wf_serve_req *r)
{
    unsigned st = atomic_load_explicit(&r->status, memory_order_acquire);
    enum MHD_Result rc = wf_serve_reply(s, c, r->ep, st, "application/json", &r->answer);
    wf_strbuf_free(&r->body); /* the place bounds the bodies held, too */
    release_place(s, r);
    return rc;
}

/* Whether the model now active asks for the scoring threads (ops.slow). A
 * swap meanwhile may score one request per thread on the other path. */
static int slow_model(wf_server *s)
{
    const wf_model_ref *ref = wf_model_slot_acquire(s->slot);
    int slow = ref && ref->model->ops->slow;
    if (ref)
        wf_model_slot_release(s->slot, ref);
    return slow;
}

/* A fast model scores on this HTTP thread, the stopping server included
 * (it takes microseconds); a stop still waits for the answer to be sent. */
static enum MHD_Result score_here(wf_server *s, struct MHD_Connection *c, wf_serve_req *r)
{
    wf_serve_pool_track(&s->pool, r);
    wf_serve_score(s, r);
    return answer(s, c, r);
}

static enum MHD_Result finish(wf_server *s, struct MHD_Connection *c, wf_serve_req *r)
{
    if (r->body.oom)
        return wf_serve_reply_error(s, c, r->ep, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    switch (r->ep) {
    case WF_EP_GET_REWARD:
    case WF_EP_SCORE: return slow_model(s) ? wf_serve_submit(s, c, r) : score_here(s, c, r);
    case WF_EP_MODELS:
    case WF_EP_ACTIVATE:
    case WF_EP_RETRAIN: return wf_serve_admin(s, c, r);
    default: return wf_serve_probe(s, c, r);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    wf_server *s = cls;
    if (!*con_cls)
        return begin(s, c, url, method, con_cls);
    if (*upload_data_size) {
        if (!take(s, *con_cls, upload_data, *upload_data_size))
            return refuse_streamed(s, c, *con_cls);
        *upload_data_size = 0;
        return MHD_YES;
    }
    wf_serve_req *r = *con_cls;
    return r->queued ? answer(s, c, r) : finish(s, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)c;
    (void)code;
    wf_server *s = cls;
    wf_serve_req *r = *con_cls;
    if (!r)
        return;
    release_place(s, r);
    if (r->tracked)
        wf_serve_pool_answered(&s->pool);
    wf_strbuf_free(&r->body);
    wf_strbuf_free(&r->answer);
    free(r);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)c;
    (void)socket_context;
    wf_server *s = cls;
    atomic_fetch_add(&s->connections, code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

/* "host:port", with [v6] brackets allowed. */
static int resolve(const char *listen, struct sockaddr_storage *ss, int *v6, wf_error *err)
{
    const char *colon = strrchr(listen, ':');
    char host[256];
    size_t hl = colon ? (size_t)(colon - listen) : 0;
    if (!colon || hl == 0 || hl >= sizeof host || colon[1] == '\0')
        return wf_error_set(err, WF_EINVAL, "server.listen: \"%s\" is not host:port", listen);
    memcpy(host, listen, hl);
    host[hl] = '\0';
    char *h = host;
    if (h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
    int rc = getaddrinfo(h, colon + 1, &hints, &ai);
    if (rc != 0)
        return wf_error_set(err, WF_EINVAL, "server.listen: %s: %s", listen, gai_strerror(rc));
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    return 0;
}

/* What the listening daemon is started with, from the config. */
typedef struct daemon_opts {
    const char *listen;
    unsigned threads;
    unsigned max_conns, max_conns_per_ip;
} daemon_opts;

static int read_daemon_opts(const wf_config *cfg, daemon_opts *o, wf_error *err)
{
    o->listen = wf_config_str(cfg, "server.listen");
    o->threads = (unsigned)wf_config_int(cfg, "server.threads");
    o->max_conns = (unsigned)wf_config_int(cfg, "server.max_connections");
    o->max_conns_per_ip = (unsigned)wf_config_int(cfg, "server.max_connections_per_ip");
    /* libmicrohttpd splits the connection limit evenly over its threads; a
     * thread left with no share never stops (seen with 0.9.75). */
    if (o->threads > 1 && o->max_conns < o->threads)
        return wf_error_set(err, WF_EINVAL,
                            "server.max_connections (%u) must be at least server.threads (%u)",
                            o->max_conns, o->threads);
    return 0;
}

/* Connections over max_conns are not accepted until one closes (they wait
 * in the listen backlog); those over max_conns_per_ip are closed at once. */
static int start_daemon(wf_server *s, const daemon_opts *o, wf_error *err)
{
    struct sockaddr_storage ss = {0};
    int v6 = 0, rc = resolve(o->listen, &ss, &v6, err);
    if (rc < 0)
        return rc;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
                     (v6 ? MHD_USE_IPv6 : 0);
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        s, MHD_OPTION_THREAD_POOL_SIZE, o->threads > 1 ? o->threads : 0u,
        MHD_OPTION_CONNECTION_LIMIT, o->max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        o->max_conns_per_ip, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        1024u, MHD_OPTION_END);
    if (!s->d)
        return wf_error_set(err, WF_EIO, "server: cannot listen on %s", o->listen);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    return 0;
}

int wf_server_start(const wf_config *cfg, wf_model_slot *slot, const wf_server_hooks *hooks,
                    wf_server **out, wf_error *err)
{
    *out = NULL;
    daemon_opts o;
    int rc = read_daemon_opts(cfg, &o, err);
    if (rc < 0)
        return rc;
    wf_server *s = calloc(1, sizeof *s);
    if (!s)
        return wf_error_set(err, WF_ENOMEM, "server: out of memory");
    s->max_concurrent = (long)wf_config_int(cfg, "server.max_concurrent");
    rc = wf_serve_pool_init(&s->pool, (size_t)s->max_concurrent, err);
    if (rc < 0) {
        free(s);
        return rc;
    }
    s->slot = slot;
    if (hooks)
        s->hooks = *hooks;
    s->max_body = (size_t)wf_config_int(cfg, "server.max_body_bytes");
    s->max_items = (size_t)wf_config_int(cfg, "server.max_items");
    s->metrics_handle = -1;
    const char *tok = wf_config_str(cfg, "server.admin_token_file");
    rc = tok && *tok ? wf_serve_load_token(s, tok, err) : 0;
    if (rc == 0)
        rc = start_daemon(s, &o, err);
    if (rc < 0) {
        wf_server_stop(s);
        return rc;
    }
    s->metrics_handle = wf_metrics_register(wf_serve_collect, s);
    *out = s;
    return 0;
}

int wf_server_port(const wf_server *s)
{
    return s->port;
}

/* MHD_stop_daemon with a connection still suspended is an API violation
 * (libmicrohttpd panics), so the workers are drained first: they resume
 * every connection they were handed, and no new one is suspended once the
 * pool stops. The daemon goes on accepting meanwhile (probes are answered):
 * MHD_quiesce_daemon races the threads of an epoll thread pool over the
 * listening socket and panics (seen with 0.9.75). */
void wf_server_stop(wf_server *s)
{
    if (!s)
        return;
    if (s->metrics_handle >= 0)
        wf_metrics_unregister(s->metrics_handle);
    wf_serve_pool_stop(&s->pool);
    if (s->d)
        MHD_stop_daemon(s->d);
    wf_serve_pool_free(&s->pool);
    free(s->token);
    free(s);
}
