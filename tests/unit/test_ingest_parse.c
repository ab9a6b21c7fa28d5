/* wf_event_parse: every input shape, the field mapping, every bad reason. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/event.h"

typedef struct fixture {
    wf_config *cfg;
    wf_parser *p;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    wf_error err;
    f->cfg = wf_config_new();
    f->p = f->cfg ? wf_parser_new(f->cfg, &err) : NULL;
    *state = f;
    return f->p ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    wf_parser_free(f->p);
    wf_config_free(f->cfg);
    free(f);
    return 0;
}

/* A parser from the defaults plus "key=value" assignments (NULL-ended). */
static wf_parser *parser_with(wf_config **cfg, ...)
{
    wf_error err;
    *cfg = wf_config_new();
    va_list ap;
    va_start(ap, cfg);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;)
        if (wf_config_set(*cfg, a, &err) < 0)
            fail_msg("%s: %s", a, err.msg);
    va_end(ap);
    wf_parser *p = wf_parser_new(*cfg, &err);
    if (!p)
        fail_msg("parser: %s", err.msg);
    return p;
}

static void parse_ok(const wf_parser *p, const char *json, wf_event *ev)
{
    wf_bad_reason reason = WF_BAD_COUNT;
    wf_error err = {0};
    int rc = wf_event_parse(p, json, strlen(json), ev, &reason, &err);
    if (rc != 0)
        fail_msg("%s -> %s: %s", json, wf_bad_reason_name(reason), err.msg);
}

static void expect_bad_n(const wf_parser *p, const char *buf, size_t len, wf_bad_reason want,
                         const char *msg, int prefix_only)
{
    wf_event ev;
    wf_bad_reason reason = WF_BAD_COUNT;
    wf_error err = {0};
    assert_int_equal(wf_event_parse(p, buf, len, &ev, &reason, &err), WF_EPARSE);
    assert_string_equal(wf_bad_reason_name(reason), wf_bad_reason_name(want));
    assert_int_equal(err.code, WF_EPARSE);
    if (prefix_only)
        assert_memory_equal(err.msg, msg, strlen(msg));
    else
        assert_string_equal(err.msg, msg);
    assert_null(ev.doc);
    assert_null(ev.extra);
}

static void expect_bad(const wf_parser *p, const char *json, wf_bad_reason want, const char *msg)
{
    expect_bad_n(p, json, strlen(json), want, msg, 0);
}

static void assert_msg(const wf_msg *m, const char *role, const char *content)
{
    assert_string_equal(m->role, role);
    assert_string_equal(m->content, content);
    assert_int_equal(m->content_len, strlen(content));
}

static void message_event(void **state)
{
    fixture *f = *state;
    wf_event ev;
    parse_ok(f->p,
             "{\"conversation_id\":\"c1\",\"turn\":3,\"role\":\"user\",\"content\":\"hello "
             "there\",\"user_id\":\"u7\",\"language\":\"English\",\"model\":\"gpt-4o\","
             "\"timestamp\":\"2026-11-26T05:00:00Z\"}",
             &ev);
    assert_int_equal(ev.shape, WF_SHAPE_MESSAGE);
    assert_string_equal(ev.conversation_id, "c1");
    assert_int_equal(ev.turn, 3);
    assert_msg(&ev.message, "user", "hello there");
    assert_string_equal(ev.user_id, "u7");
    assert_string_equal(ev.language, "English");
    assert_string_equal(ev.model, "gpt-4o");
    assert_int_equal(ev.timestamp, 1795669200);
    assert_int_equal(ev.n_messages, 0);
    assert_null(ev.extra); /* the common path copies nothing */
    wf_event_clear(&ev);
    assert_null(ev.doc);
}

static void message_optional_fields_absent(void **state)
{
    fixture *f = *state;
    wf_event ev;
    parse_ok(f->p,
             "{\"conversation_id\":42,\"turn\":0,\"role\":\"human\",\"content\":\"hi\","
             "\"language\":null,\"user_id\":1234567890123}",
             &ev);
    assert_string_equal(ev.conversation_id, "42");
    assert_string_equal(ev.user_id, "1234567890123");
    assert_string_equal(ev.language, "");
    assert_string_equal(ev.model, "");
    assert_int_equal(ev.timestamp, 0);
    assert_msg(&ev.message, "user", "hi");
    wf_event_clear(&ev);
}

