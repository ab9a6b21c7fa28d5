#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/config.h"

static void set_ok(wf_config *c, const char *assignment)
{
    wf_error err;
    wf_error_clear(&err);
    if (wf_config_set(c, assignment, &err) != 0)
        fail_msg("%s: %s", assignment, err.msg);
}

static void test_set_each_type(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    set_ok(c, "store.path=/var/lib/wf/x=y.db"); /* first '=' splits */
    assert_string_equal(wf_config_str(c, "store.path"), "/var/lib/wf/x=y.db");
    set_ok(c, "source.dlq_topic=");
    assert_string_equal(wf_config_str(c, "source.dlq_topic"), "");
    set_ok(c, "judge.kind=cascade");
    assert_string_equal(wf_config_str(c, "judge.kind"), "cascade");
    set_ok(c, "session.max_messages=10000");
    assert_int_equal(wf_config_int(c, "session.max_messages"), 10000);
    set_ok(c, "input.max_record_bytes=1073741824");
    assert_int_equal(wf_config_int(c, "input.max_record_bytes"), 1073741824);
    set_ok(c, "hindsight.min_similarity=0.75");
    assert_true(wf_config_double(c, "hindsight.min_similarity") == 0.75);
    set_ok(c, "sample.eval_fraction=1");
    assert_true(wf_config_double(c, "sample.eval_fraction") == 1.0);
    set_ok(c, "filter.drop_urls=false");
    assert_false(wf_config_bool(c, "filter.drop_urls"));
    set_ok(c, "filter.drop_urls=1");
    assert_true(wf_config_bool(c, "filter.drop_urls"));
    set_ok(c, "filter.drop_pii=0");
    assert_false(wf_config_bool(c, "filter.drop_pii"));
    set_ok(c, "filter.drop_pii=true");
    assert_true(wf_config_bool(c, "filter.drop_pii"));
    wf_config_free(c);
}

static void test_set_lists(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    set_ok(c, "source.topics=a, b ,c");
    assert_int_equal(wf_config_list_len(c, "source.topics"), 3);
    assert_string_equal(wf_config_list_at(c, "source.topics", 0), "a");
    assert_string_equal(wf_config_list_at(c, "source.topics", 1), "b");
    assert_string_equal(wf_config_list_at(c, "source.topics", 2), "c");
    set_ok(c, "source.topics=solo");
    assert_int_equal(wf_config_list_len(c, "source.topics"), 1);
    assert_string_equal(wf_config_list_at(c, "source.topics", 0), "solo");
    set_ok(c, "filter.languages=");
    assert_int_equal(wf_config_list_len(c, "filter.languages"), 0);
    set_ok(c, "source.topics=a,,b,");
    assert_int_equal(wf_config_list_len(c, "source.topics"), 2);
    /* JSON form, for items that contain commas */
    set_ok(c, "refusal.markers=[\"sorry, but\", \"我无法\"]");
    assert_int_equal(wf_config_list_len(c, "refusal.markers"), 2);
    assert_string_equal(wf_config_list_at(c, "refusal.markers", 0), "sorry, but");
    assert_string_equal(wf_config_list_at(c, "refusal.markers", 1), "我无法");
    set_ok(c, "filter.identity= []");
    assert_int_equal(wf_config_list_len(c, "filter.identity"), 0);
    wf_config_free(c);
}

static void test_set_kafka(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    set_ok(c, "kafka.bootstrap.servers=host1:9092,host2:9092");
    set_ok(c, "kafka.group.id=");
    assert_string_equal(wf_config_str(c, "kafka.bootstrap.servers"), "host1:9092,host2:9092");
    assert_string_equal(wf_config_str(c, "kafka.group.id"), "");
    wf_config_free(c);
}

static void expect_error(const char *assignment, const char *want)
{
    wf_config *c = wf_config_new();
    char *before = wf_config_dump(c);
    wf_error err;
    wf_error_clear(&err);
    assert_int_equal(wf_config_set(c, assignment, &err), WF_EINVAL);
    assert_string_equal(err.msg, want);
    char *after = wf_config_dump(c);
    assert_string_equal(before, after);
    free(before);
    free(after);
    wf_config_free(c);
}

static void test_set_errors(void **state)
{
    (void)state;
    expect_error("log.level", "--set expects key=value, got 'log.level'");
    expect_error("=debug", "--set expects key=value, got '=debug'");
    expect_error("log.levle=debug", "unknown configuration key 'log.levle'");
    expect_error("kafka=x", "configuration key 'kafka' is a section: --set needs a full key");
    expect_error("input.fields=/x",
                 "configuration key 'input.fields' is a section: --set needs a full key");
    expect_error("log.level=loud",
                 "configuration key 'log.level': expected one of debug|info|warn|error, got "
                 "\"loud\"");
    expect_error("session.max_messages=abc",
                 "configuration key 'session.max_messages': expected integer in [2, 10000], got "
                 "\"abc\"");
    expect_error("session.max_messages=1",
                 "configuration key 'session.max_messages': expected integer in [2, 10000], got 1");
    expect_error("session.max_messages=12x",
                 "configuration key 'session.max_messages': expected integer in [2, 10000], got "
                 "\"12x\"");
    expect_error("session.max_messages=",
                 "configuration key 'session.max_messages': expected integer in [2, 10000], got "
                 "\"\"");
    expect_error("session.ttl_s=99999999999999999999",
                 "configuration key 'session.ttl_s': expected integer >= 1, got "
                 "\"99999999999999999999\"");
    expect_error("hindsight.min_similarity=-0.1",
                 "configuration key 'hindsight.min_similarity': expected number in [0, 1], got "
                 "-0.1");
    expect_error("hindsight.min_similarity=nan",
                 "configuration key 'hindsight.min_similarity': expected number in [0, 1], got "
                 "\"nan\"");
    /* a zero alpha or learning rate would train nothing: refused up front */
    expect_error(
        "model.lora.alpha=0",
        "configuration key 'model.lora.alpha': expected number in [1e-06, 65536], got 0.0");
    expect_error("train.lora.lr=0",
                 "configuration key 'train.lora.lr': expected number in [1e-12, 1], got 0.0");
    expect_error("filter.drop_urls=yes",
                 "configuration key 'filter.drop_urls': expected boolean, got \"yes\"");
    expect_error(
        "source.topics=[\"a\",",
        "configuration key 'source.topics': malformed JSON list: ']' expected near end of file");
    expect_error("source.topics=[1]",
                 "configuration key 'source.topics': expected list of strings, got [1]");
    expect_error("store.path=\xff", "configuration key 'store.path': value is not valid UTF-8");
    expect_error("kafka.=1", "configuration key 'kafka.': empty librdkafka property");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_each_type),
        cmocka_unit_test(test_set_lists),
        cmocka_unit_test(test_set_kafka),
        cmocka_unit_test(test_set_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
