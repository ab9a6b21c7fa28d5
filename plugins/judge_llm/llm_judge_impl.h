/* The llm judge's state, shared by its files: the caller-facing side
 * (llm_judge.c), the worker thread (llm_worker.c) and the metrics
 * (llm_stats.c). */
#ifndef WF_JUDGE_LLM_IMPL_H
#define WF_JUDGE_LLM_IMPL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "llm_internal.h"
#include "wildfeed/metrics.h"

/* One candidate, from submit until its verdict. Owned by the judge; the
 * strings live in the same allocation. */
typedef struct wf_llm_job {
    struct wf_llm_job *next;
    wf_judge_request req; /* strings point into text[] */
    uint64_t key;         /* cache key */
    int64_t deadline_ms, due_ms;
    int retries, unparsable;
    size_t slot; /* index in active_jobs while a request is out */
    int probe;   /* this attempt is the breaker's half-open probe */
    wf_llm_fail_kind last_fail;
    wf_strbuf body, resp;
    CURL *easy;
    char text[];
} wf_llm_job;

typedef struct wf_llm_queue {
    wf_llm_job *head, *tail;
    size_t n;
} wf_llm_queue;

void wf_llm_queue_push(wf_llm_queue *q, wf_llm_job *j);
wf_llm_job *wf_llm_queue_pop(wf_llm_queue *q);

typedef struct wf_llm_counters {
    _Atomic uint64_t submitted, requests, retries, failures[WF_LLM_FAIL_COUNT];
    _Atomic uint64_t verdicts_ok, verdicts_failed, verdicts_parked, verdicts_rules;
    _Atomic uint64_t tokens_in, tokens_out, cache_hits;
    wf_histogram latency;
} wf_llm_counters;

typedef struct wf_llm_judge {
    wf_judge base;
    wf_llm_options opt; /* strings below are the judge's copies */
    char *base_url, *model, *url;
    struct curl_slist *headers; /* holds the Authorization line: wiped on free */

    /* Shared with callers, under lock. */
    pthread_mutex_t lock;
    pthread_cond_t ready_cv;
    wf_llm_queue incoming;
    wf_verdict *ready; /* ring of queue_cap */
    size_t ready_head, ready_len;
    size_t outstanding; /* submitted, verdict not yet polled */
    atomic_int stopping;

    /* The worker's own. */
    pthread_t thread;
    CURLM *multi;
    CURL **easy_pool;
    size_t easy_free, active;
    wf_llm_job **active_jobs; /* max_in_flight slots, the first `active` used */
    wf_llm_queue pending, retry_wait;
    wf_llm_cache *cache;
    uint64_t rng;
    wf_llm_breaker breaker;

    wf_llm_counters c;
    int metrics_handle;
} wf_llm_judge;

/* Worker thread body (llm_worker.c). */
void *wf_llm_worker_main(void *arg);
/* Frees a job (and returns nothing to the pool). */
void wf_llm_job_free(wf_llm_job *j);
/* Hands a verdict to poll(); called from the worker. */
void wf_llm_emit(wf_llm_judge *lj, const wf_verdict *v);

void wf_llm_metrics_collect(void *ctx, wf_strbuf *out);

extern const wf_judge_ops wf_llm_judge_ops;
/* The llm judge behind an llm or cascade judge; NULL for any other. */
wf_llm_judge *wf_llm_judge_of(const wf_judge *j);

typedef struct wf_cascade_counters {
    _Atomic uint64_t total, to_llm;
} wf_cascade_counters;
/* The cascade's counters, NULL when j is not a cascade (cascade.c). */
const wf_cascade_counters *wf_cascade_counters_of(const wf_judge *j);
wf_judge *wf_cascade_inner(const wf_judge *j);

#endif
