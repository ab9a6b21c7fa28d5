/* wf_event_parse on stored samples (input.shape sample): every member read
 * by its fixed name, detection by "type", and the exact reason and message
 * of each way a sample record can be wrong. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/event.h"
#include "wildfeed/sample.h"

/* A sample as wf_sample_to_jsonl writes it; history, text and split are
 * read by nobody, so they may disagree with the rest. */
static const char GOOD[] =
    "{\"id\":\"c7_turn2\",\"history\":[],\"text\":\"not read\","
    "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
    "{\"role\":\"assistant\",\"content\":\"Hello!\"},"
    "{\"role\":\"user\",\"content\":\"Sort [3,1,2]\"},"
    "{\"role\":\"assistant\",\"content\":\"[1,2,3]\"}],"
    "\"user_feedback\":\"thanks\",\"label\":4,\"annotation\":5,\"source\":\"hindsight\","
    "\"reason\":\"turn 3 judged 5\",\"split\":\"bogus\",\"conversation_id\":\"c7\",\"turn\":2,"
    "\"user_id\":\"u7\",\"language\":\"English\",\"model\":\"gpt-4o\","
    "\"created_at\":1764133200,\"type\":\"sample\"}";

static wf_parser *parser_with(wf_config **cfg, const char *shape)
{
    wf_error err;
    *cfg = wf_config_new();
    if (shape && wf_config_set(*cfg, shape, &err) < 0)
        fail_msg("%s: %s", shape, err.msg);
    wf_parser *p = wf_parser_new(*cfg, &err);
    if (!p)
        fail_msg("parser: %s", err.msg);
    return p;
}

/* GOOD with its one occurrence of from replaced by to (malloc'd). */
static char *good_with(const char *from, const char *to)
{
    const char *at = strstr(GOOD, from);
    if (!at || strstr(at + 1, from))
        fail_msg("'%s' is not in the record exactly once", from);
    size_t head = (size_t)(at - GOOD), n = strlen(GOOD) - strlen(from) + strlen(to);
    char *s = malloc(n + 1);
    assert_non_null(s);
    snprintf(s, n + 1, "%.*s%s%s", (int)head, GOOD, to, at + strlen(from));
    return s;
}

static void parse_ok(const wf_parser *p, const char *json, wf_event *ev)
{
    wf_bad_reason reason = WF_BAD_COUNT;
    wf_error err = {0};
    if (wf_event_parse(p, json, strlen(json), ev, &reason, &err) != 0)
        fail_msg("%s -> %s: %s", json, wf_bad_reason_name(reason), err.msg);
}

/* GOOD with from replaced by to is refused for want, with message msg. */
static void expect_bad(const wf_parser *p, const char *from, const char *to, wf_bad_reason want,
                       const char *msg)
{
    char *json = good_with(from, to);
    wf_event ev;
    wf_bad_reason reason = WF_BAD_COUNT;
    wf_error err = {0};
    assert_int_equal(wf_event_parse(p, json, strlen(json), &ev, &reason, &err), WF_EPARSE);
    assert_string_equal(wf_bad_reason_name(reason), wf_bad_reason_name(want));
    assert_string_equal(err.msg, msg);
    assert_null(ev.doc);
    assert_null(ev.extra);
    free(json);
}

static void assert_msg(const wf_msg *m, const char *role, const char *content)
{
    assert_string_equal(m->role, role);
    assert_string_equal(m->content, content);
    assert_int_equal(m->content_len, strlen(content));
}

