#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/config.h"

static void assert_round_trip(const wf_config *c)
{
    char *first = wf_config_dump(c);
    assert_non_null(first);
    wf_config *copy = wf_config_new();
    wf_error err;
    if (wf_config_load_string(copy, first, &err) != 0)
        fail_msg("%s", err.msg);
    char *second = wf_config_dump(copy);
    assert_string_equal(first, second);
    free(first);
    free(second);
    wf_config_free(copy);
}

static void test_default_round_trip(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    assert_round_trip(c);
    wf_config_free(c);
}

static void test_changed_round_trip(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    static const char *const sets[] = {"log.level=error",
                                       "source.topics=x,y",
                                       "hindsight.min_similarity=0.1",
                                       "sample.eval_fraction=0",
                                       "filter.drop_pii=false",
                                       "store.path=/tmp/\"q\"\\.db",
                                       "kafka.bootstrap.servers=b:1",
                                       "kafka.session.timeout.ms=6000",
                                       "filter.languages="};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        assert_int_equal(wf_config_set(c, sets[i], NULL), 0);
    assert_round_trip(c);
    wf_config_free(c);
}

/* The dump is nested by dots, keys sorted, kafka properties flat. */
static void test_dump_shape(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    assert_int_equal(wf_config_set(c, "kafka.bootstrap.servers=b:1", NULL), 0);
    char *text = wf_config_dump(c);
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "log"), "level")),
                        "info");
    json_t *fields = json_object_get(json_object_get(doc, "input"), "fields");
    assert_int_equal(json_array_size(json_object_get(fields, "turn")), 1);
    json_t *kafka = json_object_get(doc, "kafka");
    assert_int_equal(json_object_size(kafka), 2);
    assert_string_equal(json_string_value(json_object_get(kafka, "group.id")), "wildfeed");
    assert_string_equal(json_string_value(json_object_get(kafka, "bootstrap.servers")), "b:1");
    assert_null(json_object_get(doc, "log.level"));
    json_decref(doc);
    /* sorted keys, two-space indent, short decimals */
    assert_non_null(strstr(text, "{\n  \"filter\": {"));
    assert_true(strstr(text, "\"filter\"") < strstr(text, "\"hindsight\""));
    assert_true(strstr(text, "\"hindsight\"") < strstr(text, "\"input\""));
    assert_non_null(strstr(text, "\"eval_fraction\": 0.05,"));
    assert_non_null(
        strstr(text, "\"log\": {\n    \"format\": \"logfmt\",\n    \"level\": \"info\"\n  }"));
    free(text);
    wf_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_round_trip),
        cmocka_unit_test(test_changed_round_trip),
        cmocka_unit_test(test_dump_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
