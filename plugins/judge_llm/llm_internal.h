/* Pieces of the llm judge that are pure and tested on their own: prompts and
 * answer parsing, back-off, the circuit breaker and the verdict cache. */
#ifndef WF_JUDGE_LLM_INTERNAL_H
#define WF_JUDGE_LLM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/judge.h"
#include "wildfeed/judge_llm.h"
#include "wildfeed/strbuf.h"

/* ---- prompts (llm_prompt.c) ---- */

#define WF_LLM_TRUNC_MARKER "\xe2\x80\xa6[truncated]"

/* Appends s cut to max_chars code points (0 = no limit), plus the marker
 * when something was cut. */
void wf_llm_append_truncated(wf_strbuf *b, const char *s, size_t max_chars);

/* Builds the JSON body of one chat completion request for req. */
void wf_llm_build_body(wf_strbuf *out, const wf_llm_options *o, const wf_judge_request *req);

/* ---- answers (llm_parse.c) ---- */

typedef struct wf_llm_answer {
    char *content;              /* malloc'd; NULL when absent */
    long tokens_in, tokens_out; /* -1 when the server sent no usage */
} wf_llm_answer;

/* Parses a chat completion response body. WF_EPARSE when it is not one. */
int wf_llm_parse_response(const char *body, size_t n, wf_llm_answer *out);
void wf_llm_answer_free(wf_llm_answer *a);

/* Reads the verdict out of the model's text into v (level or refusal, and
 * reason). Returns 0, or WF_EPARSE when no tag is found. */
int wf_llm_parse_verdict(const char *text, wf_judge_task task, wf_verdict *v);

/* ---- back-off (llm_backoff.c) ---- */

/* splitmix64: a small deterministic generator, one per judge. */
uint64_t wf_llm_rng_next(uint64_t *state);

/* Delay before retry number `retry` (1-based): full jitter in
 * [0, min(max, base * 2^(retry-1))], and at least retry_after_ms. */
long wf_llm_backoff_ms(uint64_t *rng, int retry, long base_ms, long max_ms, long retry_after_ms);

/* ---- circuit breaker (llm_breaker.c) ---- */

typedef struct wf_llm_breaker {
    int threshold;
    long cooldown_ms;
    int failures;      /* consecutive, while closed */
    int probing;       /* a half-open probe is in flight */
    _Atomic int state; /* wf_llm_breaker_state; read from other threads */
    _Atomic int64_t reopen_at_ms;
    _Atomic uint64_t opened, half_opened, closed; /* transitions */
} wf_llm_breaker;

void wf_llm_breaker_init(wf_llm_breaker *b, int threshold, long cooldown_ms);
/* 1 when a request may be sent now; in half-open it admits one probe, and
 * *probe is set so the caller reports that request's outcome as the probe. */
int wf_llm_breaker_allow(wf_llm_breaker *b, int64_t now_ms, int *probe);
void wf_llm_breaker_success(wf_llm_breaker *b, int probe);
void wf_llm_breaker_failure(wf_llm_breaker *b, int probe, int64_t now_ms);
/* A probe that ended without a verdict on the endpoint (e.g. cancelled). */
void wf_llm_breaker_abandon(wf_llm_breaker *b, int probe);
/* What a request submitted at now_ms would meet; for other threads. */
int wf_llm_breaker_accepting(const wf_llm_breaker *b, int64_t now_ms);

/* ---- verdict cache (llm_cache.c) ---- */

typedef struct wf_llm_cache wf_llm_cache;

uint64_t wf_llm_cache_key(const wf_judge_request *req);
/* NULL when entries is 0 (caching off) or on OOM (*oom set). */
wf_llm_cache *wf_llm_cache_new(size_t entries, int *oom);
void wf_llm_cache_free(wf_llm_cache *c);
/* Copies the cached verdict into v (tag left alone); 1 on a hit. */
int wf_llm_cache_get(wf_llm_cache *c, uint64_t key, wf_verdict *v);
/* Stores v, evicting the least recently used entry when full. */
void wf_llm_cache_put(wf_llm_cache *c, uint64_t key, const wf_verdict *v);
size_t wf_llm_cache_size(const wf_llm_cache *c);

int64_t wf_llm_now_ms(void);

#endif
