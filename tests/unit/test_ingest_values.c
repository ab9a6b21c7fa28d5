/* The parser's building blocks: JSON pointers and timestamps. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

static wf_json_doc *doc(const char *text)
{
    wf_json_doc *d;
    wf_json_error je;
    if (wf_json_parse(text, strlen(text), &d, &je) != 0)
        fail_msg("%s: %s", text, je.text);
    return d;
}

/* Compact JSON text of v, appended at *o (the tests' values are small). */
static void dump(const wf_jval *v, char **o)
{
    switch (wf_json_type(v)) {
    case WF_JSON_NULL: *o += sprintf(*o, "null"); return;
    case WF_JSON_FALSE: *o += sprintf(*o, "false"); return;
    case WF_JSON_TRUE: *o += sprintf(*o, "true"); return;
    case WF_JSON_INT: *o += sprintf(*o, "%lld", (long long)v->u.i); return;
    case WF_JSON_REAL: *o += sprintf(*o, "%s", v->u.s); return;
    case WF_JSON_STRING:
        *(*o)++ = '"';
        for (uint32_t i = 0; i < v->n; i++) {
            if (v->u.s[i] == '"' || v->u.s[i] == '\\')
                *(*o)++ = '\\';
            *(*o)++ = v->u.s[i];
        }
        *(*o)++ = '"';
        return;
    case WF_JSON_ARRAY:
    case WF_JSON_OBJECT: break;
    }
    int obj = wf_json_is(v, WF_JSON_OBJECT);
    *(*o)++ = obj ? '{' : '[';
    const wf_jval *m = wf_json_first(v);
    for (uint32_t i = 0; i < v->n; i++) {
        if (i)
            *(*o)++ = ',';
        if (obj) {
            dump(m++, o);
            *(*o)++ = ':';
        }
        dump(m, o);
        m = wf_json_next(m);
    }
    *(*o)++ = obj ? '}' : ']';
}

/* The JSON text of what ptr designates in text, or "absent". */
static void expect_ptr(const char *text, const char *ptr, const char *want)
{
    wf_jptr p;
    wf_error err;
    assert_int_equal(wf_jptr_compile(&p, ptr, &err), 0);
    wf_json_doc *d = doc(text);
    const wf_jval *v = wf_jptr_get(&p, d->nodes);
    char got[512] = "absent", *o = got;
    if (v) {
        dump(v, &o);
        *o = '\0';
    }
    if (strcmp(got, want) != 0)
        fail_msg("%s in %s: got %s, want %s", ptr, text, got, want);
    free(d);
    wf_jptr_free(&p);
}

static void pointers_rfc6901(void **state)
{
    (void)state;
    /* the examples of RFC 6901 §5 */
    const char *rfc = "{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,\"g|h\":4,"
                      "\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}";
    expect_ptr(rfc, "",
               "{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,"
               "\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}");
    expect_ptr(rfc, "/foo", "[\"bar\",\"baz\"]");
    expect_ptr(rfc, "/foo/0", "\"bar\"");
    expect_ptr(rfc, "/", "0");
    expect_ptr(rfc, "/a~1b", "1");
    expect_ptr(rfc, "/c%d", "2");
    expect_ptr(rfc, "/e^f", "3");
    expect_ptr(rfc, "/g|h", "4");
    expect_ptr(rfc, "/i\\j", "5");
    expect_ptr(rfc, "/k\"l", "6");
    expect_ptr(rfc, "/ ", "7");
    expect_ptr(rfc, "/m~0n", "8");
}

static void pointers_absent_and_indexes(void **state)
{
    (void)state;
    const char *d = "{\"a\":[10,[20,21]],\"b\":{\"0\":\"zero\",\"01\":\"one\"},\"~1\":9}";
    expect_ptr(d, "/a/1/1", "21");
    expect_ptr(d, "/a/2", "absent");
    expect_ptr(d, "/a/-", "absent");
    expect_ptr(d, "/a/01", "absent"); /* leading zeros are not indexes */
    expect_ptr(d, "/a/1x", "absent");
    expect_ptr(d, "/a/99999999999999999999999", "absent");
    expect_ptr(d, "/b/0", "\"zero\""); /* digits name object members too */
    expect_ptr(d, "/b/01", "\"one\"");
    expect_ptr(d, "/~01", "9"); /* "~01" is "~1", not "/" */
    expect_ptr(d, "/a/0/x", "absent");
    expect_ptr(d, "/c", "absent");
    expect_ptr(d, "/a~1b", "absent");
}

static void pointers_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {"a", "a/b", "/a~", "/a~2", "/~x/b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wf_jptr p;
        wf_error err = {0};
        assert_int_equal(wf_jptr_compile(&p, bad[i], &err), WF_EINVAL);
        assert_non_null(strstr(err.msg, bad[i]));
        assert_null(p.toks);
    }
}

static void timestamps_iso(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t t;
    } cases[] = {
        {"2026-11-26T05:00:00Z", 1795669200},
        {"2026-11-26t05:00:00z", 1795669200},
        {"2026-11-26T05:00:00", 1795669200},
        {"2026-11-26T05:00:00.123456Z", 1795669200},
        {"2026-11-26T07:30:00+02:30", 1795669200},
        {"2026-11-26T07:30:00+0230", 1795669200},
        {"2026-11-26T05:00Z", 1795669200},
        {"2023-04-09 00:02:53+00:00", 1680998573},
        {"2024-02-29T23:59:59.999Z", 1709251199},
        {"2000-01-01T00:00:00-05:00", 946702800},
        {"1999-12-31", 946598400},
        {"1970-01-01T00:00:00Z", 0},
        {"2016-12-31T23:59:60Z", 1483228799}, /* a leap second reads as :59 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (wf_timestamp_parse(cases[i].s, strlen(cases[i].s)) != cases[i].t)
            fail_msg("%s: got %lld, want %lld", cases[i].s,
                     (long long)wf_timestamp_parse(cases[i].s, strlen(cases[i].s)),
                     (long long)cases[i].t);
}

static void timestamps_unparsable_are_zero(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "yesterday",
        "2026-13-01",
        "2026-02-30",
        "2023-02-29",
        "2026-11-26T24:00:00",
        "2026-11-26T05:60:00Z",
        "2026-11-26T05:00:00Q",
        "2026-11-26T05:00:00+25:00",
        "26-11-2026",
        "2026-11-26T05",
        "2026-11-26T05:00:00Zjunk",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (wf_timestamp_parse(bad[i], strlen(bad[i])) != 0)
            fail_msg("%s: got %lld, want 0", bad[i],
                     (long long)wf_timestamp_parse(bad[i], strlen(bad[i])));
}

static void timestamps_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int64_t t;
    } cases[] = {
        {"1700000000", 1700000000},
        {"1700000000.75", 1700000000},
        {"1700000000123", 1700000000},
        {"-5", 0},
        {"0", 0},
        {"true", 0},
        {"\"1700000000\"", 1700000000},
        {"\"1700000000123\"", 1700000000},
        {"\"17000x\"", 0},
        {"null", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_json_doc *d = doc(cases[i].json);
        assert_int_equal(wf_timestamp_value(d->nodes), cases[i].t);
        free(d);
    }
    assert_int_equal(wf_timestamp_value(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pointers_rfc6901),
        cmocka_unit_test(pointers_absent_and_indexes),
        cmocka_unit_test(pointers_bad),
        cmocka_unit_test(timestamps_iso),
        cmocka_unit_test(timestamps_unparsable_are_zero),
        cmocka_unit_test(timestamps_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
