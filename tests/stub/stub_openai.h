/* A stub OpenAI-compatible endpoint for tests and benchmarks: libmicrohttpd
 * on 127.0.0.1 with an ephemeral port, answering POST /v1/chat/completions.
 *
 * What it does with a request is chosen, in this order, by: the next entry of
 * a scripted FIFO (wf_stub_push), a marker in the request text
 * ("#stub=<kind>", e.g. "#stub=500"; markers keep answers deterministic under
 * concurrency), random chaos (wf_stub_set_chaos), or a plain answer. Answers
 * to the feedback prompt carry "[[N]]" for a "#level=N" marker (3 without
 * one), answers to the refusal prompt "[[X]]" for a "#refusal=X" marker
 * (none without one), and usage {prompt_tokens: 100, completion_tokens: 10}.
 * The stub records what it saw for assertions. Owned by the test
 * (wf_stub_stop). */
#ifndef WF_STUB_OPENAI_H
#define WF_STUB_OPENAI_H

#include <stddef.h>

typedef enum wf_stub_kind {
    WF_STUB_ANSWER = 0, /* "[[N]] reason" */
    WF_STUB_CHATTY,     /* thinking and prose quoting other tags, then the tag, then more text */
    WF_STUB_GARBAGE,    /* content without any tag */
    WF_STUB_EMPTY,      /* empty content */
    WF_STUB_429,        /* 429 with Retry-After: retry_after_s */
    WF_STUB_500,        /* 500 */
    WF_STUB_SLOW,       /* waits delay_ms, then answers */
    WF_STUB_RESET,      /* closes the connection without an answer */
    WF_STUB_KIND_COUNT
} wf_stub_kind;

typedef struct wf_stub_behaviour {
    wf_stub_kind kind;
    int retry_after_s; /* WF_STUB_429 */
    int delay_ms;      /* WF_STUB_SLOW */
} wf_stub_behaviour;

typedef struct wf_stub wf_stub;

/* port 0 picks an ephemeral one. NULL on failure. */
wf_stub *wf_stub_start(unsigned short port);
void wf_stub_stop(wf_stub *s);

/* "http://127.0.0.1:<port>/v1" */
const char *wf_stub_base_url(const wf_stub *s);
unsigned short wf_stub_port(const wf_stub *s);

/* Appends a behaviour to the script (consumed one per request). */
void wf_stub_push(wf_stub *s, wf_stub_behaviour b);
/* Every answer waits this long first (benchmark latency). */
void wf_stub_set_latency(wf_stub *s, int ms);
/* Each request not scripted and without a marker fails with probability
 * permille/1000, as a 500, a 429 (Retry-After: 0) or a reset, from a
 * generator seeded with seed. */
void wf_stub_set_chaos(wf_stub *s, int permille, unsigned long long seed);

/* Requests received on the endpoint path (all outcomes). */
size_t wf_stub_requests(const wf_stub *s);
/* Of those, how many ended with each kind. */
size_t wf_stub_count(const wf_stub *s, wf_stub_kind k);
/* Sets the key requests should carry as "Authorization: Bearer <key>"
 * (NULL: no header expected); requests are checked from then on. */
void wf_stub_expect_key(wf_stub *s, const char *key);
/* Requests whose Authorization header did not match the expectation. */
size_t wf_stub_auth_mismatches(const wf_stub *s);
/* TCP connections accepted so far. */
size_t wf_stub_connections(const wf_stub *s);
/* Copy of the last request body (caller frees), or NULL. */
char *wf_stub_last_body(const wf_stub *s);
/* Resets counters and records (not the script, latency or chaos). */
void wf_stub_reset_counts(wf_stub *s);

wf_stub_kind wf_stub_kind_parse(const char *name, size_t n);

#endif
