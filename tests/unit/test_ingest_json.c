/* The ingest JSON parser: values, escapes, every kind of malformed input,
 * limits, big containers, and agreement with jansson. */
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/json_same.h"
#include "ingest/json.h"

static wf_json_doc *parse_ok_n(const char *text, size_t len)
{
    wf_json_doc *d = NULL;
    wf_json_error je;
    if (wf_json_parse(text, len, &d, &je) != 0)
        fail_msg("%.60s: %s (byte %zu)", text, je.text, je.pos);
    wf_test_check_tape(d->nodes, d->nodes + d->n_nodes);
    return d;
}

static wf_json_doc *parse_ok(const char *text)
{
    return parse_ok_n(text, strlen(text));
}

/* Refused with this fault; the message and position when given. */
static void expect_fault_n(const char *text, size_t len, wf_json_fault fault, const char *msg,
                           long pos)
{
    static wf_json_doc sentinel;
    wf_json_doc *d = &sentinel; /* must be reset to NULL */
    wf_json_error je;
    if (wf_json_parse(text, len, &d, &je) != WF_EPARSE)
        fail_msg("%.60s: accepted", text);
    assert_null(d);
    if (je.fault != fault)
        fail_msg("%.60s: fault %d, want %d (%s)", text, je.fault, fault, je.text);
    assert_true(je.text[0] != '\0');
    assert_true(je.pos <= len);
    if (msg)
        assert_string_equal(je.text, msg);
    if (pos >= 0)
        assert_int_equal(je.pos, pos);
}

static void expect_syntax(const char *text, const char *msg, long pos)
{
    expect_fault_n(text, strlen(text), WF_JSON_SYNTAX, msg, pos);
}

static void every_value_type(void **state)
{
    (void)state;
    wf_json_doc *d = parse_ok(" {\"s\":\"str\",\"i\":-42,\"r\":2.5e1,\"t\":true,\"f\":false,"
                              "\"n\":null,\"a\":[1,[],{}],\"o\":{\"k\":\"v\"}} ");
    const wf_jval *root = d->nodes;
    assert_int_equal(wf_json_type(root), WF_JSON_OBJECT);
    assert_int_equal(root->n, 8);
    assert_int_equal(d->n_nodes, 22);
    assert_int_equal(root->u.span, 22);
    const wf_jval *s = wf_json_get(root, "s", 1);
    assert_true(wf_json_is(s, WF_JSON_STRING));
    assert_int_equal(s->n, 3);
    assert_string_equal(s->u.s, "str");
    const wf_jval *i = wf_json_get(root, "i", 1);
    assert_true(wf_json_is(i, WF_JSON_INT));
    assert_int_equal(i->u.i, -42);
    assert_true(wf_json_number(i) == -42.0);
    const wf_jval *r = wf_json_get(root, "r", 1);
    assert_true(wf_json_is(r, WF_JSON_REAL));
    assert_string_equal(r->u.s, "2.5e1");
    assert_true(wf_json_number(r) == 25.0);
    assert_true(wf_json_is(wf_json_get(root, "t", 1), WF_JSON_TRUE));
    assert_true(wf_json_is(wf_json_get(root, "f", 1), WF_JSON_FALSE));
    assert_true(wf_json_is(wf_json_get(root, "n", 1), WF_JSON_NULL));
    const wf_jval *a = wf_json_get(root, "a", 1);
    assert_int_equal(a->n, 3);
    assert_int_equal(a->u.span, 4);
    assert_int_equal(wf_json_at(a, 0)->u.i, 1);
    assert_int_equal(wf_json_type(wf_json_at(a, 1)), WF_JSON_ARRAY);
    assert_int_equal(wf_json_at(a, 1)->n, 0);
    assert_int_equal(wf_json_type(wf_json_at(a, 2)), WF_JSON_OBJECT);
    assert_null(wf_json_at(a, 3));
    const wf_jval *o = wf_json_get(root, "o", 1);
    assert_string_equal(wf_json_get(o, "k", 1)->u.s, "v");
    assert_null(wf_json_get(o, "x", 1));
    assert_null(wf_json_get(root, "st", 2));
    /* type mismatches find nothing */
    assert_null(wf_json_get(a, "k", 1));
    assert_null(wf_json_at(o, 0));
    assert_null(wf_json_get(NULL, "k", 1));
    assert_true(wf_json_number(s) == 0.0);
    static const char *const names[][2] = {
        {"s", "string"},  {"i", "integer"}, {"r", "number"}, {"t", "boolean"},
        {"f", "boolean"}, {"n", "null"},    {"a", "array"},  {"o", "object"},
    };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        assert_string_equal(wf_json_type_name(wf_json_get(root, names[k][0], 1)), names[k][1]);
    free(d);
}

