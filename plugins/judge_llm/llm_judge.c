/* The llm judge's caller side: submit() copies the request into a job on a
 * bounded incoming queue and wakes the worker; poll() takes verdicts the
 * worker has finished. `outstanding` bounds submitted-but-unpolled jobs, so
 * the verdict ring can never overflow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llm_judge_impl.h"
#include "wildfeed/log.h"

void wf_llm_queue_push(wf_llm_queue *q, wf_llm_job *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->n++;
}

wf_llm_job *wf_llm_queue_pop(wf_llm_queue *q)
{
    wf_llm_job *j = q->head;
    if (!j)
        return NULL;
    q->head = j->next;
    if (!q->head)
        q->tail = NULL;
    q->n--;
    j->next = NULL;
    return j;
}

void wf_llm_job_free(wf_llm_job *j)
{
    if (!j)
        return;
    wf_strbuf_free(&j->body);
    wf_strbuf_free(&j->resp);
    free(j);
}

static wf_llm_job *job_new(const wf_judge_request *r, int64_t now_ms, long deadline_ms)
{
    const char *parts[3] = {r->query ? r->query : "", r->response ? r->response : "",
                            r->feedback ? r->feedback : ""};
    size_t lens[3], total = 0;
    for (int i = 0; i < 3; i++)
        total += (lens[i] = strlen(parts[i])) + 1;
    wf_llm_job *j = calloc(1, sizeof *j + total);
    if (!j)
        return NULL;
    char *p = j->text;
    const char **dst[3] = {&j->req.query, &j->req.response, &j->req.feedback};
    for (int i = 0; i < 3; i++) {
        memcpy(p, parts[i], lens[i] + 1);
        *dst[i] = p;
        p += lens[i] + 1;
    }
    j->req.tag = r->tag;
    j->req.task = r->task;
    j->key = wf_llm_cache_key(&j->req);
    j->deadline_ms = now_ms + deadline_ms;
    j->due_ms = now_ms;
    return j;
}

static int llm_submit(wf_judge *jd, const wf_judge_request *req, wf_error *err)
{
    wf_llm_judge *lj = jd->impl;
    if (req->task != WF_TASK_FEEDBACK && req->task != WF_TASK_REFUSAL)
        return wf_error_set(err, WF_EINVAL, "llm judge: unknown task %d", (int)req->task);
    pthread_mutex_lock(&lj->lock);
    int full = lj->outstanding >= lj->opt.queue_cap;
    if (!full)
        lj->outstanding++;
    pthread_mutex_unlock(&lj->lock);
    if (full)
        return wf_error_set(err, WF_EAGAIN, "llm judge: queue full (%zu)", lj->opt.queue_cap);

    wf_llm_job *j = job_new(req, wf_llm_now_ms(), lj->opt.deadline_ms);
    pthread_mutex_lock(&lj->lock);
    int was_empty = lj->incoming.n == 0;
    if (j)
        wf_llm_queue_push(&lj->incoming, j);
    else
        lj->outstanding--;
    pthread_mutex_unlock(&lj->lock);
    if (!j)
        return wf_error_set(err, WF_ENOMEM, "llm judge: out of memory");
    lj->c.submitted++;
    if (was_empty)
        curl_multi_wakeup(lj->multi);
    return 0;
}

void wf_llm_emit(wf_llm_judge *lj, const wf_verdict *v)
{
    pthread_mutex_lock(&lj->lock);
    size_t cap = lj->opt.queue_cap;
    lj->ready[(lj->ready_head + lj->ready_len) % cap] = *v;
    lj->ready_len++;
    pthread_cond_signal(&lj->ready_cv);
    pthread_mutex_unlock(&lj->lock);
}

static void deadline_after(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static size_t llm_poll(wf_judge *jd, wf_verdict *out, size_t max, int timeout_ms)
{
    wf_llm_judge *lj = jd->impl;
    struct timespec until;
    deadline_after(&until, timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&lj->lock);
    while (lj->ready_len == 0 && timeout_ms > 0)
        if (pthread_cond_timedwait(&lj->ready_cv, &lj->lock, &until) != 0)
            break;
    size_t n = 0;
    size_t cap = lj->opt.queue_cap;
    while (n < max && lj->ready_len > 0) {
        out[n++] = lj->ready[lj->ready_head];
        lj->ready_head = (lj->ready_head + 1) % cap;
        lj->ready_len--;
    }
    lj->outstanding -= n;
    pthread_mutex_unlock(&lj->lock);
    return n;
}

static size_t llm_in_flight(const wf_judge *jd)
{
    wf_llm_judge *lj = jd->impl;
    pthread_mutex_lock(&lj->lock);
    size_t n = lj->outstanding;
    pthread_mutex_unlock(&lj->lock);
    return n;
}

static int llm_validates_refusals(const wf_judge *jd)
{
    (void)jd;
    return 1;
}

static void wipe_headers(struct curl_slist *h)
{
    for (; h; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
}

static void llm_free(wf_llm_judge *lj)
{
    if (lj->metrics_handle >= 0)
        wf_metrics_unregister(lj->metrics_handle);
    if (lj->multi)
        curl_multi_cleanup(lj->multi);
    wf_llm_job *j;
    while ((j = wf_llm_queue_pop(&lj->incoming)))
        wf_llm_job_free(j);
    wipe_headers(lj->headers);
    curl_slist_free_all(lj->headers);
    wf_llm_cache_free(lj->cache);
    free(lj->easy_pool);
    free(lj->active_jobs);
    free(lj->ready);
    free(lj->base_url);
    free(lj->model);
    free(lj->url);
    pthread_cond_destroy(&lj->ready_cv);
    pthread_mutex_destroy(&lj->lock);
    free(lj);
}

static void llm_destroy(wf_judge *jd)
{
    wf_llm_judge *lj = jd->impl;
    lj->stopping = 1;
    curl_multi_wakeup(lj->multi);
    pthread_join(lj->thread, NULL);
    llm_free(lj);
}

const wf_judge_ops wf_llm_judge_ops = {
    .name = "llm",
    .submit = llm_submit,
    .poll = llm_poll,
    .in_flight = llm_in_flight,
    .validates_refusals = llm_validates_refusals,
    .destroy = llm_destroy,
};

static int init_sync(wf_llm_judge *lj)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&lj->ready_cv, &attr);
    pthread_condattr_destroy(&attr);
    if (rc == 0 && pthread_mutex_init(&lj->lock, NULL) != 0) {
        pthread_cond_destroy(&lj->ready_cv);
        rc = -1;
    }
    return rc;
}

static int build_headers(wf_llm_judge *lj, const char *api_key)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h)
        lj->headers = h;
    /* An empty Expect stops curl waiting for "100 Continue" on larger bodies. */
    if (!h || !(h = curl_slist_append(h, "Expect:")))
        return -1;
    if (api_key && *api_key) {
        wf_strbuf line;
        wf_strbuf_init(&line);
        wf_strbuf_printf(&line, "Authorization: Bearer %s", api_key);
        h = line.oom ? NULL : curl_slist_append(h, line.data);
        if (line.data)
            explicit_bzero(line.data, line.len);
        wf_strbuf_free(&line);
        if (!h)
            return -1;
    }
    return 0;
}

