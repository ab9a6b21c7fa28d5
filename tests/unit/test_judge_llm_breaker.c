/* The circuit breaker end to end: closed -> open -> half-open -> open again
 * -> half-open -> closed, the rules fallback, and parking with resubmission
 * (every parked candidate comes back exactly once with a real verdict). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../stub/llm_testkit.h"
#include "testutil.h"
#include "wildfeed/judge_rules.h"
#include "wildfeed/sample.h"

#define COOLDOWN_MS 300

typedef struct fixture {
    wf_stub *stub;
    wf_llm_options o;
    wf_judge *j;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->stub = wf_stub_start(0);
    assert_non_null(f->stub);
    kit_options(&f->o, f->stub);
    f->o.max_retries = 0;
    f->o.breaker_failures = 3;
    f->o.breaker_cooldown_ms = COOLDOWN_MS;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->j)
        f->j->ops->destroy(f->j);
    wf_stub_stop(f->stub);
    free(f);
    return 0;
}

static wf_judge *start(fixture *f, wf_llm_on_open mode)
{
    wf_error err;
    f->o.on_open = mode;
    f->j = wf_judge_llm_new(&f->o, &err);
    assert_non_null(f->j);
    return f->j;
}

/* Three failing requests in a row open the breaker. */
static void open_breaker(wf_judge *j)
{
    wf_verdict v;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(wf_judge_llm_breaker(j), WF_BREAKER_CLOSED);
        assert_int_equal(kit_feedback(j, 100 + (uint64_t)i, "#stub=500", &v), 1);
        assert_int_equal(v.status, WF_VERDICT_FAILED);
    }
    assert_int_equal(wf_judge_llm_breaker(j), WF_BREAKER_OPEN);
    assert_int_equal(wf_judge_llm_accepting(j), 0);
}

static void wait_accepting(wf_judge *j)
{
    for (int i = 0; i < 100 && !wf_judge_llm_accepting(j); i++)
        usleep(20 * 1000);
    assert_int_equal(wf_judge_llm_accepting(j), 1);
}

static void test_transitions_with_rules_fallback(void **state)
{
    fixture *f = *state;
    wf_judge *j = start(f, WF_LLM_OPEN_RULES);
    open_breaker(j);
    size_t sent = wf_stub_requests(f->stub);
    assert_int_equal(sent, 3);

    /* Open: judged by rules, nothing sent. */
    const char *fb = "this is wrong, you did not answer my question #level=4";
    wf_rules_result want;
    wf_rules_classify("How do I sort a list in Python?", "Use sorted(xs) or xs.sort().", fb, &want);
    wf_verdict v;
    assert_int_equal(kit_feedback(j, 1, fb, &v), 1);
    assert_int_equal(v.status, WF_VERDICT_OK);
    assert_int_equal(v.source, WF_SRC_RULES);
    assert_int_equal(v.level, want.level);
    assert_int_equal(v.confident, want.confident);
    /* A refusal is never guessed by rules. */
    assert_int_equal(
        kit_judge(j, 2, WF_TASK_REFUSAL, "q #refusal=false", "Sorry, I cannot.", NULL, &v), 1);
    assert_int_equal(v.status, WF_VERDICT_FAILED);
    assert_int_equal(wf_stub_requests(f->stub), sent);

    /* Half-open: one probe; it fails and the breaker opens again. */
    wait_accepting(j);
    assert_int_equal(kit_feedback(j, 3, "#stub=500", &v), 1);
    assert_int_equal(v.status, WF_VERDICT_FAILED);
    assert_int_equal(wf_judge_llm_breaker(j), WF_BREAKER_OPEN);
    assert_int_equal(wf_stub_requests(f->stub), sent + 1);

    /* Half-open again: the probe succeeds and the breaker closes. */
    wait_accepting(j);
    assert_int_equal(kit_feedback(j, 4, "#level=5", &v), 1);
    assert_int_equal(v.status, WF_VERDICT_OK);
    assert_int_equal(v.source, WF_SRC_LLM);
    assert_int_equal(v.level, 5);
    assert_int_equal(wf_judge_llm_breaker(j), WF_BREAKER_CLOSED);
    assert_int_equal(kit_feedback(j, 5, "#level=2", &v), 1);
    assert_int_equal(v.source, WF_SRC_LLM);
    assert_int_equal(v.level, 2);

    wf_llm_stats s;
    wf_judge_llm_stats(j, &s);
    assert_int_equal(s.breaker_opened, 2);
    assert_int_equal(s.breaker_half_opened, 2);
    assert_int_equal(s.breaker_closed, 1);
    assert_int_equal(s.verdicts_rules, 1);
    assert_int_equal(s.verdicts_failed, 5);
    assert_int_equal(s.verdicts_ok, 2);
    assert_int_equal(s.requests, 6);
}

/* Polls until n verdicts arrived (or 10 s passed). */
static size_t collect(wf_judge *j, wf_verdict *out, size_t n)
{
    size_t got = 0;
    for (int i = 0; i < 100 && got < n; i++)
        got += wf_judge_poll(j, out + got, n - got, 100);
    return got;
}

static void test_park_and_resubmit(void **state)
{
    fixture *f = *state;
    wf_judge *j = start(f, WF_LLM_OPEN_PARK);
    open_breaker(j);
    enum { N = 20 };
    wf_judge_request parked[N];
    int final_count[N] = {0};
    wf_error err;
    for (int i = 0; i < N; i++) {
        parked[i] = (wf_judge_request){(uint64_t)i, WF_TASK_FEEDBACK, "q", "r",
                                       i % 2 ? "#level=5" : "#level=1"};
        assert_int_equal(wf_judge_submit(j, &parked[i], &err), 0);
    }
    wf_verdict v[N];
    assert_int_equal(collect(j, v, N), N);
    size_t sent = wf_stub_requests(f->stub);
    int waiting[N], nwait = 0, parked_total = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(v[i].status, WF_VERDICT_PARKED);
        waiting[nwait++] = (int)v[i].tag;
    }
    assert_int_equal(sent, 3);

    /* The owner resubmits whenever the judge accepts again; candidates that
     * meet the half-open breaker are parked once more, none is lost. */
    for (int round = 0; round < 10 && nwait > 0; round++) {
        parked_total += nwait;
        wait_accepting(j);
        for (int k = 0; k < nwait; k++)
            assert_int_equal(wf_judge_submit(j, &parked[waiting[k]], &err), 0);
        size_t got = collect(j, v, (size_t)nwait);
        assert_int_equal(got, (size_t)nwait);
        nwait = 0;
        for (size_t k = 0; k < got; k++) {
            if (v[k].status == WF_VERDICT_PARKED) {
                waiting[nwait++] = (int)v[k].tag;
                continue;
            }
            assert_int_equal(v[k].status, WF_VERDICT_OK);
            assert_int_equal(v[k].level, v[k].tag % 2 ? 5 : 1);
            final_count[v[k].tag]++;
        }
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(final_count[i], 1);
    assert_int_equal(wf_judge_llm_breaker(j), WF_BREAKER_CLOSED);
    assert_int_equal(wf_stub_requests(f->stub), sent + N);
    wf_llm_stats s;
    wf_judge_llm_stats(j, &s);
    assert_int_equal(s.verdicts_parked, (uint64_t)parked_total);
    assert_int_equal(s.verdicts_ok, N);
    assert_int_equal(wf_judge_in_flight(j), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transitions_with_rules_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_park_and_resubmit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
