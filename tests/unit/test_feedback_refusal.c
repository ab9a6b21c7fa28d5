#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedback/refusal.h"

static wf_refusal_detector *detector(const char *markers, const char *max_chars)
{
    wf_config *cfg = wf_config_new();
    assert_non_null(cfg);
    wf_error err = {0};
    char set[512];
    if (markers) {
        snprintf(set, sizeof set, "refusal.markers=%s", markers);
        assert_int_equal(wf_config_set(cfg, set, &err), 0);
    }
    if (max_chars) {
        snprintf(set, sizeof set, "refusal.max_chars=%s", max_chars);
        assert_int_equal(wf_config_set(cfg, set, &err), 0);
    }
    wf_refusal_detector *d = wf_refusal_detector_new(cfg, &err);
    assert_non_null(d);
    wf_config_free(cfg);
    return d;
}

static int detect(const wf_refusal_detector *d, const char *s)
{
    return wf_refusal_detect(d, s, strlen(s));
}

/* The default markers, English and Chinese, in the case and apostrophe
 * variants real replies use. */
static void test_default_markers(void **state)
{
    (void)state;
    wf_refusal_detector *d = detector(NULL, NULL);
    const char *refusals[] = {
        "I cannot help with that request.",
        "I can't help with that.",
        "I can\xe2\x80\x99t assist with creating malware.", /* curly apostrophe */
        "I CAN\xe2\x80\x98T do that",                       /* left quote, upper case */
        "As an AI language model, I do not have opinions.",
        "Sorry, but I won't write that.",
        "I'm  sorry,\n but that is not something I can do.", /* whitespace runs */
        "I am unable to provide that information.",
        "我无法提供这方面的帮助。",
        "抱歉，这个请求我不能完成。",
        "对不起，我不能帮你做这件事。",
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
        if (!detect(d, refusals[i]))
            fail_msg("not detected: %s", refusals[i]);
    const char *answers[] = {
        "Here is the function you asked for: def f(x): return x * 2",
        "The capital of France is Paris.",
        "这是你要的代码，运行前请先安装依赖。",
        "",
    };
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++)
        if (detect(d, answers[i]))
            fail_msg("false refusal: %s", answers[i]);
    wf_refusal_detector_free(d);
}

/* The reference list lost a comma and matched neither "sorry" nor "我无法":
 * configured as two markers, each matches on its own. */
static void test_sorry_and_chinese_separately(void **state)
{
    (void)state;
    wf_refusal_detector *d = detector("sorry,我无法", NULL);
    assert_true(detect(d, "Sorry, I don't think I should."));
    assert_true(detect(d, "I'm so sorry to hear that."));
    assert_true(detect(d, "我无法回答"));
    assert_false(detect(d, "Happy to help: here it is."));
    assert_false(detect(d, "我无 法")); /* a marker is matched whole */
    wf_refusal_detector_free(d);
}

/* Length limit in code points: a reply of exactly max_chars is not short. */
static void test_length_limit(void **state)
{
    (void)state;
    wf_refusal_detector *d = detector("i cannot", "20");
    assert_true(detect(d, "I cannot do that..."));   /* 19 chars */
    assert_false(detect(d, "I cannot do that....")); /* 20 chars */
    wf_refusal_detector_free(d);

    /* Chinese: 11 code points of 3 bytes each are 11, not 33 */
    d = detector("我无法", "12");
    assert_true(detect(d, "我无法帮你完成这个任务"));    /* 10 code points */
    assert_false(detect(d, "我无法帮你完成这个任务。")); /* 12 */
    wf_refusal_detector_free(d);
}

static void test_default_limit_300(void **state)
{
    (void)state;
    wf_refusal_detector *d = detector(NULL, NULL);
    char buf[400];
    const char *head = "I cannot help. ";
    size_t h = strlen(head);
    memcpy(buf, head, h);
    memset(buf + h, 'x', sizeof buf - h);
    assert_true(wf_refusal_detect(d, buf, 299));
    assert_false(wf_refusal_detect(d, buf, 300));
    wf_refusal_detector_free(d);
}

/* Markers are normalised like replies: an upper-case, curly marker works. */
static void test_marker_normalised(void **state)
{
    (void)state;
    wf_refusal_detector *d = detector("[\"I  WON\xe2\x80\x99T \"]", NULL);
    assert_true(detect(d, "No, i won't."));
    assert_false(detect(d, "I will."));
    wf_refusal_detector_free(d);
    /* max_chars 0 turns detection off */
    d = detector(NULL, "0");
    assert_false(detect(d, "I cannot."));
    wf_refusal_detector_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_markers),
        cmocka_unit_test(test_sorry_and_chinese_separately),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_default_limit_300),
        cmocka_unit_test(test_marker_normalised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
