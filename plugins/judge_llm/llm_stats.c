/* The llm judge's counters: a Prometheus collector and a snapshot for
 * reports and tests. */
#include "llm_judge_impl.h"

static const char *const fail_names[WF_LLM_FAIL_COUNT] = {
    "timeout", "connect", "http_429", "http_5xx", "http_other", "unparsable", "deadline"};

const char *wf_llm_fail_kind_name(wf_llm_fail_kind k)
{
    return k < WF_LLM_FAIL_COUNT ? fail_names[k] : "unknown";
}

wf_llm_judge *wf_llm_judge_of(const wf_judge *j)
{
    if (j && j->ops == &wf_llm_judge_ops)
        return j->impl;
    wf_judge *inner = wf_cascade_inner(j);
    return inner ? inner->impl : NULL;
}

wf_llm_breaker_state wf_judge_llm_breaker(const wf_judge *j)
{
    wf_llm_judge *lj = wf_llm_judge_of(j);
    return lj ? (wf_llm_breaker_state)lj->breaker.state : WF_BREAKER_CLOSED;
}

int wf_judge_llm_accepting(const wf_judge *j)
{
    wf_llm_judge *lj = wf_llm_judge_of(j);
    return lj ? wf_llm_breaker_accepting(&lj->breaker, wf_llm_now_ms()) : 1;
}

void wf_judge_llm_stats(const wf_judge *j, wf_llm_stats *s)
{
    *s = (wf_llm_stats){0};
    const wf_cascade_counters *cc = wf_cascade_counters_of(j);
    if (cc) {
        s->cascade_total = cc->total;
        s->cascade_to_llm = cc->to_llm;
    }
    wf_llm_judge *lj = wf_llm_judge_of(j);
    if (!lj)
        return;
    const wf_llm_counters *c = &lj->c;
    s->submitted = c->submitted;
    s->requests = c->requests;
    s->retries = c->retries;
    for (int k = 0; k < WF_LLM_FAIL_COUNT; k++)
        s->failures[k] = c->failures[k];
    s->verdicts_ok = c->verdicts_ok;
    s->verdicts_failed = c->verdicts_failed;
    s->verdicts_parked = c->verdicts_parked;
    s->verdicts_rules = c->verdicts_rules;
    s->tokens_in = c->tokens_in;
    s->tokens_out = c->tokens_out;
    s->cache_hits = c->cache_hits;
    s->breaker_opened = lj->breaker.opened;
    s->breaker_half_opened = lj->breaker.half_opened;
    s->breaker_closed = lj->breaker.closed;
}

static void counter(wf_strbuf *out, const char *name, const char *help, uint64_t v)
{
    wf_metrics_header(out, name, "counter", help);
    wf_metrics_line_u64(out, name, NULL, v);
}

void wf_llm_metrics_collect(void *ctx, wf_strbuf *out)
{
    wf_llm_judge *lj = ctx;
    wf_llm_stats s;
    wf_judge_llm_stats(&lj->base, &s);
    counter(out, "wildfeed_llm_requests_total", "HTTP requests sent to the LLM judge.", s.requests);
    counter(out, "wildfeed_llm_retries_total", "Retried LLM requests.", s.retries);
    counter(out, "wildfeed_llm_cache_hits_total", "Verdicts answered from the cache.",
            s.cache_hits);
    wf_metrics_header(out, "wildfeed_llm_failures_total", "counter",
                      "Failed LLM attempts by kind (deadline: candidates given up).");
    char labels[64];
    for (int k = 0; k < WF_LLM_FAIL_COUNT; k++) {
        snprintf(labels, sizeof labels, "kind=\"%s\"", fail_names[k]);
        wf_metrics_line_u64(out, "wildfeed_llm_failures_total", labels, s.failures[k]);
    }
    wf_metrics_header(out, "wildfeed_llm_verdicts_total", "counter",
                      "Verdicts of the LLM judge by outcome.");
    wf_metrics_line_u64(out, "wildfeed_llm_verdicts_total", "status=\"ok\"", s.verdicts_ok);
    wf_metrics_line_u64(out, "wildfeed_llm_verdicts_total", "status=\"failed\"", s.verdicts_failed);
    wf_metrics_line_u64(out, "wildfeed_llm_verdicts_total", "status=\"parked\"", s.verdicts_parked);
    wf_metrics_line_u64(out, "wildfeed_llm_verdicts_total", "status=\"rules\"", s.verdicts_rules);
    wf_metrics_header(out, "wildfeed_llm_tokens_total", "counter",
                      "Tokens reported in the endpoint's usage field.");
    wf_metrics_line_u64(out, "wildfeed_llm_tokens_total", "direction=\"in\"", s.tokens_in);
    wf_metrics_line_u64(out, "wildfeed_llm_tokens_total", "direction=\"out\"", s.tokens_out);
    wf_metrics_header(out, "wildfeed_llm_breaker_state", "gauge",
                      "Circuit breaker: 0 closed, 1 open, 2 half-open.");
    wf_metrics_line_u64(out, "wildfeed_llm_breaker_state", NULL, (uint64_t)lj->breaker.state);
    wf_metrics_header(out, "wildfeed_llm_breaker_transitions_total", "counter",
                      "Circuit breaker transitions by new state.");
    wf_metrics_line_u64(out, "wildfeed_llm_breaker_transitions_total", "to=\"open\"",
                        s.breaker_opened);
    wf_metrics_line_u64(out, "wildfeed_llm_breaker_transitions_total", "to=\"half_open\"",
                        s.breaker_half_opened);
    wf_metrics_line_u64(out, "wildfeed_llm_breaker_transitions_total", "to=\"closed\"",
                        s.breaker_closed);
    wf_metrics_header(out, "wildfeed_llm_latency_seconds", "histogram",
                      "Latency of LLM HTTP attempts.");
    wf_histogram_render(&lj->c.latency, out, "wildfeed_llm_latency_seconds", NULL);
}
