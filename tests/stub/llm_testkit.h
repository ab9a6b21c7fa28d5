/* Helpers shared by the llm judge's tests: options pointed at a stub and a
 * blocking "judge one candidate". */
#ifndef WF_LLM_TESTKIT_H
#define WF_LLM_TESTKIT_H

#include <string.h>
#include <time.h>

#include "stub_openai.h"
#include "wildfeed/judge_llm.h"

/* Short timeouts and back-offs so failure paths run in milliseconds; the
 * breaker threshold is high so it stays out of tests that are not about it. */
static inline void kit_options(wf_llm_options *o, const wf_stub *s)
{
    wf_llm_options_default(o);
    o->base_url = wf_stub_base_url(s);
    o->model = "stub-model";
    o->timeout_ms = 300;
    o->deadline_ms = 10000;
    o->max_retries = 3;
    o->backoff_base_ms = 5;
    o->backoff_max_ms = 20;
    o->breaker_failures = 1000;
    o->breaker_cooldown_ms = 200;
    o->cache_entries = 0;
    o->seed = 42;
}

static inline long kit_ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Submits one request and waits (up to 15 s) for its verdict; returns the
 * number of verdicts received (1 expected). */
static inline size_t kit_judge(wf_judge *j, uint64_t tag, wf_judge_task task, const char *query,
                               const char *response, const char *feedback, wf_verdict *v)
{
    wf_judge_request r = {tag, task, query, response, feedback};
    wf_error err;
    if (wf_judge_submit(j, &r, &err) != 0)
        return 0;
    size_t got = 0;
    for (int i = 0; i < 150 && got == 0; i++)
        got = wf_judge_poll(j, v, 1, 100);
    return got;
}

static inline size_t kit_feedback(wf_judge *j, uint64_t tag, const char *feedback, wf_verdict *v)
{
    return kit_judge(j, tag, WF_TASK_FEEDBACK, "How do I sort a list in Python?",
                     "Use sorted(xs) or xs.sort().", feedback, v);
}

#endif
