/* Shared by the serve tests and benchmark: fake models with their own ops
 * (constant logits, optionally blocking or failing), a server on an
 * ephemeral loopback port, and a small libcurl client. */
#ifndef WF_SERVE_HARNESS_H
#define WF_SERVE_HARNESS_H

#include <curl/curl.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int fail;               /* score returns WF_EIO */
    unsigned spin;          /* busy work per input, to mimic a real model */
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

__attribute__((unused)) static const wf_model_ops fake_ops = {"fake", fake_score, fake_save,
                                                              fake_files, fake_destroy};

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

#endif