static void top_level_scalars(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        wf_jtype type;
    } cases[] = {{"0", WF_JSON_INT},       {"\"\"", WF_JSON_STRING}, {"true", WF_JSON_TRUE},
                 {" null ", WF_JSON_NULL}, {"-1.5", WF_JSON_REAL},   {"[]", WF_JSON_ARRAY}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_json_doc *d = parse_ok(cases[i].text);
        assert_int_equal(wf_json_type(d->nodes), cases[i].type);
        assert_int_equal(d->n_nodes, 1);
        free(d);
    }
}

static void escapes(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
        size_t len;
    } cases[] = {
        {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
        {"\"\\u0041\\u00e9\\u00E9\"", "A\xC3\xA9\xC3\xA9", 5},
        {"\"\\u4e2d\\u6587\"", "\xE4\xB8\xAD\xE6\x96\x87", 6},
        {"\"\\ud83d\\ude00\"", "\xF0\x9F\x98\x80", 4}, /* U+1F600 */
        {"\"\\uD800\\uDC00\"", "\xF0\x90\x80\x80", 4}, /* U+10000 */
        {"\"\\udbff\\udfff\"", "\xF4\x8F\xBF\xBF", 4}, /* U+10FFFF */
        {"\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"", "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF",
         11},
        {"\"a\\u0000b\"", "a\0b", 3},
        {"\"caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80\"",
         "caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80", 14},
        {"\"\"", "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_json_doc *d = parse_ok(cases[i].json);
        const wf_jval *v = d->nodes;
        assert_int_equal(wf_json_type(v), WF_JSON_STRING);
        assert_int_equal(v->n, cases[i].len);
        assert_memory_equal(v->u.s, cases[i].want, cases[i].len);
        assert_int_equal(v->u.s[v->n], '\0');
        free(d);
    }
}

/* Long strings take the sixteen-byte path: specials at every offset. */
static void long_strings(void **state)
{
    (void)state;
    char json[128], want[128];
    for (size_t at = 0; at < 40; at++) {
        size_t n = 0, w = 0;
        json[n++] = '"';
        for (size_t k = 0; k < 50; k++) {
            if (k == at) {
                memcpy(json + n, "\\n\xC3\xA9", 4);
                n += 4;
                memcpy(want + w, "\n\xC3\xA9", 3);
                w += 3;
            }
            json[n++] = want[w++] = (char)('a' + k % 26);
        }
        json[n++] = '"';
        wf_json_doc *d = parse_ok_n(json, n);
        assert_int_equal(d->nodes->n, w);
        assert_memory_equal(d->nodes->u.s, want, w);
        free(d);
        /* a control character or a bad byte at the same place is refused */
        json[at + 1] = '\x01';
        char msg[96];
        snprintf(msg, sizeof msg, "control character 0x01 in string near '%.*s'",
                 (int)(at + 1 < 32 ? at + 1 : 32), json);
        expect_fault_n(json, n, WF_JSON_SYNTAX, msg, (long)at + 1);
        json[at + 1] = '\xFF';
        expect_fault_n(json, n, WF_JSON_UTF8, "invalid UTF-8", (long)at + 1);
    }
}

static void numbers(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int64_t i;
    } ints[] = {{"0", 0},
                {"-0", 0},
                {"7", 7},
                {"-12", -12},
                {"9223372036854775807", INT64_MAX},
                {"-9223372036854775808", INT64_MIN}};
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
        wf_json_doc *d = parse_ok(ints[k].json);
        assert_int_equal(wf_json_type(d->nodes), WF_JSON_INT);
        assert_true(d->nodes->u.i == ints[k].i);
        free(d);
    }
    static const struct {
        const char *json;
        double v;
    } reals[] = {{"1.5", 1.5},
                 {"-0.25", -0.25},
                 {"1e3", 1000},
                 {"1E+2", 100},
                 {"25e-1", 2.5},
                 {"0.0", 0},
                 {"9223372036854775808", 9223372036854775808.0}, /* past int64 */
                 {"-9223372036854775809", -9223372036854775809.0},
                 {"123456789012345678901234567890", 123456789012345678901234567890.0}};
    for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++) {
        wf_json_doc *d = parse_ok(reals[k].json);
        assert_int_equal(wf_json_type(d->nodes), WF_JSON_REAL);
        assert_string_equal(d->nodes->u.s, reals[k].json);
        assert_int_equal(d->nodes->n, strlen(reals[k].json));
        assert_true(wf_json_number(d->nodes) == reals[k].v);
        free(d);
    }
}

