/* 500 candidates submitted at once against an endpoint that fails a third of
 * its requests at random (500, 429, resets): every tag comes back exactly
 * once (parked ones after resubmission), and the counters add up with what
 * the stub saw. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stub/llm_testkit.h"
#include "testutil.h"
#include "wildfeed/sample.h"

#define N 500

static wf_llm_stats run(wf_llm_on_open mode, int breaker_failures)
{
    wf_stub *stub = wf_stub_start(0);
    assert_non_null(stub);
    wf_stub_set_chaos(stub, 333, 12345);
    wf_stub_set_latency(stub, 5);
    wf_llm_options o;
    kit_options(&o, stub);
    o.queue_cap = 128; /* smaller than N: submit meets WF_EAGAIN and waits */
    o.max_in_flight = 64;
    o.max_retries = 2;
    o.breaker_failures = breaker_failures;
    o.breaker_cooldown_ms = 20;
    o.on_open = mode;
    o.cache_entries = 1024;
    wf_error err;
    wf_judge *j = wf_judge_llm_new(&o, &err);
    assert_non_null(j);

    static int seen[N];
    memset(seen, 0, sizeof seen);
    char fb[40];
    size_t submitted = 0, received = 0, eagain = 0, parked = 0;
    size_t by_status[3] = {0};
    uint64_t again[N]; /* parked tags, resubmitted when the judge accepts */
    size_t nagain = 0;
    wf_verdict v[64];
    for (int spin = 0; spin < 20000 && received < N; spin++) {
        while (nagain > 0 && wf_judge_llm_accepting(j)) {
            uint64_t t = again[nagain - 1];
            snprintf(fb, sizeof fb, "#level=%d item %d", (int)(t % 5) + 1, (int)(t % 250));
            wf_judge_request r = {t, WF_TASK_FEEDBACK, "q", "r", fb};
            if (wf_judge_submit(j, &r, &err) != 0)
                break;
            nagain--;
        }
        while (submitted < N) {
            /* Tags t and t + 250 share texts, so some answers may come from
             * the cache; the level is tag % 5 + 1 either way. */
            snprintf(fb, sizeof fb, "#level=%d item %d", (int)(submitted % 5) + 1,
                     (int)(submitted % 250));
            wf_judge_request r = {submitted, WF_TASK_FEEDBACK, "q", "r", fb};
            int rc = wf_judge_submit(j, &r, &err);
            if (rc == WF_EAGAIN) {
                eagain++;
                break;
            }
            assert_int_equal(rc, 0);
            submitted++;
        }
        size_t got = wf_judge_poll(j, v, 64, 50);
        for (size_t k = 0; k < got; k++) {
            assert_true(v[k].tag < N);
            by_status[v[k].status]++;
            if (v[k].status == WF_VERDICT_PARKED) {
                assert_true(nagain < N);
                again[nagain++] = v[k].tag;
                parked++;
                continue;
            }
            seen[v[k].tag]++;
            received++;
            if (v[k].status == WF_VERDICT_OK && v[k].source == WF_SRC_LLM)
                assert_int_equal(v[k].level, (int)(v[k].tag % 5) + 1);
        }
    }
    assert_int_equal(received, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assert_true(eagain > 0);
    assert_int_equal(wf_judge_poll(j, v, 64, 50), 0); /* no duplicate comes later */
    assert_int_equal(wf_judge_in_flight(j), 0);

    wf_llm_stats s;
    wf_judge_llm_stats(j, &s);
    assert_int_equal(s.submitted, N + parked);
    assert_int_equal(s.verdicts_ok + s.verdicts_rules, by_status[WF_VERDICT_OK]);
    assert_int_equal(s.verdicts_failed, by_status[WF_VERDICT_FAILED]);
    assert_int_equal(s.verdicts_parked, by_status[WF_VERDICT_PARKED]);
    /* curl itself resends a request once when a reused connection is closed
     * before any answer, so the stub may see a reset request twice. */
    size_t resets = wf_stub_count(stub, WF_STUB_RESET);
    assert_true(s.requests <= wf_stub_requests(stub));
    assert_true(wf_stub_requests(stub) <= s.requests + resets);
    assert_int_equal(s.failures[WF_LLM_FAIL_HTTP_5XX], wf_stub_count(stub, WF_STUB_500));
    assert_int_equal(s.failures[WF_LLM_FAIL_HTTP_429], wf_stub_count(stub, WF_STUB_429));
    assert_true(s.failures[WF_LLM_FAIL_CONNECT] <= resets);
    assert_int_equal(s.failures[WF_LLM_FAIL_TIMEOUT] + s.failures[WF_LLM_FAIL_HTTP_OTHER] +
                         s.failures[WF_LLM_FAIL_UNPARSABLE],
                     0);
    /* Each candidate: cache hit, fallback, or first request plus retries. */
    assert_int_equal(s.requests + s.cache_hits + s.verdicts_rules + s.verdicts_parked,
                     s.submitted + s.retries);
    j->ops->destroy(j);
    wf_stub_stop(stub);
    return s;
}

static void test_random_failures_breaker_closed(void **state)
{
    (void)state;
    wf_llm_stats s = run(WF_LLM_OPEN_RULES, 100000);
    assert_true(s.failures[WF_LLM_FAIL_HTTP_5XX] + s.failures[WF_LLM_FAIL_HTTP_429] > 20);
    assert_int_equal(s.breaker_opened, 0);
    assert_int_equal(s.verdicts_rules, 0);
}

static void test_random_failures_breaker_flapping_rules(void **state)
{
    (void)state;
    wf_llm_stats s = run(WF_LLM_OPEN_RULES, 2);
    assert_true(s.breaker_opened >= 1);
    assert_true(s.verdicts_rules > 0);
    assert_int_equal(s.verdicts_parked, 0);
}

static void test_random_failures_breaker_flapping_park(void **state)
{
    (void)state;
    wf_llm_stats s = run(WF_LLM_OPEN_PARK, 2);
    assert_true(s.breaker_opened >= 2);
    assert_true(s.breaker_closed >= 1);
    assert_true(s.verdicts_parked > 0);
    assert_int_equal(s.verdicts_rules, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_failures_breaker_closed),
        cmocka_unit_test(test_random_failures_breaker_flapping_rules),
        cmocka_unit_test(test_random_failures_breaker_flapping_park),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
