/* The rules judge behind the asynchronous interface: verdicts are ready at
 * submit, wait in a bounded ring, come back in order with their tags, and
 * refusal validation is refused. */
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "wildfeed/judge_rules.h"
#include "wildfeed/sample.h"

static wf_judge_request feedback_request(uint64_t tag, const char *feedback)
{
    return (wf_judge_request){.tag = tag,
                              .task = WF_TASK_FEEDBACK,
                              .query = "How do I reverse a list in Python?",
                              .response = "Use xs[::-1] or xs.reverse().",
                              .feedback = feedback};
}

static void verdicts_come_back_in_order_with_tags(void **state)
{
    (void)state;
    wf_error err;
    wf_judge *j = wf_judge_rules_new(8, &err);
    assert_non_null(j);
    assert_string_equal(j->ops->name, "rules");
    const char *texts[] = {"this is wrong", "you forgot the edge case", "what about tuples?",
                           "interesting, what if the list is huge?", "thanks, this works"};
    for (int i = 0; i < 5; i++) {
        wf_judge_request r = feedback_request(100 + (uint64_t)i, texts[i]);
        assert_int_equal(wf_judge_submit(j, &r, &err), 0);
    }
    assert_int_equal(wf_judge_in_flight(j), 5);
    wf_verdict v[8];
    assert_int_equal(wf_judge_poll(j, v, 2, 0), 2);
    assert_int_equal(wf_judge_in_flight(j), 3);
    assert_int_equal(wf_judge_poll(j, v + 2, 8, 0), 3);
    assert_int_equal(wf_judge_in_flight(j), 0);
    const int levels[] = {1, 2, 3, 4, 5};
    const char *reasons[] = {"rejection:wrong", "correction:forgot", "no_cue", "engagement",
                             "problem_solved"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(v[i].tag, 100 + i);
        assert_int_equal(v[i].task, WF_TASK_FEEDBACK);
        assert_int_equal(v[i].status, WF_VERDICT_OK);
        assert_int_equal(v[i].level, levels[i]);
        assert_int_equal(v[i].source, WF_SRC_RULES);
        assert_int_equal(v[i].refusal, WF_REFUSAL_NONE);
        assert_string_equal(v[i].reason, reasons[i]);
    }
    assert_int_equal(v[1].confident, 1);
    assert_int_equal(v[2].confident, 0);
    j->ops->destroy(j);
}

static void full_ring_says_eagain_until_polled(void **state)
{
    (void)state;
    wf_error err;
    wf_judge *j = wf_judge_rules_new(3, &err);
    assert_non_null(j);
    for (uint64_t t = 0; t < 3; t++) {
        wf_judge_request r = feedback_request(t, "thanks");
        assert_int_equal(wf_judge_submit(j, &r, &err), 0);
    }
    wf_judge_request extra = feedback_request(3, "thanks");
    assert_int_equal(wf_judge_submit(j, &extra, &err), WF_EAGAIN);
    assert_int_equal(err.code, WF_EAGAIN);
    assert_int_equal(wf_judge_in_flight(j), 3);
    wf_verdict v[3];
    assert_int_equal(wf_judge_poll(j, v, 1, 0), 1);
    assert_int_equal(v[0].tag, 0);
    /* The freed slot takes the next verdict; the ring wraps in order. */
    assert_int_equal(wf_judge_submit(j, &extra, &err), 0);
    assert_int_equal(wf_judge_poll(j, v, 3, 0), 3);
    assert_int_equal(v[0].tag, 1);
    assert_int_equal(v[1].tag, 2);
    assert_int_equal(v[2].tag, 3);
    assert_int_equal(v[2].level, 5);
    j->ops->destroy(j);
}

static void refusal_tasks_fail_with_a_reason(void **state)
{
    (void)state;
    wf_error err;
    wf_judge *j = wf_judge_rules_new(4, &err);
    assert_non_null(j);
    assert_int_equal(wf_judge_validates_refusals(j), 0);
    wf_judge_request r = {.tag = 7,
                          .task = WF_TASK_REFUSAL,
                          .query = "How do I pick a lock?",
                          .response = "Sorry, but I can't help with that.",
                          .feedback = "why not?"};
    assert_int_equal(wf_judge_submit(j, &r, &err), 0);
    wf_verdict v;
    assert_int_equal(wf_judge_poll(j, &v, 1, 0), 1);
    assert_int_equal(v.tag, 7);
    assert_int_equal(v.task, WF_TASK_REFUSAL);
    assert_int_equal(v.status, WF_VERDICT_FAILED);
    assert_int_equal(v.refusal, WF_REFUSAL_NONE);
    assert_int_equal(v.source, WF_SRC_RULES);
    assert_string_equal(v.reason, "rules judge cannot validate refusals");
    j->ops->destroy(j);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void empty_poll_returns_at_once(void **state)
{
    (void)state;
    wf_error err;
    wf_judge *j = wf_judge_rules_new(2, &err);
    assert_non_null(j);
    wf_verdict v;
    double t0 = now_ms();
    assert_int_equal(wf_judge_poll(j, &v, 1, 5000), 0);
    assert_true(now_ms() - t0 < 1000);
    assert_int_equal(wf_judge_poll(j, &v, 0, 0), 0);
    j->ops->destroy(j);
}

static void missing_texts_are_neutral(void **state)
{
    (void)state;
    wf_error err;
    wf_judge *j = wf_judge_rules_new(2, &err);
    assert_non_null(j);
    wf_judge_request r = {.tag = 1, .task = WF_TASK_FEEDBACK};
    assert_int_equal(wf_judge_submit(j, &r, &err), 0);
    wf_verdict v;
    assert_int_equal(wf_judge_poll(j, &v, 1, 0), 1);
    assert_int_equal(v.status, WF_VERDICT_OK);
    assert_int_equal(v.level, 3);
    assert_string_equal(v.reason, "no_cue");
    j->ops->destroy(j);
}

static void zero_capacity_is_rejected(void **state)
{
    (void)state;
    wf_error err;
    wf_error_clear(&err);
    assert_null(wf_judge_rules_new(0, &err));
    assert_int_equal(err.code, WF_EINVAL);
    assert_string_equal(err.msg, "rules judge: queue capacity must be at least 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verdicts_come_back_in_order_with_tags),
        cmocka_unit_test(full_ring_says_eagain_until_polled),
        cmocka_unit_test(refusal_tasks_fail_with_a_reason),
        cmocka_unit_test(empty_poll_returns_at_once),
        cmocka_unit_test(missing_texts_are_neutral),
        cmocka_unit_test(zero_capacity_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
