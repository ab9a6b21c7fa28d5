#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "wildfeed/config.h"

static void test_stable_defaults(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    assert_non_null(c);
    assert_string_equal(wf_config_str(c, "log.level"), "info");
    assert_string_equal(wf_config_str(c, "log.format"), "logfmt");
    assert_string_equal(wf_config_str(c, "input.shape"), "auto");
    assert_string_equal(wf_config_str(c, "store.path"), "wildfeed.db");
    assert_string_equal(wf_config_str(c, "judge.kind"), "rules");
    assert_string_equal(wf_config_str(c, "model.kind"), "linear");
    assert_string_equal(wf_config_str(c, "model.dir"), "models");
    assert_int_equal(wf_config_int(c, "train.min_new_samples"), 1000);
    assert_int_equal(wf_config_int(c, "train.interval_s"), 3600);
    assert_string_equal(wf_config_str(c, "server.listen"), "127.0.0.1:8470");
    assert_string_equal(wf_config_str(c, "server.admin_token_file"), "");
    assert_int_equal(wf_config_list_len(c, "source.topics"), 1);
    assert_string_equal(wf_config_list_at(c, "source.topics", 0), "chat.logs");
    assert_null(wf_config_list_at(c, "source.topics", 1));
    assert_string_equal(wf_config_str(c, "source.dlq_topic"), "");
    assert_string_equal(wf_config_str(c, "kafka.group.id"), "wildfeed");
    assert_null(wf_config_str(c, "kafka.bootstrap.servers"));
    wf_config_free(c);
}

static void test_other_defaults(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    assert_int_equal(wf_config_int(c, "input.max_record_bytes"), 1048576);
    assert_int_equal(wf_config_list_len(c, "input.fields.conversation_id"), 3);
    assert_string_equal(wf_config_list_at(c, "input.fields.conversation_id", 1),
                        "/conversation_hash");
    assert_int_equal(wf_config_list_len(c, "input.fields.response"), 2);
    assert_string_equal(wf_config_list_at(c, "input.fields.response", 0),
                        "/response/choices/0/message");
    assert_int_equal(wf_config_int(c, "session.max_conversations"), 100000);
    assert_int_equal(wf_config_int(c, "session.ttl_s"), 3600);
    assert_int_equal(wf_config_int(c, "session.max_messages"), 64);
    assert_int_equal(wf_config_list_len(c, "filter.languages"), 2);
    assert_string_equal(wf_config_list_at(c, "filter.languages", 1), "Chinese");
    assert_int_equal(wf_config_int(c, "filter.max_history_messages"), 20);
    assert_int_equal(wf_config_int(c, "filter.min_response_words"), 10);
    assert_int_equal(wf_config_int(c, "filter.min_query_cjk_chars"), 5);
    assert_int_equal(wf_config_int(c, "filter.max_text_words"), 4096);
    assert_true(wf_config_bool(c, "filter.drop_urls"));
    assert_true(wf_config_bool(c, "filter.drop_pii"));
    assert_int_equal(wf_config_int(c, "hindsight.window"), 2);
    assert_int_equal(wf_config_int(c, "hindsight.ngram"), 3);
    assert_int_equal(wf_config_int(c, "refusal.max_chars"), 300);
    assert_int_equal(wf_config_int(c, "quota.per_user_per_day"), 0);
    assert_true(wf_config_double(c, "sample.eval_fraction") == 0.05);
    assert_string_equal(wf_config_str(c, "sample.template_file"), "");
    assert_int_equal(wf_config_int(c, "judge.queue"), 1024);
    wf_config_free(c);
}

static int list_has(const wf_config *c, const char *key, const char *item)
{
    for (size_t i = 0; i < wf_config_list_len(c, key); i++)
        if (strcmp(wf_config_list_at(c, key, i), item) == 0)
            return 1;
    return 0;
}

/* DESIGN §1: the reference list misses "sorry" and "我无法"; ours must not. */
static void test_refusal_and_phrase_lists(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    assert_int_equal(wf_config_list_len(c, "refusal.markers"), 17);
    assert_true(list_has(c, "refusal.markers", "sorry"));
    assert_true(list_has(c, "refusal.markers", "我无法"));
    assert_true(list_has(c, "refusal.markers", "对不起，我不能"));
    assert_true(list_has(c, "filter.image_generation", "画一张"));
    assert_true(list_has(c, "filter.web_search", "search the web"));
    assert_true(list_has(c, "filter.identity", "你是谁"));
    assert_true(list_has(c, "filter.uploaded_file", "截图"));
    assert_true(list_has(c, "filter.audio_video", "视频"));
    static const char *const lists[] = {"filter.image_generation", "filter.web_search",
                                        "filter.identity",         "filter.uploaded_file",
                                        "filter.audio_video",      "refusal.markers"};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        assert_true(wf_config_list_len(c, lists[l]) >= 10);
        for (size_t i = 0; i < wf_config_list_len(c, lists[l]); i++) {
            const char *p = wf_config_list_at(c, lists[l], i);
            for (const char *q = p; *q; q++)
                assert_false(*q >= 'A' && *q <= 'Z'); /* matched against lower-cased text */
        }
    }
    wf_config_free(c);
}

static void count_prop(void *ctx, const char *prop, const char *value)
{
    size_t *n = ctx;
    assert_string_equal(prop, "group.id");
    assert_string_equal(value, "wildfeed");
    (*n)++;
}

static void test_kafka_default(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    size_t n = 0;
    wf_config_foreach_kafka(c, count_prop, &n);
    assert_int_equal(n, 1);
    wf_config_free(c);
}

/* Invariants of the schema tables that every area's file must keep. */
static void test_schema_invariants(void **state)
{
    (void)state;
    size_t ntables = 0;
    const wf_config_key *const *tables = wf_config_schema();
    for (size_t t = 0; tables[t]; t++, ntables++) {
        assert_non_null(tables[t][0].key); /* no empty area table */
        for (const wf_config_key *k = tables[t]; k->key; k++) {
            assert_non_null(k->def);
            assert_true(k->help && strlen(k->help) > 10);
            assert_true(k->type != WF_CFG_ENUM || k->choices);
            size_t n = strlen(k->key);
            /* unique, and no key is also a section of another key */
            for (size_t u = 0; tables[u]; u++)
                for (const wf_config_key *o = tables[u]; o->key; o++) {
                    if (o == k)
                        continue;
                    assert_string_not_equal(o->key, k->key);
                    assert_false(strncmp(o->key, k->key, n) == 0 && o->key[n] == '.');
                }
        }
    }
    assert_int_equal(ntables, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stable_defaults),          cmocka_unit_test(test_other_defaults),
        cmocka_unit_test(test_refusal_and_phrase_lists), cmocka_unit_test(test_kafka_default),
        cmocka_unit_test(test_schema_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