static int copy_options(wf_llm_judge *lj, const wf_llm_options *o, wf_error *err)
{
    if (!o->base_url || !*o->base_url)
        return wf_error_set(err, WF_EINVAL, "judge.llm.base_url: empty");
    if (!o->model || !*o->model)
        return wf_error_set(err, WF_EINVAL, "judge.llm.model: empty");
    if (o->max_in_flight == 0 || o->queue_cap == 0)
        return wf_error_set(err, WF_EINVAL, "llm judge: max_in_flight and queue must be > 0");
    lj->opt = *o;
    lj->opt.api_key = NULL;
    size_t n = strlen(o->base_url);
    while (n > 0 && o->base_url[n - 1] == '/')
        n--;
    lj->base_url = strndup(o->base_url, n);
    lj->model = strdup(o->model);
    lj->url = malloc(n + sizeof "/chat/completions");
    if (!lj->base_url || !lj->model || !lj->url)
        return wf_error_set(err, WF_ENOMEM, "llm judge: out of memory");
    memcpy(lj->url, o->base_url, n);
    memcpy(lj->url + n, "/chat/completions", sizeof "/chat/completions");
    lj->opt.base_url = lj->base_url;
    lj->opt.model = lj->model;
    lj->rng = o->seed ? o->seed : (uint64_t)wf_llm_now_ms() ^ (uint64_t)(uintptr_t)lj;
    return 0;
}