static void bad_numbers(void **state)
{
    (void)state;
    expect_syntax("01", "invalid number near '01'", 2);
    expect_syntax("-01", "invalid number near '-01'", 3);
    expect_syntax("1.", "invalid number near '1.'", 2);
    expect_syntax("[1.]", "invalid number near '1.]'", 4);
    expect_syntax("1.e5", "invalid number near '1.e'", 3);
    expect_syntax(".5", "invalid token near '.'", 0);
    expect_syntax("-", "invalid number near '-'", 1);
    expect_syntax("-a", "invalid number near '-a'", 2);
    expect_syntax("1e", "invalid number near '1e'", 2);
    expect_syntax("1e+", "invalid number near '1e+'", 3);
    expect_syntax("+1", "invalid token near '+'", 0);
    expect_syntax("0x1", "end of input expected near 'x'", 1);
    expect_syntax("NaN", "invalid token near 'N'", 0);
    expect_syntax("[Infinity]", "invalid token near 'I'", 1);
    expect_syntax("[1 2]", "',' or ']' expected near '2'", 3);
}

static void bad_strings(void **state)
{
    (void)state;
    /* lone and mis-paired surrogates: the whole string is quoted */
    expect_syntax("\"\\ud800\"", "invalid Unicode '\\uD800' near '\"\\ud800\"'", 8);
    expect_syntax("\"\\udc00\"", "invalid Unicode '\\uDC00' near '\"\\udc00\"'", 8);
    expect_syntax("[\"\\ud800x\"]", "invalid Unicode '\\uD800' near '\"\\ud800x\"'", 10);
    expect_syntax("\"\\ud800\\u0041\"",
                  "invalid Unicode '\\uD800\\u0041' near '\"\\ud800\\u0041\"'", 14);
    expect_syntax("\"\\ud800\\ud800\"",
                  "invalid Unicode '\\uD800\\uD800' near '\"\\ud800\\ud800\"'", 14);
    expect_syntax("\"\\ud800", "premature end of input near '\"\\ud800'", 7);
    /* bad escapes */
    expect_syntax("\"\\x\"", "invalid escape near '\"\\x'", 3);
    expect_syntax("\"\\U0041\"", "invalid escape near '\"\\U'", 3);
    expect_syntax("\"\\u12\"", "invalid \\u escape near '\"\\u12\"'", 6);
    expect_syntax("\"\\u12g4\"", "invalid \\u escape near '\"\\u12g4'", 7);
    expect_syntax("\"\\", "premature end of input near '\"\\'", 2);
    /* raw control characters, DEL is allowed */
    expect_syntax("\"a\tb\"", "control character 0x09 in string near '\"a'", 2);
    expect_syntax("\"a\nb\"", "control character 0x0a in string near '\"a'", 2);
    expect_syntax("\"\x1F\"", "control character 0x1f in string near '\"'", 1);
    expect_fault_n("\"a\0b\"", 5, WF_JSON_SYNTAX, "control character 0x00 in string near '\"a'", 2);
    wf_json_doc *d = parse_ok("\"\x7F\"");
    free(d);
    expect_syntax("\"abc", "premature end of input near '\"abc'", 4);
    expect_syntax("'a'", "invalid token near '''", 0);
}

