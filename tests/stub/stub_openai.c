/* The stub endpoint (see stub_openai.h). One thread per connection, so a
 * slow or sleeping answer holds up only its own connection. */
#include "stub_openai.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCRIPT_MAX 256
#define BODY_MAX (1u << 20)

struct wf_stub {
    struct MHD_Daemon *d;
    unsigned short port;
    char base_url[64];
    pthread_mutex_t lock;
    pthread_cond_t stop_cv;
    int stopping;
    wf_stub_behaviour script[SCRIPT_MAX];
    size_t script_head, script_len;
    int latency_ms;
    int chaos_permille;
    unsigned long long chaos_state;
    size_t requests, counts[WF_STUB_KIND_COUNT], connections, auth_mismatches;
    char *expected_auth; /* "Bearer <key>", or NULL for none */
    char *last_body;
};

typedef struct request_ctx {
    char *body;
    size_t len;
    int too_big;
} request_ctx;

static const char *const kind_names[WF_STUB_KIND_COUNT] = {"answer", "chatty", "garbage", "empty",
                                                           "429",    "500",    "slow",    "reset"};

wf_stub_kind wf_stub_kind_parse(const char *name, size_t n)
{
    for (int k = 0; k < WF_STUB_KIND_COUNT; k++)
        if (strlen(kind_names[k]) == n && strncmp(kind_names[k], name, n) == 0)
            return (wf_stub_kind)k;
    return WF_STUB_ANSWER;
}

/* Waits ms unless the stub is stopping. */
static void stub_sleep(wf_stub *s, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (!s->stopping)
        if (pthread_cond_timedwait(&s->stop_cv, &s->lock, &until) != 0)
            break;
    pthread_mutex_unlock(&s->lock);
}

