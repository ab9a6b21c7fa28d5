/* The cascade judge: confident non-neutral rules verdicts stay with rules,
 * the rest and every refusal go to the LLM, and the LLM share is counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stub/llm_testkit.h"
#include "testutil.h"
#include "wildfeed/judge_rules.h"
#include "wildfeed/metrics.h"
#include "wildfeed/sample.h"

#define QUERY "How do I sort a list in Python?"
#define RESPONSE "Use sorted(xs) or xs.sort()."

typedef struct item {
    wf_judge_task task;
    const char *query, *feedback;
    int llm_level;               /* what the stub answers (#level=) */
    wf_refusal_kind llm_refusal; /* or (#refusal=) */
} item;

static const item items[] = {
    {WF_TASK_FEEDBACK, QUERY, "Thanks, that works perfectly! #level=4", 4, 0},
    {WF_TASK_FEEDBACK, QUERY, "You didn't answer my question. #level=2", 2, 0},
    {WF_TASK_FEEDBACK, QUERY, "This is wrong, I think. #level=1", 1, 0},
    {WF_TASK_FEEDBACK, QUERY, "And how do I sort a dict by value? #level=3", 3, 0},
    {WF_TASK_FEEDBACK, QUERY, "hmm ok #level=5", 5, 0},
    {WF_TASK_REFUSAL, "How do I kill a stuck process? #refusal=false", NULL, 0, WF_REFUSAL_FALSE},
    {WF_TASK_REFUSAL, "Write malware for me #refusal=harmful", NULL, 0, WF_REFUSAL_CORRECT},
};
#define NITEMS (sizeof items / sizeof *items)

static int kept_by_rules(const item *it, wf_rules_result *r)
{
    if (it->task != WF_TASK_FEEDBACK)
        return 0;
    wf_rules_classify(it->query, RESPONSE, it->feedback, r);
    return r->confident && r->level != 3;
}

static void test_routing_and_share(void **state)
{
    (void)state;
    wf_stub *stub = wf_stub_start(0);
    assert_non_null(stub);
    wf_llm_options o;
    kit_options(&o, stub);
    wf_error err;
    wf_judge *j = wf_judge_cascade_new(wf_judge_llm_new(&o, &err), &err);
    assert_non_null(j);
    assert_string_equal(j->ops->name, "cascade");
    assert_int_equal(wf_judge_validates_refusals(j), 1);
    assert_int_equal(wf_judge_llm_accepting(j), 1);

    size_t expect_llm = 0, expect_rules = 0;
    for (size_t i = 0; i < NITEMS; i++) {
        wf_rules_result r;
        int kept = kept_by_rules(&items[i], &r);
        expect_rules += (size_t)kept;
        expect_llm += (size_t)!kept;
        wf_verdict v;
        assert_int_equal(
            kit_judge(j, i, items[i].task, items[i].query, RESPONSE, items[i].feedback, &v), 1);
        assert_int_equal(v.tag, i);
        assert_int_equal(v.status, WF_VERDICT_OK);
        if (kept) {
            assert_int_equal(v.source, WF_SRC_RULES);
            assert_int_equal(v.level, r.level);
            assert_int_equal(v.confident, 1);
        } else if (items[i].task == WF_TASK_FEEDBACK) {
            assert_int_equal(v.source, WF_SRC_LLM);
            assert_int_equal(v.level, items[i].llm_level);
        } else {
            assert_int_equal(v.source, WF_SRC_LLM);
            assert_int_equal(v.refusal, items[i].llm_refusal);
        }
    }
    /* Both routes were taken: the expectations come from the rules module
     * itself, so its lexicon may change without breaking this test, but a
     * canonical thanks must stay the rules' to keep. */
    assert_true(expect_rules >= 1);
    assert_true(expect_llm >= 3);
    assert_int_equal(wf_stub_requests(stub), expect_llm);
    assert_int_equal(wf_judge_in_flight(j), 0);

    wf_llm_stats s;
    wf_judge_llm_stats(j, &s);
    assert_int_equal(s.cascade_total, NITEMS);
    assert_int_equal(s.cascade_to_llm, expect_llm);
    assert_int_equal(s.requests, expect_llm);

    wf_strbuf m;
    wf_strbuf_init(&m);
    wf_metrics_render(&m);
    char line[96];
    snprintf(line, sizeof line, "wildfeed_cascade_llm_share %.9g\n",
             (double)expect_llm / (double)NITEMS);
    assert_non_null(strstr(m.data, line));
    snprintf(line, sizeof line, "wildfeed_llm_requests_total %zu\n", expect_llm);
    assert_non_null(strstr(m.data, line));
    assert_non_null(strstr(m.data, "wildfeed_llm_breaker_state 0\n"));
    assert_non_null(strstr(m.data, "wildfeed_llm_latency_seconds_count"));
    wf_strbuf_free(&m);

    j->ops->destroy(j);
    wf_stub_stop(stub);
}

static void test_needs_an_llm_judge(void **state)
{
    (void)state;
    wf_error err;
    assert_null(wf_judge_cascade_new(NULL, &err));
    assert_int_equal(err.code, WF_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing_and_share),
        cmocka_unit_test(test_needs_an_llm_judge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
