/* Retry back-off with full jitter: a uniform draw up to an exponentially
 * growing cap spreads retries of many failed requests over time instead of
 * sending them back together. The generator is per judge (no global rand). */
#include <time.h>

#include "llm_internal.h"

uint64_t wf_llm_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

long wf_llm_backoff_ms(uint64_t *rng, int retry, long base_ms, long max_ms, long retry_after_ms)
{
    long cap = base_ms > 0 ? base_ms : 0;
    for (int i = 1; i < retry && cap < max_ms; i++)
        cap *= 2;
    if (cap > max_ms)
        cap = max_ms;
    long delay = cap > 0 ? (long)(wf_llm_rng_next(rng) % (uint64_t)(cap + 1)) : 0;
    return delay < retry_after_ms ? retry_after_ms : delay;
}

int64_t wf_llm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