static unsigned long long next_random(unsigned long long *st)
{
    unsigned long long z = (*st += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The value of "#name=" in body (up to a non-word byte), or NULL. */
static const char *marker(const char *body, const char *name, size_t *n)
{
    const char *p = strstr(body, name);
    if (!p)
        return NULL;
    p += strlen(name);
    size_t i = 0;
    while (p[i] && (p[i] == '_' || (p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'z')))
        i++;
    *n = i;
    return p;
}

/* Picks the behaviour under the lock: script, marker, chaos, answer. */
static wf_stub_behaviour choose(wf_stub *s, const char *body)
{
    wf_stub_behaviour b = {WF_STUB_ANSWER, 0, 0};
    size_t n;
    const char *m = marker(body, "#stub=", &n);
    if (s->script_len > 0) {
        b = s->script[s->script_head];
        s->script_head = (s->script_head + 1) % SCRIPT_MAX;
        s->script_len--;
    } else if (m) {
        b.kind = wf_stub_kind_parse(m, n);
        b.delay_ms = 60000;
    } else if (s->chaos_permille > 0 &&
               (int)(next_random(&s->chaos_state) % 1000) < s->chaos_permille) {
        static const wf_stub_kind failing[] = {WF_STUB_500, WF_STUB_429, WF_STUB_RESET};
        b.kind = failing[next_random(&s->chaos_state) % 3];
    }
    return b;
}

static void record(wf_stub *s, struct MHD_Connection *c, const char *body, wf_stub_kind k)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    s->requests++;
    s->counts[k]++;
    int ok = s->expected_auth ? auth && strcmp(auth, s->expected_auth) == 0 : auth == NULL;
    s->auth_mismatches += !ok;
    free(s->last_body);
    s->last_body = strdup(body);
}

/* The tag a correct judge would give: the refusal prompt (the only one that
 * names [[harmful]]) gets the "#refusal=" marker's tag, default none; the
 * feedback prompt gets the "#level=" marker's level, default 3. */
static void tag_text(const char *body, char *tag, size_t cap)
{
    size_t n;
    if (strstr(body, "[[harmful]]")) {
        const char *m = marker(body, "#refusal=", &n);
        snprintf(tag, cap, "[[%.*s]]", m ? (int)n : 4, m ? m : "none");
        return;
    }
    const char *m = marker(body, "#level=", &n);
    snprintf(tag, cap, "[[%.*s]]", 1, m && n > 0 ? m : "3");
}

static char *content_for(wf_stub_kind k, const char *tag)
{
    char buf[512];
    switch (k) {
    case WF_STUB_CHATTY:
        snprintf(buf, sizeof buf,
                 "<think>It could be [[4]]; the message is short.</think>"
                 "Weighing it: not [[1]] and not [[5]], it is milder.\n\nVerdict: %s The "
                 "user's message decides it.\nHope this helps!",
                 tag);
        break;
    case WF_STUB_GARBAGE: snprintf(buf, sizeof buf, "I am not sure what you want from me."); break;
    case WF_STUB_EMPTY: buf[0] = '\0'; break;
    default: snprintf(buf, sizeof buf, "%s stub verdict", tag); break;
    }
    return strdup(buf);
}

/* The chat.completion JSON, with content escaped for the few characters the
 * stub's own texts contain. */
static char *completion_json(const char *content)
{
    size_t n = strlen(content);
    char *esc = malloc(2 * n + 1);
    if (!esc)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (content[i] == '"' || content[i] == '\\')
            esc[o++] = '\\';
        if (content[i] == '\n') {
            esc[o++] = '\\';
            esc[o++] = 'n';
            continue;
        }
        esc[o++] = content[i];
    }
    esc[o] = '\0';
    size_t cap = o + 256;
    char *out = malloc(cap);
    if (out)
        snprintf(out, cap,
                 "{\"id\":\"stub\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
                 "\"message\":{\"role\":\"assistant\",\"content\":\"%s\"},\"finish_reason\":"
                 "\"stop\"}],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":10,"
                 "\"total_tokens\":110}}",
                 esc);
    free(esc);
    return out;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned code, const char *text,
                                 int retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (retry_after >= 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", retry_after);
        MHD_add_response_header(r, "Retry-After", v);
    }
    enum MHD_Result rc = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result respond(wf_stub *s, struct MHD_Connection *c, const char *body)
{
    pthread_mutex_lock(&s->lock);
    wf_stub_behaviour b = choose(s, body);
    int latency = s->latency_ms;
    record(s, c, body, b.kind);
    pthread_mutex_unlock(&s->lock);

    if (latency > 0)
        stub_sleep(s, latency);
    switch (b.kind) {
    case WF_STUB_RESET: return MHD_NO;
    case WF_STUB_429:
        return send_text(c, 429, "{\"error\":{\"message\":\"rate limited\"}}", b.retry_after_s);
    case WF_STUB_500: return send_text(c, 500, "{\"error\":{\"message\":\"boom\"}}", -1);
    case WF_STUB_SLOW: stub_sleep(s, b.delay_ms); break;
    default: break;
    }
    char tag[32];
    tag_text(body, tag, sizeof tag);
    char *content = content_for(b.kind, tag);
    char *json = content ? completion_json(content) : NULL;
    free(content);
    enum MHD_Result rc = json ? send_text(c, 200, json, -1) : MHD_NO;
    free(json);
    return rc;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)version;
    wf_stub *s = cls;
    request_ctx *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        *con_cls = rq;
        return rq ? MHD_YES : MHD_NO;
    }
    if (*upload_size > 0) {
        if (rq->len + *upload_size > BODY_MAX) {
            rq->too_big = 1;
        } else {
            char *nb = realloc(rq->body, rq->len + *upload_size + 1);
            if (!nb)
                return MHD_NO;
            memcpy(nb + rq->len, upload, *upload_size);
            rq->body = nb;
            rq->len += *upload_size;
            rq->body[rq->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0 || strcmp(url, "/v1/chat/completions") != 0)
        return send_text(c, 404, "{\"error\":{\"message\":\"not found\"}}", -1);
    if (rq->too_big || !rq->body)
        return send_text(c, 400, "{\"error\":{\"message\":\"bad body\"}}", -1);
    return respond(s, c, rq->body);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    request_ctx *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)c;
    (void)socket_ctx;
    wf_stub *s = cls;
    if (code != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    pthread_mutex_lock(&s->lock);
    s->connections++;
    pthread_mutex_unlock(&s->lock);
}

static int init_sync(wf_stub *s)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->stop_cv, &attr);
    pthread_condattr_destroy(&attr);
    if (rc == 0 && pthread_mutex_init(&s->lock, NULL) != 0) {
        pthread_cond_destroy(&s->stop_cv);
        rc = -1;
    }
    return rc;
}

