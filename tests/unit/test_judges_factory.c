/* The judge factory: judge.kind picks the plugin, judge.queue sizes the
 * rules judge, and an unknown kind is an error that lists the known ones. */
#include <string.h>

#include "testutil.h"
#include "wildfeed/config.h"
#include "wildfeed/judge.h"

static void default_config_gives_the_rules_judge(void **state)
{
    (void)state;
    wf_error err;
    wf_config *cfg = wf_config_new();
    assert_non_null(cfg);
    wf_judge *j = wf_judge_create(cfg, &err);
    assert_non_null(j);
    assert_string_equal(j->ops->name, "rules");
    assert_int_equal(wf_judge_validates_refusals(j), 0);
    wf_judge_free(j);
    wf_config_free(cfg);
}

static void judge_queue_bounds_the_rules_judge(void **state)
{
    (void)state;
    wf_error err;
    wf_config *cfg = wf_config_new();
    assert_int_equal(wf_config_set(cfg, "judge.queue=2", &err), 0);
    wf_judge *j = wf_judge_create(cfg, &err);
    assert_non_null(j);
    wf_judge_request r = {.tag = 1, .task = WF_TASK_FEEDBACK, .feedback = "thanks"};
    assert_int_equal(wf_judge_submit(j, &r, &err), 0);
    assert_int_equal(wf_judge_submit(j, &r, &err), 0);
    assert_int_equal(wf_judge_submit(j, &r, &err), WF_EAGAIN);
    assert_int_equal(wf_judge_in_flight(j), 2);
    wf_judge_free(j);
    wf_config_free(cfg);
}

static void kinds_by_name(void **state)
{
    (void)state;
    wf_error err;
    wf_judge *j = wf_judge_create_kind("rules", NULL, &err);
    assert_non_null(j);
    assert_string_equal(j->ops->name, "rules");
    wf_judge_free(j);

    /* The llm and cascade judges need an endpoint: the factory passes their
     * own error through. */
    const char *remote[] = {"llm", "cascade"};
    for (int i = 0; i < 2; i++) {
        wf_error_clear(&err);
        assert_null(wf_judge_create_kind(remote[i], NULL, &err));
        assert_int_equal(err.code, WF_EINVAL);
        assert_int_equal(strncmp(err.msg, "judge.llm.base_url", 18), 0);
    }
    assert_null(wf_judge_create_kind("oracle", NULL, &err));
    assert_int_equal(err.code, WF_EINVAL);
    assert_string_equal(err.msg, "unknown judge kind 'oracle' (rules, llm, cascade)");
    wf_judge_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_config_gives_the_rules_judge),
        cmocka_unit_test(judge_queue_bounds_the_rules_judge),
        cmocka_unit_test(kinds_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