static void bad_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        long pos;
    } cases[] = {
        {"\"\xC0\xAF\"", 1},         /* overlong '/' */
        {"\"\xE0\x80\xAF\"", 1},     /* overlong, 3 bytes */
        {"\"ab\xE4\xB8\"", 3},       /* truncated before the quote */
        {"\"\xED\xA0\x80\"", 1},     /* UTF-8 encoded surrogate */
        {"\"\xF4\x90\x80\x80\"", 1}, /* above U+10FFFF */
        {"\"\x80\"", 1},             /* stray continuation byte */
        {"\"\xFE\"", 1},
        {"[\"ok\",\"\xE4\xB8\xADx\xE4\"]", 11},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_fault_n(cases[i].json, strlen(cases[i].json), WF_JSON_UTF8, "invalid UTF-8",
                       cases[i].pos);
    /* outside strings a byte that is not ASCII is a syntax error */
    expect_fault_n("[\xC3\xA9]", 4, WF_JSON_SYNTAX, "invalid token near '\xC3\xA9'", 1);
    assert_int_equal(wf_json_utf8_prefix("ab\xC3\xA9\xC3", 5), 4);
    assert_int_equal(wf_json_utf8_prefix("ab\xF0\x9F\x98\x80", 6), 6);
    assert_int_equal(wf_json_utf8_prefix("\xED\xA0\x80", 3), 0);
}

static void bad_structure(void **state)
{
    (void)state;
    expect_syntax("", "premature end of input", 0);
    expect_syntax(" \n", "premature end of input", 2);
    expect_syntax("[1,]", "invalid token near ']'", 3);
    expect_syntax("{\"a\":1,}", "string expected near '}'", 7);
    expect_syntax("[,1]", "invalid token near ','", 1);
    expect_syntax("{,}", "string expected near ','", 1);
    expect_syntax("{\"a\"}", "':' expected near '}'", 4);
    expect_syntax("{\"a\" 1}", "':' expected near '1'", 5);
    expect_syntax("{\"a\":}", "invalid token near '}'", 5);
    expect_syntax("{1:2}", "string expected near '1'", 1);
    expect_syntax("[1", "premature end of input", 2);
    expect_syntax("{\"a\":1", "premature end of input", 6);
    expect_syntax("{\"a\":1]", "',' or '}' expected near ']'", 6);
    expect_syntax("[1}", "',' or ']' expected near '}'", 2);
    expect_syntax("{} {}", "end of input expected near '{'", 3);
    expect_syntax("[1]//", "end of input expected near '/'", 3);
    expect_syntax("truex", "end of input expected near 'x'", 4);
    expect_syntax("nul", "invalid token near 'n'", 0);
    expect_syntax("True", "invalid token near 'T'", 0);
    /* a raw NUL is no whitespace, even after a number or a literal (jansson
     * skips it there) */
    expect_fault_n("[3\0,4]", 6, WF_JSON_SYNTAX, "',' or ']' expected near '?'", 2);
    expect_fault_n("3\0", 2, WF_JSON_SYNTAX, "end of input expected near '?'", 1);
    expect_fault_n("[true\0]", 7, WF_JSON_SYNTAX, "',' or ']' expected near '?'", 5);
    expect_syntax("\xEF\xBB\xBF{}", "invalid token near '\xEF\xBB\xBF'", 0); /* no BOM */
}

static void duplicate_keys(void **state)
{
    (void)state;
    expect_syntax("{\"a\":1,\"a\":2}", "duplicate object key 'a'", 13);
    expect_syntax("{\"a\":1,\"b\":{\"c\":1,\"c\":1}}", "duplicate object key 'c'", 24);
    /* escapes decode before comparing */
    expect_syntax("{\"\\u0061\":1,\"a\":2}", "duplicate object key 'a'", 18);
    /* the same key in different objects, and keys that only share a prefix */
    wf_json_doc *d = parse_ok("{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}],\"ab\":0,\"a \":0}");
    assert_int_equal(d->nodes->n, 4);
    free(d);
    /* an object key may not hold U+0000 */
    expect_fault_n("{\"a\\u0000\":1}", 13, WF_JSON_NUL_KEY,
                   "object key contains NUL (\\u0000) near '\"a\\u0000\"'", 10);
}

