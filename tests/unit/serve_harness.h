/* Shared by the serve tests and benchmark: fake models with their own ops
 * (constant logits, optionally blocking or failing), a server on an
 * ephemeral loopback port, a small libcurl client, and raw sockets for what
 * libcurl hides (connection reuse and closing, uploads cut short). */
#ifndef WF_SERVE_HARNESS_H
#define WF_SERVE_HARNESS_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "wildfeed/config.h"
#include "wildfeed/model.h"
#include "wildfeed/server.h"
#include "wildfeed/slot.h"
#include "wildfeed/strbuf.h"

#define FAKE_MAGIC 0x5eedf00du

typedef struct fake_impl {
    unsigned magic; /* cleared on destroy: scoring a freed model shows */
    float z[WF_LOGITS];
    _Atomic int *destroyed; /* counts destroys when set */
    sem_t *entered, *go;    /* when set, score posts entered and waits for go */
    int fail;               /* score returns WF_EIO (1) or WF_EINVAL (2) */
    unsigned spin;          /* busy work per input, to mimic a real model */
    unsigned wait_us;       /* sleep per call, to mimic waiting for a GPU batch */
    const char *degraded;   /* what the degraded op reports (NULL: not degraded) */
} fake_impl;

static inline int fake_score(const wf_model *m, const wf_model_input *in, size_t n, float *logits,
                             wf_error *err)
{
    fake_impl *f = m->impl;
    if (f->magic != FAKE_MAGIC)
        return wf_error_set(err, WF_ESTATE, "fake: scored after free");
    if (f->entered) {
        sem_post(f->entered);
        sem_wait(f->go);
    }
    if (f->wait_us)
        usleep(f->wait_us);
    if (f->fail == 2)
        return wf_error_set(err, WF_EINVAL, "fake: input refused");
    if (f->fail)
        return wf_error_set(err, WF_EIO, "fake: failing as asked");
    for (size_t i = 0; i < n; i++) {
        const char *t = in[i].text ? in[i].text : in[i].response;
        size_t len = strlen(t) + 1;
        volatile unsigned acc = 0;
        for (unsigned k = 0; k < f->spin; k++)
            acc += (unsigned char)t[k % len];
        (void)acc;
        memcpy(logits + i * WF_LOGITS, f->z, sizeof f->z);
    }
    return 0;
}

static inline const char *const *fake_files(const wf_model *m)
{
    (void)m;
    static const char *const none[] = {NULL};
    return none;
}

static inline int fake_save(const wf_model *m, const char *dir, wf_error *err)
{
    (void)m;
    (void)dir;
    return wf_error_set(err, WF_ESTATE, "fake: cannot save");
}

static inline void fake_destroy(wf_model *m)
{
    fake_impl *f = m->impl;
    f->magic = 0;
    if (f->destroyed)
        atomic_fetch_add(f->destroyed, 1);
    free(f);
    free(m);
}

static inline const char *fake_degraded(const wf_model *m)
{
    return ((const fake_impl *)m->impl)->degraded;
}

__attribute__((unused)) static const wf_model_ops fake_ops = {
    "fake", fake_score, fake_save, fake_files, fake_destroy, fake_degraded, 0};

static inline wf_model *fake_model(float z0, float z1, float z2, _Atomic int *destroyed)
{
    wf_model *m = calloc(1, sizeof *m);
    fake_impl *f = calloc(1, sizeof *f);
    if (!m || !f) {
        free(m);
        free(f);
        return NULL;
    }
    *f = (fake_impl){.magic = FAKE_MAGIC, .z = {z0, z1, z2}, .destroyed = destroyed};
    m->ops = &fake_ops;
    m->head = WF_HEAD_CORAL;
    m->impl = f;
    return m;
}

static inline fake_impl *fake_of(wf_model *m)
{
    return m->impl;
}

/* A server on 127.0.0.1:0 with the given extra "key=value" settings
 * (NULL-terminated). */
