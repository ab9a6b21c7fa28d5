/* The llm judge's worker thread: it owns the curl multi handle, the
 * breaker, the cache and the retry schedule, so none of them needs a lock.
 * Each job ends in exactly one wf_llm_emit(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm_judge_impl.h"
#include "wildfeed/judge_rules.h"
#include "wildfeed/log.h"
#include "wildfeed/sample.h"

#define MAX_RESPONSE_BYTES (1u << 20)
#define IDLE_POLL_MS 1000

static void finish(wf_llm_judge *lj, wf_llm_job *j, const wf_verdict *v)
{
    switch (v->status) {
    case WF_VERDICT_OK:
        if (v->source == WF_SRC_RULES)
            lj->c.verdicts_rules++;
        else
            lj->c.verdicts_ok++;
        break;
    case WF_VERDICT_FAILED: lj->c.verdicts_failed++; break;
    case WF_VERDICT_PARKED: lj->c.verdicts_parked++; break;
    }
    wf_llm_emit(lj, v);
    wf_llm_job_free(j);
}

static void verdict_init(wf_verdict *v, const wf_llm_job *j, wf_verdict_status st)
{
    memset(v, 0, sizeof *v);
    v->tag = j->req.tag;
    v->task = j->req.task;
    v->status = st;
    v->level = 3;
    v->source = WF_SRC_LLM;
}

static void fail(wf_llm_judge *lj, wf_llm_job *j, const char *why)
{
    wf_verdict v;
    verdict_init(&v, j, WF_VERDICT_FAILED);
    snprintf(v.reason, sizeof v.reason, "llm: %s after %d retries", why, j->retries);
    finish(lj, j, &v);
}

/* The breaker is open: judge by rules or park, as configured. Refusals are
 * never guessed by rules (DESIGN §5), so in rules mode they fail. */
static void fallback(wf_llm_judge *lj, wf_llm_job *j)
{
    wf_verdict v;
    if (lj->opt.on_open == WF_LLM_OPEN_PARK) {
        verdict_init(&v, j, WF_VERDICT_PARKED);
        snprintf(v.reason, sizeof v.reason, "llm: breaker open, parked");
        finish(lj, j, &v);
        return;
    }
    if (j->req.task != WF_TASK_FEEDBACK) {
        fail(lj, j, "breaker open, refusal not validated");
        return;
    }
    wf_rules_result r;
    wf_rules_classify(j->req.query, j->req.response, j->req.feedback, &r);
    verdict_init(&v, j, WF_VERDICT_OK);
    v.level = r.level;
    v.confident = r.confident;
    v.source = WF_SRC_RULES;
    snprintf(v.reason, sizeof v.reason, "%s", r.reason ? r.reason : "rules");
    finish(lj, j, &v);
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    wf_llm_job *j = ud;
    size_t len = size * n;
    if (j->resp.len + len > MAX_RESPONSE_BYTES)
        return 0; /* aborts the transfer: counted as a failed attempt */
    wf_strbuf_append(&j->resp, data, len);
    return j->resp.oom ? 0 : len;
}

static CURL *take_easy(wf_llm_judge *lj)
{
    if (lj->easy_free > 0) {
        CURL *e = lj->easy_pool[--lj->easy_free];
        curl_easy_reset(e);
        return e;
    }
    return curl_easy_init();
}

static void give_easy(wf_llm_judge *lj, CURL *e)
{
    if (lj->easy_free < lj->opt.max_in_flight)
        lj->easy_pool[lj->easy_free++] = e;
    else
        curl_easy_cleanup(e);
}

static void setup_easy(wf_llm_judge *lj, wf_llm_job *j, CURL *e, long timeout_ms)
{
    curl_easy_setopt(e, CURLOPT_URL, lj->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, lj->headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body.data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body.len);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
}

/* First attempt: the cache may answer; every attempt: the deadline and the
 * breaker decide whether it goes out. */