/* An object of n keys "k0".."k<n-1>" (values the index), with an extra
 * member "k<dup>" at the end when dup >= 0. */
static char *big_object(size_t n, long dup, size_t *len)
{
    char *buf = malloc(n * 24 + 64), *o = buf;
    *o++ = '{';
    for (size_t i = 0; i < n; i++)
        o += sprintf(o, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    if (dup >= 0)
        o += sprintf(o, ",\"k%ld\":0", dup);
    *o++ = '}';
    *len = (size_t)(o - buf);
    return buf;
}

static void big_containers(void **state)
{
    (void)state;
    size_t len;
    char *text = big_object(100000, -1, &len);
    wf_json_doc *d = parse_ok_n(text, len);
    assert_int_equal(d->nodes->n, 100000);
    for (size_t i = 0; i < 100000; i += 997) {
        char key[16];
        int kl = snprintf(key, sizeof key, "k%zu", i);
        const wf_jval *v = wf_json_get(d->nodes, key, (size_t)kl);
        assert_non_null(v);
        assert_int_equal(v->u.i, (int64_t)i);
    }
    free(d);
    free(text);
    /* a duplicate among 100000 keys, first or last, in sorted time */
    static const long dups[] = {0, 99999, 4242};
    for (size_t k = 0; k < 3; k++) {
        text = big_object(100000, dups[k], &len);
        char want[48];
        snprintf(want, sizeof want, "duplicate object key 'k%ld'", dups[k]);
        expect_fault_n(text, len, WF_JSON_SYNTAX, want, (long)len);
        free(text);
    }
    /* objects just over and under the pairwise limit */
    for (size_t n = 15; n <= 18; n++) {
        text = big_object(n, (long)n - 1, &len);
        expect_fault_n(text, len, WF_JSON_SYNTAX, NULL, -1);
        free(text);
        text = big_object(n, -1, &len);
        d = parse_ok_n(text, len);
        assert_int_equal(d->nodes->n, n);
        free(d);
        free(text);
    }
    /* a long array of small values: the node bound is tight here */
    size_t n = 200001;
    text = malloc(2 * n + 1);
    text[0] = '[';
    for (size_t i = 0; i < n; i++)
        text[1 + 2 * i] = '7', text[2 + 2 * i] = ',';
    text[2 * n] = ']';
    d = parse_ok_n(text, 2 * n + 1);
    assert_int_equal(d->nodes->n, n);
    assert_int_equal(d->n_nodes, n + 1);
    assert_int_equal(wf_json_at(d->nodes, n - 1)->u.i, 7);
    free(d);
    free(text);
}

static char *nested(size_t depth, size_t *len)
{
    char *buf = malloc(2 * depth + 1);
    memset(buf, '[', depth);
    memset(buf + depth, ']', depth);
    *len = 2 * depth;
    return buf;
}

static void depth_limit(void **state)
{
    (void)state;
    size_t len;
    char *text = nested(WF_JSON_MAX_DEPTH, &len);
    wf_json_doc *d = parse_ok_n(text, len);
    assert_int_equal(d->n_nodes, WF_JSON_MAX_DEPTH);
    free(d);
    free(text);
    text = nested(WF_JSON_MAX_DEPTH + 1, &len);
    expect_fault_n(text, len, WF_JSON_SYNTAX, "nesting deeper than 256", WF_JSON_MAX_DEPTH);
    free(text);
    /* 10000 opening brackets and nothing else */
    text = malloc(10000);
    memset(text, '[', 10000);
    expect_fault_n(text, 10000, WF_JSON_SYNTAX, "nesting deeper than 256", WF_JSON_MAX_DEPTH);
    memset(text, '{', 10000);
    expect_fault_n(text, 10000, WF_JSON_SYNTAX, "string expected near '{'", 1);
    for (size_t i = 0; i < 10000; i += 5)
        memcpy(text + i, "{\"a\":", 5);
    expect_fault_n(text, 10000, WF_JSON_SYNTAX, "nesting deeper than 256", 5 * WF_JSON_MAX_DEPTH);
    free(text);
}

static void truncation_everywhere(void **state)
{
    (void)state;
    const char *doc = "{\"conversation_id\":\"c\\u00e9 \xE4\xB8\xAD\",\"turn\":-12,\"r\":1.5e-3,"
                      "\"conversation\":[{\"role\":\"user\",\"content\":\"hi \\ud83d\\ude00\\n\"},"
                      "{\"role\":\"assistant\",\"content\":null,\"ok\":true,\"no\":false}],"
                      "\"e\":{},\"a\":[[]]}";
    size_t len = strlen(doc);
    wf_json_doc *d = parse_ok(doc);
    free(d);
    for (size_t n = 0; n < len; n++) {
        char *cut = malloc(n ? n : 1); /* exactly n bytes: reads past them are caught */
        memcpy(cut, doc, n);
        wf_json_fault want = wf_json_utf8_prefix(cut, n) < n ? WF_JSON_UTF8 : WF_JSON_SYNTAX;
        expect_fault_n(cut, n, want, NULL, -1);
        free(cut);
    }
}

/* The documents of the differential test: valid, invalid, and the corners
 * where parsers tend to disagree. */
static const char *const differential_docs[] = {
    "{}",
    "[]",
    "0",
    "-0",
    "\"x\"",
    "[1,2.5,-3e2,true,false,null,\"s\",{},[]]",
    "{\"a\":{\"b\":{\"c\":[1,{\"d\":\"e\"}]}}}",
    "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u00e9\\ud83d\\ude00\"}",
    "{\"k\":1,\"K\":2,\"k \":3}",
    "[9223372036854775807,-9223372036854775808]",
    "[0.1,1e-300,1E+300,123.456e-7]",
    "{\"a\":1,\"a\":1}",
    "{\"a\\u0000\":1}",
    "[1,]",
    "[01]",
    "[1.]",
    "[.1]",
    "[-]",
    "[1e]",
    "\"\\ud800\"",
    "\"\\udc00\\ud800\"",
    "\"\t\"",
    "{\"a\" :1 , \"b\":[ 1 , 2 ] }",
    "[1] [2]",
    "",
    " ",
    "nul",
    "[true,fals]",
    "\"\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\"",
    "\"\xC3\"",
    "\"\xED\xA0\x80\"",
    "\"\xF4\x90\x80\x80\"",
    "\x7F",
    "{\"a\":[{\"b\":[{\"c\":[]}]}]}",
};

static void differential_with_jansson(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof differential_docs / sizeof differential_docs[0]; i++) {
        const char *text = differential_docs[i];
        wf_json_doc *d;
        wf_json_error je;
        json_error_t jerr;
        int rc = wf_json_parse(text, strlen(text), &d, &je);
        json_t *j = json_loadb(text, strlen(text),
                               JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
        if ((rc == 0) != (j != NULL))
            fail_msg("%s: ours %s, jansson %s", text, rc == 0 ? "accepts" : je.text,
                     j ? "accepts" : jerr.text);
        if (j && !wf_test_json_same(d->nodes, j))
            fail_msg("%s: values differ", text);
        json_decref(j);
        free(d);
    }
    /* the documented differences */
    wf_json_doc *d = parse_ok("[18446744073709551616,1e400]");
    assert_int_equal(wf_json_type(wf_json_at(d->nodes, 0)), WF_JSON_REAL);
    assert_true(wf_json_number(wf_json_at(d->nodes, 0)) == 18446744073709551616.0);
    assert_true(wf_json_number(wf_json_at(d->nodes, 1)) > 1e308);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_value_type),
        cmocka_unit_test(top_level_scalars),
        cmocka_unit_test(escapes),
        cmocka_unit_test(long_strings),
        cmocka_unit_test(numbers),
        cmocka_unit_test(bad_numbers),
        cmocka_unit_test(bad_strings),
        cmocka_unit_test(bad_utf8),
        cmocka_unit_test(bad_structure),
        cmocka_unit_test(duplicate_keys),
        cmocka_unit_test(big_containers),
        cmocka_unit_test(depth_limit),
        cmocka_unit_test(truncation_everywhere),
        cmocka_unit_test(differential_with_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
