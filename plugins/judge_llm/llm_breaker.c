/* The circuit breaker. Only the judge's worker thread changes it; the state
 * and the end of the cool-down are atomics so that owners of parked
 * candidates can ask from their own thread when to resubmit. A failure is a
 * failed HTTP attempt (timeout, connection, 429, 5xx, other status); an
 * unparsable answer is not, since the endpoint did answer. */
#include "llm_internal.h"

void wf_llm_breaker_init(wf_llm_breaker *b, int threshold, long cooldown_ms)
{
    b->threshold = threshold > 0 ? threshold : 1;
    b->cooldown_ms = cooldown_ms;
    b->failures = 0;
    b->probing = 0;
    b->state = WF_BREAKER_CLOSED;
    b->reopen_at_ms = 0;
    b->opened = b->half_opened = b->closed = 0;
}

static void open_now(wf_llm_breaker *b, int64_t now_ms)
{
    b->state = WF_BREAKER_OPEN;
    b->reopen_at_ms = now_ms + b->cooldown_ms;
    b->probing = 0;
    b->opened++;
}

int wf_llm_breaker_allow(wf_llm_breaker *b, int64_t now_ms, int *probe)
{
    *probe = 0;
    if (b->state == WF_BREAKER_CLOSED)
        return 1;
    if (b->state == WF_BREAKER_OPEN) {
        if (now_ms < b->reopen_at_ms)
            return 0;
        b->state = WF_BREAKER_HALF_OPEN;
        b->half_opened++;
    }
    if (b->probing)
        return 0;
    b->probing = 1;
    *probe = 1;
    return 1;
}

void wf_llm_breaker_success(wf_llm_breaker *b, int probe)
{
    if (probe && b->state == WF_BREAKER_HALF_OPEN) {
        b->probing = 0;
        b->state = WF_BREAKER_CLOSED;
        b->closed++;
    }
    if (b->state == WF_BREAKER_CLOSED)
        b->failures = 0;
}

void wf_llm_breaker_failure(wf_llm_breaker *b, int probe, int64_t now_ms)
{
    if (probe && b->state == WF_BREAKER_HALF_OPEN) {
        open_now(b, now_ms);
        return;
    }
    if (b->state == WF_BREAKER_CLOSED && ++b->failures >= b->threshold) {
        b->failures = 0;
        open_now(b, now_ms);
    }
}

void wf_llm_breaker_abandon(wf_llm_breaker *b, int probe)
{
    if (probe)
        b->probing = 0;
}

int wf_llm_breaker_accepting(const wf_llm_breaker *b, int64_t now_ms)
{
    int s = b->state;
    if (s == WF_BREAKER_CLOSED)
        return 1;
    if (s == WF_BREAKER_OPEN)
        return now_ms >= b->reopen_at_ms;
    return 0;
}