wf_stub *wf_stub_start(unsigned short port)
{
    wf_stub *s = calloc(1, sizeof *s);
    if (!s || init_sync(s) != 0) {
        free(s);
        return NULL;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, 0, NULL,
        NULL, handler, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)2048, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024), MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        s->d ? MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (!info) {
        wf_stub_stop(s);
        return NULL;
    }
    s->port = info->port;
    snprintf(s->base_url, sizeof s->base_url, "http://127.0.0.1:%u/v1", (unsigned)s->port);
    return s;
}

void wf_stub_stop(wf_stub *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_broadcast(&s->stop_cv);
    pthread_mutex_unlock(&s->lock);
    if (s->d)
        MHD_stop_daemon(s->d);
    free(s->expected_auth);
    free(s->last_body);
    pthread_cond_destroy(&s->stop_cv);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *wf_stub_base_url(const wf_stub *s)
{
    return s->base_url;
}
unsigned short wf_stub_port(const wf_stub *s)
{
    return s->port;
}

void wf_stub_push(wf_stub *s, wf_stub_behaviour b)
{
    pthread_mutex_lock(&s->lock);
    if (s->script_len < SCRIPT_MAX) {
        s->script[(s->script_head + s->script_len) % SCRIPT_MAX] = b;
        s->script_len++;
    }
    pthread_mutex_unlock(&s->lock);
}

void wf_stub_set_latency(wf_stub *s, int ms)
{
    pthread_mutex_lock(&s->lock);
    s->latency_ms = ms;
    pthread_mutex_unlock(&s->lock);
}

void wf_stub_set_chaos(wf_stub *s, int permille, unsigned long long seed)
{
    pthread_mutex_lock(&s->lock);
    s->chaos_permille = permille;
    s->chaos_state = seed;
    pthread_mutex_unlock(&s->lock);
}

void wf_stub_expect_key(wf_stub *s, const char *key)
{
    pthread_mutex_lock(&s->lock);
    free(s->expected_auth);
    s->expected_auth = NULL;
    if (key) {
        size_t n = strlen(key) + sizeof "Bearer ";
        s->expected_auth = malloc(n);
        if (s->expected_auth)
            snprintf(s->expected_auth, n, "Bearer %s", key);
    }
    pthread_mutex_unlock(&s->lock);
}

#define LOCKED_GET(expr)                                                                           \
    do {                                                                                           \
        wf_stub *m = (wf_stub *)s;                                                                 \
        pthread_mutex_lock(&m->lock);                                                              \
        size_t v = (expr);                                                                         \
        pthread_mutex_unlock(&m->lock);                                                            \
        return v;                                                                                  \
    } while (0)

size_t wf_stub_requests(const wf_stub *s)
{
    LOCKED_GET(m->requests);
}
size_t wf_stub_count(const wf_stub *s, wf_stub_kind k)
{
    LOCKED_GET(m->counts[k]);
}
size_t wf_stub_auth_mismatches(const wf_stub *s)
{
    LOCKED_GET(m->auth_mismatches);
}
size_t wf_stub_connections(const wf_stub *s)
{
    LOCKED_GET(m->connections);
}

char *wf_stub_last_body(const wf_stub *s)
{
    wf_stub *m = (wf_stub *)s;
    pthread_mutex_lock(&m->lock);
    char *b = m->last_body ? strdup(m->last_body) : NULL;
    pthread_mutex_unlock(&m->lock);
    return b;
}

void wf_stub_reset_counts(wf_stub *s)
{
    pthread_mutex_lock(&s->lock);
    s->requests = s->connections = s->auth_mismatches = 0;
    memset(s->counts, 0, sizeof s->counts);
    free(s->last_body);
    s->last_body = NULL;
    pthread_mutex_unlock(&s->lock);
}