static void valid_record(void **state)
{
    (void)state;
    wf_config *cfg;
    wf_parser *p = parser_with(&cfg, NULL);
    wf_event ev;
    parse_ok(p, GOOD, &ev);
    assert_int_equal(ev.shape, WF_SHAPE_SAMPLE);
    assert_string_equal(ev.conversation_id, "c7");
    assert_int_equal(ev.turn, 2);
    assert_int_equal(ev.n_messages, 4);
    assert_msg(&ev.messages[0], "user", "hi");
    assert_msg(&ev.messages[1], "assistant", "Hello!");
    assert_msg(&ev.messages[2], "user", "Sort [3,1,2]");
    assert_msg(&ev.messages[3], "assistant", "[1,2,3]");
    assert_string_equal(ev.feedback, "thanks");
    assert_string_equal(ev.reason, "turn 3 judged 5");
    assert_int_equal(ev.annotation, 5);
    assert_int_equal(ev.label, 4);
    assert_int_equal(ev.source, WF_SRC_HINDSIGHT);
    assert_string_equal(ev.user_id, "u7");
    assert_string_equal(ev.language, "English");
    assert_string_equal(ev.model, "gpt-4o");
    assert_int_equal(ev.timestamp, 1764133200);
    wf_event_clear(&ev);
    assert_null(ev.doc);
    assert_null(ev.extra);
    wf_parser_free(p);
    wf_config_free(cfg);
}

/* Optional members absent or null; a fixed shape needs no "type", so an
 * export written before "type" existed still reads as samples. */
static void optional_members_and_fixed_shape(void **state)
{
    (void)state;
    wf_config *cfg;
    wf_parser *p = parser_with(&cfg, "input.shape=sample");
    wf_event ev;
    parse_ok(p,
             "{\"id\":\"c1_turn0\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
             "{\"role\":\"assistant\",\"content\":\"r\"}],\"user_feedback\":\"\",\"label\":1,"
             "\"annotation\":1,\"source\":\"explicit\",\"conversation_id\":\"c1\",\"turn\":0,"
             "\"reason\":null,\"model\":null}",
             &ev);
    assert_int_equal(ev.shape, WF_SHAPE_SAMPLE);
    assert_int_equal(ev.n_messages, 2);
    assert_msg(&ev.messages[0], "user", "q");
    assert_msg(&ev.messages[1], "assistant", "r");
    assert_string_equal(ev.feedback, "");
    assert_int_equal(ev.source, WF_SRC_EXPLICIT);
    assert_int_equal(ev.label, 1);
    assert_string_equal(ev.reason, "");
    assert_string_equal(ev.user_id, "");
    assert_string_equal(ev.language, "");
    assert_string_equal(ev.model, "");
    assert_int_equal(ev.timestamp, 0);
    wf_event_clear(&ev);
    wf_parser_free(p);
    wf_config_free(cfg);
}

/* "type":"sample" wins over the snapshot that "messages" would make; the
 * other shapes are detected as before. */