static inline wf_server *start_server(wf_model_slot *slot, const wf_server_hooks *hooks,
                                      const char *const *settings, wf_error *err)
{
    wf_config *cfg = wf_config_new();
    if (!cfg)
        return NULL;
    int rc = wf_config_set(cfg, "server.listen=127.0.0.1:0", err);
    for (size_t i = 0; rc == 0 && settings && settings[i]; i++)
        rc = wf_config_set(cfg, settings[i], err);
    wf_server *s = NULL;
    if (rc == 0)
        wf_server_start(cfg, slot, hooks, &s, err);
    wf_config_free(cfg);
    return s;
}

typedef struct http_resp {
    long status;
    wf_strbuf body;
    wf_strbuf headers;
} http_resp;

static inline size_t http_sink(char *p, size_t size, size_t n, void *ud)
{
    wf_strbuf_append(ud, p, size * n);
    return size * n;
}

/* One request on curl handle h (reused for keep-alive); body may be NULL.
 * Returns the CURLcode; out is reset first. */
static inline CURLcode http_do_on(CURL *h, int port, const char *method, const char *path,
                                  const char *body, size_t body_len, const char *header,
                                  http_resp *out)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    wf_strbuf_reset(&out->body);
    wf_strbuf_reset(&out->headers);
    out->status = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_sink);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
    if (header)
        hl = curl_slist_append(hl, header);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    return rc;
}

static inline void http_resp_free(http_resp *r)
{
    wf_strbuf_free(&r->body);
    wf_strbuf_free(&r->headers);
}

/* A one-off request on a fresh handle. */
static inline CURLcode http_do(int port, const char *method, const char *path, const char *body,
                               const char *header, http_resp *out)
{
    CURL *h = curl_easy_init();
    if (!h)
        return CURLE_FAILED_INIT;
    CURLcode rc = http_do_on(h, port, method, path, body, body ? strlen(body) : 0, header, out);
    curl_easy_cleanup(h);
    return rc;
}

/* A connected socket to 127.0.0.1:port with 10 s send and receive timeouts,
 * so that no test blocks for ever; -1 on failure. */
static inline int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static inline int raw_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Whether fd has something to read (data or its end) within ms. */
static inline int raw_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) > 0;
}

/* Appends what fd delivers until the peer closes: 1 when it did (EOF or
 * reset), 0 on a timeout. */
static inline int raw_read_to_close(int fd, wf_strbuf *out)
{
    char buf[4096];
    for (;;) {
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k > 0) {
            wf_strbuf_append(out, buf, (size_t)k);
            continue;
        }
        return k == 0 || errno == ECONNRESET;
    }
}

/* The length of a response's head and body once in holds all of its head,
 * else 0 (the response must have a Content-Length, or no body). */
static inline size_t raw_response_len(const wf_strbuf *in, size_t *head)
{
    const char *end = in->data ? strstr(in->data, "\r\n\r\n") : NULL;
    if (!end)
        return 0;
    *head = (size_t)(end + 4 - in->data);
    const char *cl = strstr(in->data, "Content-Length: ");
    return *head + (cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0);
}

/* Reads one response from fd: its status (0 when the connection ended or
 * timed out first), and its body appended to body when set. */
static inline int raw_read_response(int fd, wf_strbuf *body)
{
    wf_strbuf in;
    wf_strbuf_init(&in);
    char buf[4096];
    size_t head = 0, total = 0;
    while (!(total = raw_response_len(&in, &head)) || in.len < total) {
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k <= 0) {
            wf_strbuf_free(&in);
            return 0;
        }
        wf_strbuf_append(&in, buf, (size_t)k);
    }
    int status = 0;
    sscanf(in.data, "HTTP/1.1 %d", &status);
    if (body)
        wf_strbuf_append(body, in.data + head, total - head);
    wf_strbuf_free(&in);
    return status;
}

/* One keep-alive GET on fd, as raw_read_response. */
static inline int raw_get(int fd, const char *path, wf_strbuf *body)
{
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path);
    if (raw_send_all(fd, req, (size_t)n) < 0)
        return 0;
    return raw_read_response(fd, body);
}

#endif
