#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/config.h"

static wf_config *load(const char *fixture)
{
    wf_config *c = wf_config_new();
    assert_non_null(c);
    wf_error err;
    wf_error_clear(&err);
    int rc = wf_config_load_file(c, wf_test_fixture(fixture), &err);
    if (rc != 0)
        fail_msg("%s: %s", fixture, err.msg);
    return c;
}

typedef struct props {
    char text[512];
} props;

static void collect(void *ctx, const char *prop, const char *value)
{
    props *p = ctx;
    size_t n = strlen(p->text);
    snprintf(p->text + n, sizeof p->text - n, "%s=%s;", prop, value);
}

static void check_loaded(const wf_config *c)
{
    assert_string_equal(wf_config_str(c, "log.level"), "debug");
    assert_string_equal(wf_config_str(c, "log.format"), "json");
    assert_int_equal(wf_config_list_len(c, "source.topics"), 2);
    assert_string_equal(wf_config_list_at(c, "source.topics", 0), "a");
    assert_string_equal(wf_config_list_at(c, "source.topics", 1), "b");
    assert_string_equal(wf_config_str(c, "source.dlq_topic"), "dead");
    assert_int_equal(wf_config_list_len(c, "input.fields.role"), 2);
    assert_string_equal(wf_config_list_at(c, "input.fields.role", 0), "/r");
    assert_int_equal(wf_config_int(c, "input.max_record_bytes"), 2048);
    assert_true(wf_config_double(c, "hindsight.min_similarity") == 0.5);
    assert_false(wf_config_bool(c, "filter.drop_urls"));
    /* untouched keys keep their defaults */
    assert_true(wf_config_bool(c, "filter.drop_pii"));
    assert_string_equal(wf_config_str(c, "judge.kind"), "rules");
    props p = {""};
    wf_config_foreach_kafka(c, collect, &p);
    assert_string_equal(p.text, "bootstrap.servers=localhost:9092;enable.auto.commit=false;"
                                "group.id=wildfeed;session.timeout.ms=6000;");
}

static void test_nested_file(void **state)
{
    (void)state;
    wf_config *c = load("config/nested.json");
    check_loaded(c);
    wf_config_free(c);
}

static void test_flat_file_equals_nested(void **state)
{
    (void)state;
    wf_config *flat = load("config/flat.json");
    check_loaded(flat);
    wf_config *nested = load("config/nested.json");
    char *a = wf_config_dump(flat), *b = wf_config_dump(nested);
    assert_string_equal(a, b);
    free(a);
    free(b);
    wf_config_free(flat);
    wf_config_free(nested);
}

static void test_mixed_and_successive_loads(void **state)
{
    (void)state;
    wf_config *c = load("config/nested.json");
    wf_error err;
    assert_int_equal(wf_config_load_file(c, wf_test_fixture("config/mixed.json"), &err), 0);
    assert_string_equal(wf_config_str(c, "log.level"), "warn");
    assert_string_equal(wf_config_str(c, "log.format"), "json"); /* kept from the first file */
    assert_int_equal(wf_config_list_len(c, "source.topics"), 1);
    assert_string_equal(wf_config_list_at(c, "source.topics", 0), "x");
    assert_string_equal(wf_config_list_at(c, "input.fields.turn", 0), "/t");
    assert_string_equal(wf_config_str(c, "kafka.group.id"), "g2");
    assert_string_equal(wf_config_str(c, "kafka.bootstrap.servers"), "localhost:9092");
    wf_config_free(c);
}

static void test_kafka_values(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    wf_error err;
    assert_int_equal(wf_config_load_string(c,
                                           "{\"kafka\": {\"linger.ms\": 5, \"x.ratio\": 0.25, "
                                           "\"enable.idempotence\": true, \"client.id\": \"w\"}}",
                                           &err),
                     0);
    props p = {""};
    wf_config_foreach_kafka(c, collect, &p);
    assert_string_equal(p.text, "client.id=w;enable.idempotence=true;group.id=wildfeed;"
                                "linger.ms=5;x.ratio=0.25;");
    wf_config_free(c);
}

/* Loads text that must fail with code; the message must contain want. */
static void expect_error(const char *json, int code, const char *want)
{
    wf_config *c = wf_config_new();
    char *before = wf_config_dump(c);
    wf_error err;
    wf_error_clear(&err);
    assert_int_equal(wf_config_load_string(c, json, &err), code);
    assert_int_equal(err.code, code);
    if (!strstr(err.msg, want))
        fail_msg("message '%s' lacks '%s'", err.msg, want);
    /* a failed load changes nothing, even keys that came before the bad one */
    char *after = wf_config_dump(c);
    assert_string_equal(before, after);
    free(before);
    free(after);
    wf_config_free(c);
}