static void roles_are_normalized(void **state)
{
    fixture *f = *state;
    static const char *const cases[][2] = {
        {"user", "user"},     {"Human", "user"},      {"gpt", "assistant"},
        {"bot", "assistant"}, {"model", "assistant"}, {"ASSISTANT", "assistant"},
        {"system", "system"}, {"tool", "tool"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[160];
        snprintf(json, sizeof json,
                 "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"%s\",\"content\":\"x\"}",
                 cases[i][0]);
        wf_event ev;
        parse_ok(f->p, json, &ev);
        assert_string_equal(ev.message.role, cases[i][1]);
        wf_event_clear(&ev);
    }
}

static void content_parts_are_joined(void **state)
{
    fixture *f = *state;
    wf_event ev;
    parse_ok(f->p,
             "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":["
             "{\"type\":\"text\",\"text\":\"look at this\"},"
             "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x/y.png\"}},"
             "{\"type\":\"text\",\"text\":\"what is it?\"},\"and this\"]}",
             &ev);
    assert_msg(&ev.message, "user", "look at this\nwhat is it?\nand this");
    assert_non_null(ev.extra);
    wf_event_clear(&ev);
    assert_null(ev.extra);

    /* one text part is borrowed, no text part gives empty content */
    parse_ok(f->p,
             "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":["
             "{\"type\":\"input_text\",\"text\":\"only\"},{\"type\":\"image_url\"}]}",
             &ev);
    assert_msg(&ev.message, "user", "only");
    assert_null(ev.extra);
    wf_event_clear(&ev);
    parse_ok(f->p, "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":[]}", &ev);
    assert_msg(&ev.message, "user", "");
    wf_event_clear(&ev);
}

static void wildchat_snapshot(void **state)
{
    fixture *f = *state;
    wf_event ev;
    parse_ok(f->p,
             "{\"conversation_hash\":\"3f1a\",\"model\":\"gpt-3.5-turbo-0301\","
             "\"timestamp\":\"2023-04-09 00:02:53+00:00\",\"turn\":2,\"language\":\"Chinese\","
             "\"hashed_ip\":\"ab12\",\"toxic\":false,\"conversation\":["
             "{\"role\":\"user\",\"content\":\"你好\",\"language\":\"Chinese\"},"
             "{\"role\":\"assistant\",\"content\":\"你好！有什么可以帮你？\"},"
             "{\"role\":\"user\",\"content\":\"谢谢\"}]}",
             &ev);
    assert_int_equal(ev.shape, WF_SHAPE_CONVERSATION);
    assert_string_equal(ev.conversation_id, "3f1a");
    assert_string_equal(ev.user_id, "ab12");
    assert_string_equal(ev.language, "Chinese");
    assert_string_equal(ev.model, "gpt-3.5-turbo-0301");
    assert_int_equal(ev.timestamp, 1680998573);
    assert_int_equal(ev.n_messages, 3);
    assert_msg(&ev.messages[0], "user", "你好");
    assert_msg(&ev.messages[1], "assistant", "你好！有什么可以帮你？");
    assert_msg(&ev.messages[2], "user", "谢谢");
    wf_event_clear(&ev);
}

static void lmsys_snapshot(void **state)
{
    fixture *f = *state;
    wf_event ev;
    parse_ok(f->p,
             "{\"conversation_id\":\"33f01939a744455c869cb234afca47f1\",\"model\":\"vicuna-13b\","
             "\"conversation\":[{\"content\":\"What is 2+2?\",\"role\":\"user\"},"
             "{\"content\":\"2+2 equals 4.\",\"role\":\"assistant\"}],\"turn\":1,"
             "\"language\":\"English\",\"openai_moderation\":[{\"flagged\":false}],"
             "\"redacted\":false}",
             &ev);
    assert_int_equal(ev.shape, WF_SHAPE_CONVERSATION);
    assert_string_equal(ev.conversation_id, "33f01939a744455c869cb234afca47f1");
    assert_string_equal(ev.model, "vicuna-13b");
    assert_string_equal(ev.user_id, "");
    assert_int_equal(ev.n_messages, 2);
    assert_msg(&ev.messages[0], "user", "What is 2+2?");
    assert_msg(&ev.messages[1], "assistant", "2+2 equals 4.");
    wf_event_clear(&ev);
}

/* Two snapshots of one gateway conversation: the request grows, the
 * response is appended, and the derived id is the same in both. */
#define GW_FIRST                                                                                   \
    "{\"request\":{\"model\":\"gpt-4o\",\"messages\":["                                            \
    "{\"role\":\"system\",\"content\":\"Be brief.\"},"                                             \
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Capital of France?\"}]}]},"
#define GW_RESP1 "{\"role\":\"assistant\",\"content\":\"Paris.\"}"

static void gateway_log(void **state)
{
    fixture *f = *state;
    wf_event a, b;
    parse_ok(f->p,
             GW_FIRST "\"user_id\":\"u3\",\"response\":{\"id\":\"chatcmpl-1\",\"choices\":[{"
                      "\"index\":0,\"message\":" GW_RESP1 "}]},\"created_at\":1700000000}",
             &a);
    assert_int_equal(a.shape, WF_SHAPE_CONVERSATION);
    assert_int_equal(a.n_messages, 3);
    assert_msg(&a.messages[0], "system", "Be brief.");
    assert_msg(&a.messages[1], "user", "Capital of France?");
    assert_msg(&a.messages[2], "assistant", "Paris.");
    assert_int_equal(a.timestamp, 1700000000);
    assert_string_equal(a.user_id, "u3");
    assert_int_equal(strncmp(a.conversation_id, "anon-", 5), 0);
    assert_int_equal(strlen(a.conversation_id), 21);

    parse_ok(f->p,
             "{\"request\":{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
             "{\"role\":\"user\",\"content\":\"Capital of France?\"}," GW_RESP1 ","
             "{\"role\":\"user\",\"content\":\"And of Spain?\"}]},\"user_id\":\"u3\","
             "\"response\":{\"choices\":[{\"message\":{\"role\":\"assistant\","
             "\"content\":\"Madrid.\"}}]},\"created_at\":1700000000123}",
             &b);
    assert_int_equal(b.n_messages, 5);
    assert_msg(&b.messages[4], "assistant", "Madrid.");
    assert_string_equal(a.conversation_id, b.conversation_id);
    assert_int_equal(b.timestamp, 1700000000); /* milliseconds */
    wf_event_clear(&b);

    /* another user opening the same way is another conversation */
    parse_ok(f->p,
             GW_FIRST "\"user_id\":\"u4\",\"response\":{\"choices\":[{\"message\":" GW_RESP1 "}]}}",
             &b);
    assert_string_not_equal(a.conversation_id, b.conversation_id);
    wf_event_clear(&b);
    wf_event_clear(&a);
}

static void gateway_response_variants(void **state)
{
    fixture *f = *state;
    wf_event ev;
    /* a tool call answers no text: nothing is appended */
    parse_ok(f->p,
             "{\"id\":\"g1\",\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]},"
             "\"response\":{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
             "\"tool_calls\":[]}}]}}",
             &ev);
    assert_string_equal(ev.conversation_id, "g1");
    assert_int_equal(ev.n_messages, 1);
    wf_event_clear(&ev);
    /* a bare string response, and a null content inside the request */
    parse_ok(f->p,
             "{\"id\":\"g2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
             "{\"role\":\"assistant\",\"content\":null},{\"role\":\"tool\",\"content\":\"42\"}],"
             "\"response\":{\"message\":\"The answer is 42.\"}}",
             &ev);
    assert_int_equal(ev.n_messages, 4);
    assert_msg(&ev.messages[1], "assistant", "");
    assert_msg(&ev.messages[2], "tool", "42");
    assert_msg(&ev.messages[3], "assistant", "The answer is 42.");
    wf_event_clear(&ev);
    expect_bad(f->p, "{\"id\":\"g3\",\"messages\":[],\"response\":{\"message\":7}}", WF_BAD_TYPE,
               "field 'response': expected message object or string, got integer");
}

static void feedback_events(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *rating;
        int level;
    } cases[] = {{"\"up\"", 5}, {"\"down\"", 1}, {"\"UP\"", 5}, {"1", 1},     {"3", 3},
                 {"5", 5},      {"4.0", 4},      {"\"2\"", 2},  {"\"4 \"", 4}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[200];
        snprintf(json, sizeof json,
                 "{\"type\":\"feedback\",\"conversation_id\":\"c1\",\"turn\":2,\"rating\":%s,"
                 "\"user_id\":\"u7\"}",
                 cases[i].rating);
        wf_event ev;
        parse_ok(f->p, json, &ev);
        assert_int_equal(ev.shape, WF_SHAPE_FEEDBACK);
        assert_string_equal(ev.conversation_id, "c1");
        assert_int_equal(ev.target_turn, 2);
        assert_int_equal(ev.rating, cases[i].level);
        assert_string_equal(ev.user_id, "u7");
        wf_event_clear(&ev);
    }
    /* a rating alone marks feedback, without "type" */
    wf_event ev;
    parse_ok(f->p, "{\"conversation_id\":\"c1\",\"turn\":0,\"rating\":\"down\"}", &ev);
    assert_int_equal(ev.shape, WF_SHAPE_FEEDBACK);
    assert_int_equal(ev.rating, 1);
    wf_event_clear(&ev);
}

static void feedback_bad_ratings(void **state)
{
    fixture *f = *state;
    static const char *const bad[] = {"0", "6", "4.5", "-1", "\"meh\"", "\"\"", "\" 3\"", "\"3x\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[160];
        snprintf(json, sizeof json,
                 "{\"type\":\"feedback\",\"conversation_id\":\"c1\",\"turn\":2,\"rating\":%s}",
                 bad[i]);
        expect_bad(f->p, json, WF_BAD_VALUE, "field 'rating': expected \"up\", \"down\" or 1..5");
    }
    expect_bad(f->p,
               "{\"type\":\"feedback\",\"conversation_id\":\"c1\",\"turn\":2,\"rating\":true}",
               WF_BAD_TYPE, "field 'rating': expected string or number, got boolean");
    expect_bad(f->p, "{\"type\":\"feedback\",\"conversation_id\":\"c1\",\"turn\":2}",
               WF_BAD_MISSING_FIELD, "missing field 'rating'");
    expect_bad(f->p, "{\"type\":\"feedback\",\"conversation_id\":\"c1\",\"rating\":\"up\"}",
               WF_BAD_MISSING_FIELD, "missing field 'turn'");
}

static void missing_and_ill_typed_fields(void **state)
{
    fixture *f = *state;
    expect_bad(f->p, "{\"turn\":1,\"role\":\"user\",\"content\":\"x\"}", WF_BAD_MISSING_FIELD,
               "missing field 'conversation_id'");
    expect_bad(f->p, "{\"conversation_id\":\"c\",\"role\":\"user\",\"content\":\"x\"}",
               WF_BAD_MISSING_FIELD, "missing field 'turn'");
    expect_bad(f->p,
               "{\"conversation_id\":\"c\",\"turn\":\"3\",\"role\":\"user\",\"content\":\"x\"}",
               WF_BAD_TYPE, "field 'turn': expected integer, got string");
    expect_bad(f->p, "{\"conversation_id\":\"c\",\"turn\":1.5,\"role\":\"user\",\"content\":\"x\"}",
               WF_BAD_TYPE, "field 'turn': expected integer, got number");
    expect_bad(f->p, "{\"conversation_id\":\"c\",\"turn\":-1,\"role\":\"user\",\"content\":\"x\"}",
               WF_BAD_VALUE, "field 'turn': must be >= 0, got -1");
    expect_bad(f->p, "{\"conversation_id\":\"\",\"turn\":1,\"role\":\"user\",\"content\":\"x\"}",
               WF_BAD_VALUE, "field 'conversation_id': empty");
    expect_bad(f->p, "{\"conversation_id\":[1],\"turn\":1,\"role\":\"user\",\"content\":\"x\"}",
               WF_BAD_TYPE, "field 'conversation_id': expected string, got array");
    expect_bad(f->p, "{\"conversation_id\":\"c\",\"turn\":1,\"role\":3,\"content\":\"x\"}",
               WF_BAD_TYPE, "field 'role': expected string, got integer");
    expect_bad(f->p,
               "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":{\"a\":1}}",
               WF_BAD_TYPE, "field 'content': expected string or array of parts, got object");
    expect_bad(f->p,
               "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":\"x\","
               "\"user_id\":{}}",
               WF_BAD_TYPE, "field 'user_id': expected string, got object");
    expect_bad(f->p,
               "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":\"x\","
               "\"language\":7}",
               WF_BAD_TYPE, "field 'language': expected string, got integer");
    expect_bad(f->p,
               "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":[{\"type\":"
               "\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":5}]}",
               WF_BAD_TYPE, "field 'content[1].text': expected string, got integer");
}

static void conversation_errors(void **state)
{
    fixture *f = *state;
    expect_bad(f->p, "{\"conversation_id\":\"c\",\"conversation\":\"hi\"}", WF_BAD_TYPE,
               "field 'conversation': expected array, got string");
    expect_bad(f->p,
               "{\"conversation_id\":\"c\",\"conversation\":[{\"role\":\"user\","
               "\"content\":\"a\"},\"b\"]}",
               WF_BAD_TYPE, "field 'conversation[1]': expected object, got string");
    expect_bad(f->p, "{\"conversation_id\":\"c\",\"conversation\":[{\"role\":\"user\"}]}",
               WF_BAD_MISSING_FIELD, "missing field 'conversation[0].content'");
    expect_bad(f->p,
               "{\"conversation_id\":\"c\",\"conversation\":[{\"role\":\"user\","
               "\"content\":\"a\"},{\"role\":1,\"content\":\"b\"}]}",
               WF_BAD_TYPE, "field 'conversation[1].role': expected string, got integer");
    expect_bad(f->p,
               "{\"conversation_id\":\"c\",\"conversation\":[{\"role\":\"user\","
               "\"content\":true}]}",
               WF_BAD_TYPE,
               "field 'conversation[0].content': expected string or array of parts, got boolean");
    expect_bad(f->p,
               "{\"conversation_id\":\"c\",\"conversation\":[{\"role\":\"user\","
               "\"content\":\"a\\u0000b\"}]}",
               WF_BAD_VALUE, "field 'conversation[0].content': contains NUL (\\u0000)");
}

static void structural_errors(void **state)
{
    fixture *f = *state;
    expect_bad_n(f->p, "{\"a\":", 5, WF_BAD_NOT_JSON, "record: not JSON: ", 1);
    expect_bad_n(f->p, "hello", 5, WF_BAD_NOT_JSON, "record: not JSON: ", 1);
    expect_bad_n(f->p, "{} {}", 5, WF_BAD_NOT_JSON, "record: not JSON: ", 1);
    expect_bad_n(f->p, "", 0, WF_BAD_NOT_JSON, "record: not JSON: ", 1);
    expect_bad_n(f->p, "{\"a\":1,\"a\":2}", 13, WF_BAD_NOT_JSON, "record: not JSON: ", 1);
    expect_bad(f->p, "[1,2]", WF_BAD_TYPE, "record: expected object, got array");
    expect_bad(f->p, "\"str\"", WF_BAD_TYPE, "record: expected object, got string");
    expect_bad(f->p, "{\"foo\":1,\"content\":\"x\"}", WF_BAD_UNKNOWN_SHAPE,
               "record: no field 'conversation', no 'role' and 'content', and not feedback or a "
               "sample (no 'rating', 'type' is not \"feedback\" or \"sample\")");
    expect_bad(f->p, "{\"type\":\"message\"}", WF_BAD_UNKNOWN_SHAPE,
               "record: no field 'conversation', no 'role' and 'content', and not feedback or a "
               "sample (no 'rating', 'type' is not \"feedback\" or \"sample\")");
}

static void invalid_utf8(void **state)
{
    fixture *f = *state;
    static const char *const bad[] = {
        "{\"content\":\"\xC0\xAF\"}",         /* overlong '/' */
        "{\"content\":\"\xE0\x80\xAF\"}",     /* overlong, 3 bytes */
        "{\"content\":\"ab\xE4\xB8\"}",       /* truncated sequence */
        "{\"content\":\"\xED\xA0\x80\"}",     /* lone surrogate U+D800 */
        "{\"content\":\"\xF4\x90\x80\x80\"}", /* above U+10FFFF */
        "{\"content\":\"\x80\"}",             /* stray continuation byte */
        "{\"content\" \xFF:1}",               /* outside a string, and bad JSON too */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_bad_n(f->p, bad[i], strlen(bad[i]), WF_BAD_UTF8, "record: invalid UTF-8 near byte",
                     1);
    /* an escaped lone surrogate is well-formed bytes but not valid JSON text */
    expect_bad(f->p, "{\"content\":\"\\ud800\"}", WF_BAD_NOT_JSON,
               "record: not JSON: invalid Unicode '\\uD800' near '\"\\ud800\"' (byte 19)");
    /* invalid bytes after a syntax error still make it an encoding error */
    const char *late = "{\"a\" 1, \"b\":\"\xC0\xAF\"}";
    expect_bad_n(f->p, late, strlen(late), WF_BAD_UTF8, "record: invalid UTF-8", 1);
}

static void nul_characters(void **state)
{
    fixture *f = *state;
    expect_bad(f->p,
               "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":\"a\\u0000b\"}",
               WF_BAD_VALUE, "field 'content': contains NUL (\\u0000)");
    expect_bad(f->p,
               "{\"conversation_id\":\"c\\u0000\",\"turn\":1,\"role\":\"user\",\"content\":\"a\"}",
               WF_BAD_VALUE, "field 'conversation_id': contains NUL (\\u0000)");
    expect_bad(f->p,
               "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":[{\"type\":"
               "\"text\",\"text\":\"\\u0000\"}]}",
               WF_BAD_VALUE, "field 'content': contains NUL (\\u0000)");
    expect_bad(f->p, "{\"a\\u0000\":1}", WF_BAD_VALUE, "record: object key contains NUL (\\u0000)");
    /* a field nobody reads may carry one */
    wf_event ev;
    parse_ok(f->p,
             "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":\"a\","
             "\"extra\":\"x\\u0000y\"}",
             &ev);
    wf_event_clear(&ev);
}

static void size_limit(void **state)
{
    (void)state;
    wf_config *cfg;
    wf_parser *p = parser_with(&cfg, "input.max_record_bytes=64", NULL);
    char rec[128];
    /* exactly 64 bytes passes */
    snprintf(rec, sizeof rec,
             "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":\"%s\"}",
             "abcde");
    assert_int_equal(strlen(rec), 64);
    wf_event ev;
    parse_ok(p, rec, &ev);
    wf_event_clear(&ev);
    /* one more byte is too large, even when it is not JSON or not UTF-8 */
    snprintf(rec, sizeof rec,
             "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":\"%s\"}",
             "abcdef");
    expect_bad(p, rec, WF_BAD_TOO_LARGE, "record: 65 bytes exceeds input.max_record_bytes (64)");
    memset(rec, '\xFF', 100);
    expect_bad_n(p, rec, 100, WF_BAD_TOO_LARGE,
                 "record: 100 bytes exceeds input.max_record_bytes (64)", 0);
    wf_parser_free(p);
    wf_config_free(cfg);
}

static void huge_record_over_default_limit(void **state)
{
    fixture *f = *state;
    size_t n = (1u << 20) + 1; /* the default limit is 1 MiB */
    char *buf = malloc(n);
    memset(buf, ' ', n);
    memcpy(buf, "{\"a\":1}", 7);
    expect_bad_n(f->p, buf, n, WF_BAD_TOO_LARGE,
                 "record: 1048577 bytes exceeds input.max_record_bytes (1048576)", 0);
    wf_event ev;
    parse_ok(f->p, "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":\"x\"}",
             &ev);
    wf_event_clear(&ev);
    free(buf);
}

static void custom_field_mapping(void **state)
{
    (void)state;
    wf_config *cfg;
    wf_parser *p = parser_with(
        &cfg, "input.fields.conversation_id=/meta/conv", "input.fields.turn=/meta/n",
        "input.fields.role=/msg/from", "input.fields.content=/msg/text",
        "input.fields.user_id=/who/a~1b,/who/c~0d", "input.fields.model=/models/1", NULL);
    wf_event ev;
    parse_ok(p,
             "{\"meta\":{\"conv\":\"k9\",\"n\":4},\"msg\":{\"from\":\"bot\",\"text\":\"Sure, "
             "here it is.\"},\"who\":{\"c~d\":\"u2\"},\"models\":[\"a\",\"m-b\"]}",
             &ev);
    assert_int_equal(ev.shape, WF_SHAPE_MESSAGE);
    assert_string_equal(ev.conversation_id, "k9");
    assert_int_equal(ev.turn, 4);
    assert_msg(&ev.message, "assistant", "Sure, here it is.");
    assert_string_equal(ev.user_id, "u2");
    assert_string_equal(ev.model, "m-b");
    wf_event_clear(&ev);
    /* the first pointer that resolves wins */
    parse_ok(p,
             "{\"meta\":{\"conv\":\"k9\",\"n\":4},\"msg\":{\"from\":\"user\",\"text\":\"x\"},"
             "\"who\":{\"c~d\":\"u2\",\"a/b\":\"u1\"}}",
             &ev);
    assert_string_equal(ev.user_id, "u1");
    assert_string_equal(ev.model, "");
    wf_event_clear(&ev);
    /* the old names no longer count */
    expect_bad(p, "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":\"x\"}",
               WF_BAD_UNKNOWN_SHAPE,
               "record: no field 'conversation', no 'role' and 'content', and not feedback or a "
               "sample (no 'rating', 'type' is not \"feedback\" or \"sample\")");
    wf_parser_free(p);
    wf_config_free(cfg);
}

static void fixed_shape(void **state)
{
    (void)state;
    wf_config *cfg;
    wf_parser *p = parser_with(&cfg, "input.shape=feedback", NULL);
    expect_bad(p, "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":\"x\"}",
               WF_BAD_MISSING_FIELD, "missing field 'rating'");
    wf_parser_free(p);
    wf_config_free(cfg);
    p = parser_with(&cfg, "input.shape=conversation", NULL);
    expect_bad(p, "{\"conversation_id\":\"c\",\"turn\":1,\"role\":\"user\",\"content\":\"x\"}",
               WF_BAD_MISSING_FIELD, "missing field 'conversation'");
    wf_parser_free(p);
    wf_config_free(cfg);
}

static void bad_pointer_in_config(void **state)
{
    (void)state;
    wf_error err;
    wf_config *cfg = wf_config_new();
    assert_int_equal(wf_config_set(cfg, "input.fields.turn=turn", &err), 0);
    assert_null(wf_parser_new(cfg, &err));
    assert_int_equal(err.code, WF_EINVAL);
    assert_string_equal(err.msg,
                        "input.fields.turn: JSON pointer 'turn' must be empty or start with '/'");
    assert_int_equal(wf_config_set(cfg, "input.fields.turn=/a~2", &err), 0);
    assert_null(wf_parser_new(cfg, &err));
    assert_string_equal(err.msg,
                        "input.fields.turn: JSON pointer '/a~2': '~' must be followed by 0 or 1");
    wf_config_free(cfg);
}

/* The ingest JSON parser's messages and positions, and where it reads a
 * record differently from the jansson loader it replaced. */
static void json_messages_and_differences(void **state)
{
    fixture *f = *state;
    expect_bad(f->p, "{\"a\":", WF_BAD_NOT_JSON,
               "record: not JSON: premature end of input (byte 5)");
    expect_bad(f->p, "{\"a\":1,\"a\":2}", WF_BAD_NOT_JSON,
               "record: not JSON: duplicate object key 'a' (byte 13)");
    expect_bad(f->p, "{\"a\":[1,]}", WF_BAD_NOT_JSON,
               "record: not JSON: invalid token near ']' (byte 8)");
    char deep[601];
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    deep[600] = '\0';
    expect_bad(f->p, deep, WF_BAD_NOT_JSON, "record: not JSON: nesting deeper than 256 (byte 256)");
    /* the first bad byte is named, inside a string or after a syntax error */
    expect_bad(f->p, "{\"content\":\"ab\xC0\xAF\"}", WF_BAD_UTF8,
               "record: invalid UTF-8 near byte 14");
    expect_bad(f->p, "{\"a\" 1, \"b\":\"\xC0\xAF\"}", WF_BAD_UTF8,
               "record: invalid UTF-8 near byte 13");
    /* an integer beyond int64 is a number, not a reason to refuse the record */
    expect_bad(f->p,
               "{\"conversation_id\":\"c\",\"turn\":18446744073709551616,\"role\":\"user\","
               "\"content\":\"x\"}",
               WF_BAD_TYPE, "field 'turn': expected integer, got number");
    expect_bad(f->p,
               "{\"type\":\"feedback\",\"conversation_id\":99999999999999999999,\"turn\":1,"
               "\"rating\":\"up\"}",
               WF_BAD_TYPE, "field 'conversation_id': expected string, got number");
    wf_event ev;
    parse_ok(f->p,
             "{\"type\":\"feedback\",\"conversation_id\":\"c\",\"turn\":1,\"rating\":\"up\","
             "\"timestamp\":1e400}",
             &ev);
    assert_int_equal(ev.timestamp, 0);
    assert_int_equal(ev.rating, 5);
    wf_event_clear(&ev);
    /* "type" must be "feedback" exactly, not a prefix up to a NUL */
    expect_bad(f->p, "{\"type\":\"feedback\\u0000x\",\"conversation_id\":\"c\",\"turn\":1}",
               WF_BAD_UNKNOWN_SHAPE,
               "record: no field 'conversation', no 'role' and 'content', and not feedback or a "
               "sample (no 'rating', 'type' is not \"feedback\" or \"sample\")");
}

static void reason_names(void **state)
{
    (void)state;
    static const char *const want[WF_BAD_COUNT] = {"not_json", "missing_field", "bad_type",
                                                   "bad_utf8", "too_large",     "unknown_shape",
                                                   "bad_value"};
    for (int r = 0; r < WF_BAD_COUNT; r++)
        assert_string_equal(wf_bad_reason_name((wf_bad_reason)r), want[r]);
    assert_string_equal(wf_bad_reason_name(WF_BAD_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(message_event, setup, teardown),
        cmocka_unit_test_setup_teardown(message_optional_fields_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(roles_are_normalized, setup, teardown),
        cmocka_unit_test_setup_teardown(content_parts_are_joined, setup, teardown),
        cmocka_unit_test_setup_teardown(wildchat_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(lmsys_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(gateway_log, setup, teardown),
        cmocka_unit_test_setup_teardown(gateway_response_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(feedback_events, setup, teardown),
        cmocka_unit_test_setup_teardown(feedback_bad_ratings, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_and_ill_typed_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(conversation_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(structural_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(nul_characters, setup, teardown),
        cmocka_unit_test_setup_teardown(json_messages_and_differences, setup, teardown),
        cmocka_unit_test(size_limit),
        cmocka_unit_test_setup_teardown(huge_record_over_default_limit, setup, teardown),
        cmocka_unit_test(custom_field_mapping),
        cmocka_unit_test(fixed_shape),
        cmocka_unit_test(bad_pointer_in_config),
        cmocka_unit_test(reason_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