static void start(wf_llm_judge *lj, wf_llm_job *j, int64_t now)
{
    if (now >= j->deadline_ms) {
        lj->c.failures[WF_LLM_FAIL_DEADLINE]++;
        fail(lj, j, "deadline");
        return;
    }
    wf_verdict v;
    verdict_init(&v, j, WF_VERDICT_OK);
    if (j->retries == 0 && wf_llm_cache_get(lj->cache, j->key, &v)) {
        lj->c.cache_hits++;
        finish(lj, j, &v);
        return;
    }
    if (!wf_llm_breaker_allow(&lj->breaker, now, &j->probe)) {
        fallback(lj, j);
        return;
    }
    if (j->body.len == 0)
        wf_llm_build_body(&j->body, &lj->opt, &j->req);
    CURL *e = take_easy(lj);
    if (j->body.oom || !e) {
        if (e)
            give_easy(lj, e);
        wf_llm_breaker_abandon(&lj->breaker, j->probe);
        fail(lj, j, "out of memory");
        return;
    }
    long remaining = (long)(j->deadline_ms - now);
    setup_easy(lj, j, e, remaining < lj->opt.timeout_ms ? remaining : lj->opt.timeout_ms);
    wf_strbuf_reset(&j->resp);
    j->easy = e;
    lj->c.requests++;
    curl_multi_add_handle(lj->multi, e);
    j->slot = lj->active;
    lj->active_jobs[lj->active++] = j;
}

static wf_llm_fail_kind classify(CURLcode rc, long status)
{
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return WF_LLM_FAIL_TIMEOUT;
    if (rc != CURLE_OK)
        return WF_LLM_FAIL_CONNECT;
    if (status == 429)
        return WF_LLM_FAIL_HTTP_429;
    if (status >= 500 && status <= 599)
        return WF_LLM_FAIL_HTTP_5XX;
    return WF_LLM_FAIL_HTTP_OTHER;
}

/* Schedules another attempt after the back-off, or gives up. */
static void retry_or_fail(wf_llm_judge *lj, wf_llm_job *j, long retry_after_ms, int64_t now)
{
    int unparsable = j->last_fail == WF_LLM_FAIL_UNPARSABLE;
    int allowed = unparsable ? j->unparsable < 1 : j->retries - j->unparsable < lj->opt.max_retries;
    if (!allowed || j->last_fail == WF_LLM_FAIL_HTTP_OTHER) {
        fail(lj, j, wf_llm_fail_kind_name(j->last_fail));
        return;
    }
    long delay = wf_llm_backoff_ms(&lj->rng, j->retries + 1, lj->opt.backoff_base_ms,
                                   lj->opt.backoff_max_ms, retry_after_ms);
    if (now + delay >= j->deadline_ms) {
        lj->c.failures[WF_LLM_FAIL_DEADLINE]++;
        fail(lj, j, "deadline");
        return;
    }
    j->retries++;
    j->unparsable += unparsable;
    lj->c.retries++;
    j->due_ms = now + delay;
    wf_llm_queue_push(&lj->retry_wait, j);
}

static void note_usage(wf_llm_judge *lj, const wf_llm_answer *a)
{
    if (a->tokens_in > 0)
        lj->c.tokens_in += (uint64_t)a->tokens_in;
    if (a->tokens_out > 0)
        lj->c.tokens_out += (uint64_t)a->tokens_out;
}

/* A 200 answer: the verdict, or an unparsable attempt. */
static void answered(wf_llm_judge *lj, wf_llm_job *j, int64_t now)
{
    wf_llm_breaker_success(&lj->breaker, j->probe);
    wf_llm_answer a;
    wf_verdict v;
    verdict_init(&v, j, WF_VERDICT_OK);
    int ok = wf_llm_parse_response(j->resp.data ? j->resp.data : "", j->resp.len, &a) == 0;
    if (ok) {
        note_usage(lj, &a);
        ok = wf_llm_parse_verdict(a.content, j->req.task, &v) == 0;
        wf_llm_answer_free(&a);
    }
    if (!ok) {
        lj->c.failures[WF_LLM_FAIL_UNPARSABLE]++;
        j->last_fail = WF_LLM_FAIL_UNPARSABLE;
        retry_or_fail(lj, j, 0, now);
        return;
    }
    v.tag = j->req.tag;
    wf_llm_cache_put(lj->cache, j->key, &v);
    finish(lj, j, &v);
}