static void test_errors_name_the_key(void **state)
{
    (void)state;
    expect_error("{\"log\": {\"levle\": \"debug\"}}", WF_EINVAL,
                 "unknown configuration key 'log.levle'");
    expect_error("{\"log.level\": \"info\", \"nope\": 1}", WF_EINVAL,
                 "unknown configuration key 'nope'");
    expect_error("{\"store\": {\"path\": 5}}", WF_EINVAL,
                 "configuration key 'store.path': expected string, got 5");
    expect_error("{\"session.max_messages\": \"abc\"}", WF_EINVAL,
                 "configuration key 'session.max_messages': expected integer in [2, 10000], got "
                 "\"abc\"");
    expect_error("{\"session\": {\"max_messages\": 1}}", WF_EINVAL,
                 "'session.max_messages': expected integer in [2, 10000], got 1");
    expect_error("{\"session.max_messages\": 64.5}", WF_EINVAL,
                 "'session.max_messages': expected integer in [2, 10000], got 64.5");
    expect_error("{\"session.ttl_s\": 0}", WF_EINVAL,
                 "'session.ttl_s': expected integer >= 1, got 0");
    expect_error("{\"sample.eval_fraction\": 1.5}", WF_EINVAL,
                 "'sample.eval_fraction': expected number in [0, 1], got 1.5");
    expect_error("{\"log.level\": \"loud\"}", WF_EINVAL,
                 "'log.level': expected one of debug|info|warn|error, got \"loud\"");
    expect_error("{\"filter.drop_urls\": \"yes\"}", WF_EINVAL,
                 "'filter.drop_urls': expected boolean, got \"yes\"");
    expect_error("{\"source.topics\": \"a,b\"}", WF_EINVAL,
                 "'source.topics': expected list of strings, got \"a,b\"");
    expect_error("{\"source.topics\": [\"a\", 2]}", WF_EINVAL,
                 "'source.topics': expected list of strings, got [\"a\",2]");
    expect_error("{\"input.fields\": [\"/x\"]}", WF_EINVAL,
                 "configuration key 'input.fields' is a section");
    expect_error("{\"log.level\": \"warn\", \"log\": {\"level\": \"error\"}}", WF_EINVAL,
                 "configuration key 'log.level' is given twice");
    expect_error("{\"kafka\": \"localhost\"}", WF_EINVAL, "configuration key 'kafka'");
    expect_error("{\"kafka\": {\"bootstrap.servers\": [\"a\"]}}", WF_EINVAL,
                 "configuration key 'kafka.bootstrap.servers': expected a string, number or "
                 "boolean");
    expect_error("{\"kafka.\": \"x\"}", WF_EINVAL, "'kafka.': empty librdkafka property");
    expect_error("[1, 2]", WF_EPARSE, "configuration must be a JSON object");
    expect_error("{\"log\": {\"level\": \"debug\",}", WF_EPARSE,
                 "malformed configuration JSON at line 1");
    expect_error("{\"a\": 1, \"a\": 2}", WF_EPARSE, "duplicate object key");
}

static void test_long_value_is_cut_in_message(void **state)
{
    (void)state;
    char json[400];
    snprintf(json, sizeof json, "{\"judge.kind\": \"%0200d\"}", 7);
    expect_error(json, WF_EINVAL, "'judge.kind': expected one of rules|llm|cascade");
    wf_config *c = wf_config_new();
    wf_error err;
    assert_int_equal(wf_config_load_string(c, json, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "got \"00000"));
    assert_non_null(strstr(err.msg, "..."));
    assert_true(strlen(err.msg) < 200);
    wf_config_free(c);
}

static void test_file_errors(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    wf_error err;
    assert_int_equal(wf_config_load_file(c, "/nonexistent/wildfeed.json", &err), WF_EIO);
    assert_string_equal(err.msg, "cannot read configuration file '/nonexistent/wildfeed.json': "
                                 "No such file or directory");

    const char *path = wf_test_fixture("config/malformed.json");
    char want[600];
    assert_int_equal(wf_config_load_file(c, path, &err), WF_EPARSE);
    snprintf(want, sizeof want, "%s:1:", path);
    assert_memory_equal(err.msg, want, strlen(want));
    assert_non_null(strstr(err.msg, "malformed configuration JSON"));

    path = wf_test_fixture("config/unknown.json");
    assert_int_equal(wf_config_load_file(c, path, &err), WF_EINVAL);
    snprintf(want, sizeof want, "%s: unknown configuration key 'log.levle'", path);
    assert_string_equal(err.msg, want);
    wf_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_file),
        cmocka_unit_test(test_flat_file_equals_nested),
        cmocka_unit_test(test_mixed_and_successive_loads),
        cmocka_unit_test(test_kafka_values),
        cmocka_unit_test(test_errors_name_the_key),
        cmocka_unit_test(test_long_value_is_cut_in_message),
        cmocka_unit_test(test_file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
