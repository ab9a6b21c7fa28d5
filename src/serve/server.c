/* The libmicrohttpd daemon: listening, the checks every request passes
 * before its body is read (route, method, token, size, concurrency), body
 * accumulation under the size limit, and dispatch to the endpoint files. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* What the request is answered before its body is read, or 0 to go on. */
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
    if (declared_too_big(s, c))
        return refuse(msg, "body larger than server.max_body_bytes", MHD_HTTP_CONTENT_TOO_LARGE);
    if (r->ep == WF_EP_GET_REWARD || r->ep == WF_EP_SCORE) {
        /* Counted from the headers to the end, so the limit also bounds the
         * bodies being buffered. */
        if (atomic_fetch_add(&s->inflight, 1) >= s->max_concurrent) {
            atomic_fetch_sub(&s->inflight, 1);
            return refuse(msg, "too many concurrent requests", MHD_HTTP_TOO_MANY_REQUESTS);
        }
        r->counted = 1;
    }
    return 0;
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
    r->ep = wf_serve_route(url, r);
    const char *msg = NULL;
    unsigned st = precheck(s, c, r, method, &msg);
    return st ? wf_serve_reply_error(s, c, r->ep, st, msg) : MHD_YES;
}

/* Only the scoring endpoints read a body; others are drained unbuffered.
 * Bodies without a Content-Length (chunked) are checked as they arrive; the
 * rest of an oversized one is drained and dropped, and its request stops
 * counting against server.max_concurrent at once, so a slow oversized upload
 * cannot hold a scoring place. */
static void take(wf_server *s, wf_serve_req *r, const char *data, size_t n)
{
    if (r->too_big || (r->ep != WF_EP_GET_REWARD && r->ep != WF_EP_SCORE))
        return;
    if (r->body.len + n > s->max_body) {
        r->too_big = 1;
        wf_strbuf_free(&r->body);
        if (r->counted) {
            atomic_fetch_sub(&s->inflight, 1);
            r->counted = 0;
        }
        return;
    }
    wf_strbuf_append(&r->body, data, n);
}

static enum MHD_Result finish(wf_server *s, struct MHD_Connection *c, wf_serve_req *r)
{
    if (r->too_big)
        return wf_serve_reply_error(s, c, r->ep, MHD_HTTP_CONTENT_TOO_LARGE,
                                    "body larger than server.max_body_bytes");
    if (r->body.oom)
        return wf_serve_reply_error(s, c, r->ep, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    switch (r->ep) {
    case WF_EP_GET_REWARD:
    case WF_EP_SCORE: return wf_serve_score(s, c, r);
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
        take(s, *con_cls, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return finish(s, c, *con_cls);
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
    if (r->counted)
        atomic_fetch_sub(&s->inflight, 1);
    wf_strbuf_free(&r->body);
    free(r);
    *con_cls = NULL;
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

static int start_daemon(wf_server *s, const char *listen, unsigned threads, wf_error *err)
{
    struct sockaddr_storage ss = {0};
    int v6 = 0, rc = resolve(listen, &ss, &v6, err);
    if (rc < 0)
        return rc;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | (v6 ? MHD_USE_IPv6 : 0);
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0u,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_LISTEN_BACKLOG_SIZE,
                            1024u, MHD_OPTION_END);
    if (!s->d)
        return wf_error_set(err, WF_EIO, "server: cannot listen on %s", listen);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    return 0;
}

int wf_server_start(const wf_config *cfg, wf_model_slot *slot, const wf_server_hooks *hooks,
                    wf_server **out, wf_error *err)
{
    *out = NULL;
    wf_server *s = calloc(1, sizeof *s);
    if (!s)
        return wf_error_set(err, WF_ENOMEM, "server: out of memory");
    s->slot = slot;
    if (hooks)
        s->hooks = *hooks;
    s->max_body = (size_t)wf_config_int(cfg, "server.max_body_bytes");
    s->max_items = (size_t)wf_config_int(cfg, "server.max_items");
    s->max_concurrent = (long)wf_config_int(cfg, "server.max_concurrent");
    s->metrics_handle = -1;
    const char *tok = wf_config_str(cfg, "server.admin_token_file");
    int rc = tok && *tok ? wf_serve_load_token(s, tok, err) : 0;
    if (rc == 0)
        rc = start_daemon(s, wf_config_str(cfg, "server.listen"),
                          (unsigned)wf_config_int(cfg, "server.threads"), err);
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

void wf_server_stop(wf_server *s)
{
    if (!s)
        return;
    if (s->metrics_handle >= 0)
        wf_metrics_unregister(s->metrics_handle);
    if (s->d)
        MHD_stop_daemon(s->d);
    free(s->token);
    free(s);
}