static void attempt_done(wf_llm_judge *lj, CURL *e, CURLcode rc)
{
    wf_llm_job *j = NULL;
    long status = 0;
    curl_off_t retry_after = 0, total_us = 0;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&j);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &retry_after);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_multi_remove_handle(lj->multi, e);
    give_easy(lj, e);
    j->easy = NULL;
    wf_llm_job *last = lj->active_jobs[--lj->active];
    lj->active_jobs[j->slot] = last;
    last->slot = j->slot;
    wf_histogram_observe(&lj->c.latency, (double)total_us / 1e6);
    int64_t now = wf_llm_now_ms();
    if (rc == CURLE_OK && status == 200) {
        answered(lj, j, now);
        return;
    }
    j->last_fail = classify(rc, status);
    lj->c.failures[j->last_fail]++;
    wf_llm_breaker_failure(&lj->breaker, j->probe, now);
    if (wf_log_enabled(WF_LOG_DEBUG)) {
        char st[16];
        snprintf(st, sizeof st, "%ld", status);
        wf_log(WF_LOG_DEBUG, "llm attempt failed", "kind", wf_llm_fail_kind_name(j->last_fail),
               "status", st, "curl", curl_easy_strerror(rc), NULL);
    }
    retry_or_fail(lj, j, (long)retry_after * 1000, now);
}

/* Moves retries that are due to the front of the pending queue (they are
 * older than anything waiting there), keeping their order. */
static void release_due(wf_llm_judge *lj, int64_t now)
{
    wf_llm_queue keep = {0}, due = {0};
    wf_llm_job *j;
    while ((j = wf_llm_queue_pop(&lj->retry_wait)))
        wf_llm_queue_push(j->due_ms <= now ? &due : &keep, j);
    lj->retry_wait = keep;
    while ((j = wf_llm_queue_pop(&lj->pending)))
        wf_llm_queue_push(&due, j);
    lj->pending = due;
}

static void take_incoming(wf_llm_judge *lj)
{
    pthread_mutex_lock(&lj->lock);
    wf_llm_job *j;
    while ((j = wf_llm_queue_pop(&lj->incoming)))
        wf_llm_queue_push(&lj->pending, j);
    pthread_mutex_unlock(&lj->lock);
}

static void dispatch(wf_llm_judge *lj, int64_t now)
{
    while (lj->active < lj->opt.max_in_flight && lj->pending.n > 0)
        start(lj, wf_llm_queue_pop(&lj->pending), now);
}

static void reap(wf_llm_judge *lj)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(lj->multi, &left)))
        if (m->msg == CURLMSG_DONE)
            attempt_done(lj, m->easy_handle, m->data.result);
}

static void drop_all(wf_llm_judge *lj)
{
    wf_llm_job *j;
    while ((j = wf_llm_queue_pop(&lj->pending)))
        wf_llm_job_free(j);
    while ((j = wf_llm_queue_pop(&lj->retry_wait)))
        wf_llm_job_free(j);
    while (lj->active > 0) {
        j = lj->active_jobs[--lj->active];
        curl_multi_remove_handle(lj->multi, j->easy);
        curl_easy_cleanup(j->easy);
        wf_llm_job_free(j);
    }
    while (lj->easy_free > 0)
        curl_easy_cleanup(lj->easy_pool[--lj->easy_free]);
}

static long next_due(const wf_llm_judge *lj, int64_t now)
{
    long wait = IDLE_POLL_MS;
    for (const wf_llm_job *j = lj->retry_wait.head; j; j = j->next)
        if (j->due_ms - now < wait)
            wait = j->due_ms <= now ? 0 : (long)(j->due_ms - now);
    return wait;
}

void *wf_llm_worker_main(void *arg)
{
    wf_llm_judge *lj = arg;
    while (!lj->stopping) {
        take_incoming(lj);
        int64_t now = wf_llm_now_ms();
        release_due(lj, now);
        dispatch(lj, now);
        int running = 0;
        curl_multi_perform(lj->multi, &running);
        reap(lj);
        long wait = next_due(lj, wf_llm_now_ms());
        if (lj->pending.n > 0 && lj->active < lj->opt.max_in_flight)
            wait = 0;
        curl_multi_poll(lj->multi, NULL, 0, (int)wait, NULL);
    }
    drop_all(lj);
    return NULL;
}
