/* The `llm` judge (any OpenAI-compatible /v1/chat/completions endpoint) and
 * the `cascade` judge (rules first, the LLM for the rest), DESIGN §5.
 *
 * The llm judge runs libcurl's multi interface on its own thread. Every
 * submitted request yields exactly one verdict: OK, FAILED (retries or the
 * deadline exhausted, or answers that stay unparsable), or, while the
 * circuit breaker is open and on_breaker_open is "park", PARKED. A parked
 * candidate is the caller's to persist and resubmit once
 * wf_judge_llm_accepting() says so. (Jobs still out when the judge is
 * destroyed are dropped with it.)
 *
 * Retried: timeouts, connection errors, 429 and 5xx (with full-jitter
 * exponential back-off, at least Retry-After), up to max_retries and within
 * deadline_ms; an unparsable answer once. Other HTTP statuses are not
 * retried. Every failed HTTP attempt, whatever its status, counts towards
 * the breaker; an unparsable answer does not (the endpoint did answer).
 * The verdict is the last well-formed tag outside <think> blocks. */
#ifndef WILDFEED_JUDGE_LLM_H
#define WILDFEED_JUDGE_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/config.h"
#include "wildfeed/judge.h"

typedef enum wf_llm_on_open {
    WF_LLM_OPEN_RULES = 0, /* judge with the rules classifier (source rules) */
    WF_LLM_OPEN_PARK       /* hand back WF_VERDICT_PARKED */
} wf_llm_on_open;

typedef enum wf_llm_breaker_state {
    WF_BREAKER_CLOSED = 0,
    WF_BREAKER_OPEN = 1,
    WF_BREAKER_HALF_OPEN = 2
} wf_llm_breaker_state;

/* Every string is borrowed: wf_judge_llm_new copies what it keeps. api_key
 * may be NULL or empty (no Authorization header is sent). */
typedef struct wf_llm_options {
    const char *base_url; /* ends in /v1; "/chat/completions" is appended */
    const char *model;
    const char *api_key;
    size_t max_in_flight; /* concurrent HTTP requests */
    size_t queue_cap;     /* submitted and not yet polled, at most */
    long timeout_ms;      /* per HTTP attempt */
    long deadline_ms;     /* per candidate, from submit, retries included */
    int max_retries;      /* retries after the first attempt */
    long backoff_base_ms; /* first back-off cap; doubles per retry */
    long backoff_max_ms;  /* largest back-off cap (Retry-After may exceed it) */
    size_t max_chars;     /* per judged text, in code points */
    int breaker_failures; /* consecutive failed attempts that open it */
    long breaker_cooldown_ms;
    wf_llm_on_open on_open;
    size_t cache_entries; /* 0 disables the verdict cache */
    double temperature;
    int max_tokens;
    uint64_t seed; /* jitter source; 0 picks one from the clock */
} wf_llm_options;

/* Defaults of the judge.llm.* keys, with no endpoint. */
void wf_llm_options_default(wf_llm_options *o);

/* Reads the judge.llm.* keys into o (strings borrowed from cfg). */
int wf_llm_options_from_config(const wf_config *cfg, wf_llm_options *o, wf_error *err);

/* Reads the API key named by judge.llm.api_key_env, or else from the file
 * judge.llm.api_key_file (first line, whitespace trimmed), into buf. An empty
 * key (neither configured) is not an error. */
int wf_llm_read_api_key(const wf_config *cfg, char *buf, size_t cap, wf_error *err);

/* Starts the judge and its thread. Owned by the caller (wf_judge_free). */
wf_judge *wf_judge_llm_new(const wf_llm_options *o, wf_error *err);
/* judge.llm.* from cfg, API key included (wiped from memory once copied). */
wf_judge *wf_judge_llm_create(const wf_config *cfg, wf_error *err);

/* The cascade: owns llm (an llm judge) from the call on, also on failure. */
wf_judge *wf_judge_cascade_new(wf_judge *llm, wf_error *err);
wf_judge *wf_judge_cascade_create(const wf_config *cfg, wf_error *err);

/* For an llm or cascade judge. */
wf_llm_breaker_state wf_judge_llm_breaker(const wf_judge *j);
/* 1 when a resubmitted candidate would go to the endpoint: the breaker is
 * closed, or its cool-down is over and it would send a probe. Owners of
 * parked candidates resubmit when this says 1. */
int wf_judge_llm_accepting(const wf_judge *j);

/* Counters, for reports and tests (a copy taken at the call). */
typedef enum wf_llm_fail_kind {
    WF_LLM_FAIL_TIMEOUT = 0,
    WF_LLM_FAIL_CONNECT,
    WF_LLM_FAIL_HTTP_429,
    WF_LLM_FAIL_HTTP_5XX,
    WF_LLM_FAIL_HTTP_OTHER,
    WF_LLM_FAIL_UNPARSABLE,
    WF_LLM_FAIL_DEADLINE,
    WF_LLM_FAIL_COUNT
} wf_llm_fail_kind;

const char *wf_llm_fail_kind_name(wf_llm_fail_kind k);

typedef struct wf_llm_stats {
    uint64_t submitted;
    uint64_t requests; /* HTTP attempts started */
    uint64_t retries;
    uint64_t failures[WF_LLM_FAIL_COUNT]; /* per failed attempt; deadline per candidate */
    uint64_t verdicts_ok, verdicts_failed, verdicts_parked, verdicts_rules;
    uint64_t tokens_in, tokens_out;
    uint64_t cache_hits;
    uint64_t breaker_opened, breaker_half_opened, breaker_closed; /* transitions */
    uint64_t cascade_total, cascade_to_llm;                       /* cascade judge only */
} wf_llm_stats;

void wf_judge_llm_stats(const wf_judge *j, wf_llm_stats *out);

#endif