static void auto_detection(void **state)
{
    (void)state;
    wf_config *cfg;
    wf_parser *p = parser_with(&cfg, NULL);
    wf_event ev;
    char *untyped = good_with(",\"type\":\"sample\"", "");
    parse_ok(p, untyped, &ev);
    assert_int_equal(ev.shape, WF_SHAPE_CONVERSATION);
    assert_int_equal(ev.n_messages, 4);
    wf_event_clear(&ev);
    free(untyped);
    static const struct {
        const char *json;
        wf_shape shape;
    } cases[] = {
        {"{\"conversation_id\":\"c\",\"turn\":0,\"role\":\"user\",\"content\":\"x\"}",
         WF_SHAPE_MESSAGE},
        {"{\"conversation_id\":\"c\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         WF_SHAPE_CONVERSATION},
        {"{\"type\":\"feedback\",\"conversation_id\":\"c\",\"turn\":0,\"rating\":\"up\"}",
         WF_SHAPE_FEEDBACK},
        {"{\"conversation_id\":\"c\",\"turn\":0,\"rating\":2}", WF_SHAPE_FEEDBACK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parse_ok(p, cases[i].json, &ev);
        assert_int_equal(ev.shape, cases[i].shape);
        wf_event_clear(&ev);
    }
    wf_parser_free(p);
    wf_config_free(cfg);
}

static void shape_names(void **state)
{
    (void)state;
    static const char *const want[WF_SHAPE_COUNT] = {"auto", "message", "conversation", "feedback",
                                                     "sample"};
    for (int s = 0; s < WF_SHAPE_COUNT; s++)
        assert_string_equal(wf_shape_name((wf_shape)s), want[s]);
    assert_string_equal(wf_shape_name((wf_shape)WF_SHAPE_COUNT), "unknown");
}

#define MSGS_PREFIX "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
#define LAST_TWO                                                                                   \
    "{\"role\":\"user\",\"content\":\"Sort [3,1,2]\"},"                                            \
    "{\"role\":\"assistant\",\"content\":\"[1,2,3]\"}]"

static void bad_messages(void **state)
{
    (void)state;
    wf_config *cfg;
    wf_parser *p = parser_with(&cfg, NULL);
    expect_bad(p,
               "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
               "{\"role\":\"assistant\",\"content\":\"Hello!\"}," LAST_TWO ",",
               "", WF_BAD_MISSING_FIELD, "missing field 'messages'");
    expect_bad(p, LAST_TWO,
               "{\"role\":\"user\",\"content\":\"Sort [3,1,2]\"},"
               "{\"role\":\"user\",\"content\":\"[1,2,3]\"}]",
               WF_BAD_VALUE,
               "field 'messages[3].role': expected \"assistant\" (the response), got \"user\"");
    expect_bad(p, LAST_TWO,
               "{\"role\":\"assistant\",\"content\":\"Sort [3,1,2]\"},"
               "{\"role\":\"assistant\",\"content\":\"[1,2,3]\"}]",
               WF_BAD_VALUE,
               "field 'messages[2].role': expected \"user\" (the query), got \"assistant\"");
    expect_bad(p, MSGS_PREFIX "{\"role\":\"assistant\",\"content\":\"Hello!\"}," LAST_TWO,
               "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]", WF_BAD_VALUE,
               "field 'messages': expected at least 2 (the query and the response), got 1");
    expect_bad(p, "\"content\":\"Hello!\"", "\"content\":[\"Hello!\"]", WF_BAD_TYPE,
               "field 'messages[1].content': expected string, got array");
    expect_bad(p, "{\"role\":\"assistant\",\"content\":\"Hello!\"}", "\"Hello!\"", WF_BAD_TYPE,
               "field 'messages[1]': expected object, got string");
    expect_bad(p, "{\"role\":\"assistant\",\"content\":\"Hello!\"}", "{\"content\":\"Hello!\"}",
               WF_BAD_MISSING_FIELD, "missing field 'messages[1].role'");
    expect_bad(p, "\"content\":\"Hello!\"", "\"content\":\"Hel\\u0000lo!\"", WF_BAD_VALUE,
               "field 'messages[1].content': contains NUL (\\u0000)");
    wf_parser_free(p);
    wf_config_free(cfg);
}

static void bad_labels(void **state)
{
    (void)state;
    wf_config *cfg;
    wf_parser *p = parser_with(&cfg, NULL);
    expect_bad(p, "\"label\":4", "\"label\":3", WF_BAD_VALUE,
               "field 'label': annotation 5 maps to label 4, got 3");
    /* neutral is never a sample: no label can match it */
    expect_bad(p, "\"annotation\":5", "\"annotation\":3", WF_BAD_VALUE,
               "field 'label': annotation 3 maps to label 0, got 4");
    expect_bad(p, "\"annotation\":5", "\"annotation\":6", WF_BAD_VALUE,
               "field 'annotation': must be in 1..5, got 6");
    expect_bad(p, "\"label\":4", "\"label\":0", WF_BAD_VALUE,
               "field 'label': must be in 1..4, got 0");
    expect_bad(p, "\"label\":4", "\"label\":4.0", WF_BAD_TYPE,
               "field 'label': expected integer, got number");
    expect_bad(p, "\"annotation\":5,", "", WF_BAD_MISSING_FIELD, "missing field 'annotation'");
    expect_bad(p, "\"source\":\"hindsight\"", "\"source\":\"judge\"", WF_BAD_VALUE,
               "field 'source': unknown source \"judge\"");
    expect_bad(p, "\"source\":\"hindsight\"", "\"source\":2", WF_BAD_TYPE,
               "field 'source': expected string, got integer");
    wf_parser_free(p);
    wf_config_free(cfg);
}

static void bad_ids_and_members(void **state)
{
    (void)state;
    wf_config *cfg;
    wf_parser *p = parser_with(&cfg, NULL);
    expect_bad(p, "\"id\":\"c7_turn2\"", "\"id\":\"c7_turn3\"", WF_BAD_VALUE,
               "field 'id': \"c7_turn3\" is not \"<conversation_id>_turn<turn>\" "
               "(\"c7_turn2\")");
    expect_bad(p, "\"id\":\"c7_turn2\"", "\"id\":\"c7_turn2x\"", WF_BAD_VALUE,
               "field 'id': \"c7_turn2x\" is not \"<conversation_id>_turn<turn>\" "
               "(\"c7_turn2\")");
    expect_bad(p, "\"id\":\"c7_turn2\",", "", WF_BAD_MISSING_FIELD, "missing field 'id'");
    expect_bad(p, "\"turn\":2", "\"turn\":\"2\"", WF_BAD_TYPE,
               "field 'turn': expected integer, got string");
    expect_bad(p, "\"turn\":2", "\"turn\":-1", WF_BAD_VALUE,
               "field 'turn': must be in 0..2147483647, got -1");
    expect_bad(p, "\"conversation_id\":\"c7\"", "\"conversation_id\":\"\"", WF_BAD_VALUE,
               "field 'conversation_id': empty");
    expect_bad(p, "\"conversation_id\":\"c7\"", "\"conversation_id\":7", WF_BAD_TYPE,
               "field 'conversation_id': expected string, got integer");
    expect_bad(p, "\"user_feedback\":\"thanks\",", "", WF_BAD_MISSING_FIELD,
               "missing field 'user_feedback'");
    expect_bad(p, "\"reason\":\"turn 3 judged 5\"", "\"reason\":5", WF_BAD_TYPE,
               "field 'reason': expected string, got integer");
    expect_bad(p, "\"user_id\":\"u7\"", "\"user_id\":7", WF_BAD_TYPE,
               "field 'user_id': expected string, got integer");
    expect_bad(p, "\"created_at\":1764133200", "\"created_at\":\"2026-11-26\"", WF_BAD_TYPE,
               "field 'created_at': expected integer, got string");
    expect_bad(p, "\"created_at\":1764133200", "\"created_at\":-5", WF_BAD_VALUE,
               "field 'created_at': must be in 0..9223372036854775807, got -5");
    wf_parser_free(p);
    wf_config_free(cfg);
}

/* As for every shape, the record's bytes are checked first. */
static void invalid_utf8(void **state)
{
    (void)state;
    wf_config *cfg;
    wf_parser *p = parser_with(&cfg, NULL);
    char *json = good_with("\"content\":\"[1,2,3]\"", "\"content\":\"[1,2\xC0\xAF]\"");
    size_t at = (size_t)(strstr(json, "\xC0") - json);
    char want[80];
    snprintf(want, sizeof want, "record: invalid UTF-8 near byte %zu", at);
    wf_event ev;
    wf_bad_reason reason = WF_BAD_COUNT;
    wf_error err = {0};
    assert_int_equal(wf_event_parse(p, json, strlen(json), &ev, &reason, &err), WF_EPARSE);
    assert_int_equal(reason, WF_BAD_UTF8);
    assert_string_equal(err.msg, want);
    free(json);
    wf_parser_free(p);
    wf_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_record),        cmocka_unit_test(optional_members_and_fixed_shape),
        cmocka_unit_test(auto_detection),      cmocka_unit_test(shape_names),
        cmocka_unit_test(bad_messages),        cmocka_unit_test(bad_labels),
        cmocka_unit_test(bad_ids_and_members), cmocka_unit_test(invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