static int alloc_parts(wf_llm_judge *lj, wf_error *err)
{
    int oom = 0;
    lj->cache = wf_llm_cache_new(lj->opt.cache_entries, &oom);
    lj->ready = calloc(lj->opt.queue_cap, sizeof *lj->ready);
    lj->easy_pool = calloc(lj->opt.max_in_flight, sizeof *lj->easy_pool);
    lj->active_jobs = calloc(lj->opt.max_in_flight, sizeof *lj->active_jobs);
    if (oom || !lj->ready || !lj->easy_pool || !lj->active_jobs)
        return wf_error_set(err, WF_ENOMEM, "llm judge: out of memory");
    lj->multi = curl_multi_init();
    if (!lj->multi)
        return wf_error_set(err, WF_ENOMEM, "llm judge: curl_multi_init failed");
    curl_multi_setopt(lj->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(lj->multi, CURLMOPT_MAXCONNECTS, (long)lj->opt.max_in_flight);
    return 0;
}

/* Logs the endpoint without any user:password part of the URL. */
static void log_started(const wf_llm_judge *lj)
{
    const char *host = strstr(lj->url, "://");
    host = host ? host + 3 : lj->url;
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    wf_strbuf shown;
    wf_strbuf_init(&shown);
    if (at && (!slash || at < slash)) {
        wf_strbuf_append(&shown, lj->url, (size_t)(host - lj->url));
        wf_strbuf_puts(&shown, "***@");
        wf_strbuf_puts(&shown, at + 1);
    } else {
        wf_strbuf_puts(&shown, lj->url);
    }
    char inflight[24];
    snprintf(inflight, sizeof inflight, "%zu", lj->opt.max_in_flight);
    wf_log(WF_LOG_INFO, "llm judge started", "url", shown.oom ? "?" : shown.data, "model",
           lj->model, "max_in_flight", inflight, NULL);
    wf_strbuf_free(&shown);
}

wf_judge *wf_judge_llm_new(const wf_llm_options *o, wf_error *err)
{
    /* Idempotent and reference-counted by libcurl; the daemon calls it first. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        wf_error_set(err, WF_EIO, "llm judge: curl_global_init failed");
        return NULL;
    }
    wf_llm_judge *lj = calloc(1, sizeof *lj);
    if (!lj || init_sync(lj) != 0) {
        free(lj);
        wf_error_set(err, WF_ENOMEM, "llm judge: out of memory");
        return NULL;
    }
    lj->metrics_handle = -1;
    if (copy_options(lj, o, err) < 0 || alloc_parts(lj, err) < 0) {
        llm_free(lj);
        return NULL;
    }
    if (build_headers(lj, o->api_key) < 0) {
        llm_free(lj);
        wf_error_set(err, WF_ENOMEM, "llm judge: out of memory");
        return NULL;
    }
    wf_llm_breaker_init(&lj->breaker, o->breaker_failures, o->breaker_cooldown_ms);
    lj->base.ops = &wf_llm_judge_ops;
    lj->base.impl = lj;
    if (pthread_create(&lj->thread, NULL, wf_llm_worker_main, lj) != 0) {
        llm_free(lj);
        wf_error_set(err, WF_EIO, "llm judge: cannot start its thread");
        return NULL;
    }
    lj->metrics_handle = wf_metrics_register(wf_llm_metrics_collect, lj);
    log_started(lj);
    return &lj->base;
}
