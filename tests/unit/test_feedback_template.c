#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedback/template.h"

static const wf_msg worked_history[] = {
    {"user", "hi", 2},
    {"assistant", "Hello!", 6},
};

static char *render(const wf_template *t, const wf_msg *h, size_t nh, const char *q, const char *r)
{
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_template_render(t, h, nh, q, r, &b);
    assert_false(b.oom);
    return wf_strbuf_take(&b);
}

static wf_template *default_template(void)
{
    wf_error err = {0};
    wf_template *t = wf_template_load(NULL, &err);
    assert_non_null(t);
    return t;
}

static void assert_matches_fixture(const char *got, const char *fixture)
{
    size_t n;
    char *want = wf_test_read_file(wf_test_fixture(fixture), &n);
    assert_non_null(want);
    assert_int_equal(strlen(got), n);
    assert_string_equal(got, want);
    free(want);
}

static void test_worked_example(void **state)
{
    (void)state;
    wf_template *t = default_template();
    char *got = render(t, worked_history, 2, "2+2?", "4.");
    assert_matches_fixture(got, "template/worked_example.txt");
    free(got);
    wf_template_free(t);
}

/* "" and NULL path both mean the built-in default. */
static void test_empty_path_is_default(void **state)
{
    (void)state;
    wf_error err = {0};
    wf_template *t = wf_template_load("", &err);
    assert_non_null(t);
    char *got = render(t, worked_history, 2, "2+2?", "4.");
    assert_matches_fixture(got, "template/worked_example.txt");
    free(got);
    wf_template_free(t);
}

static void test_empty_history(void **state)
{
    (void)state;
    wf_template *t = default_template();
    char *got = render(t, NULL, 0, "2+2?", "4.");
    assert_matches_fixture(got, "template/empty_history.txt");
    free(got);
    wf_template_free(t);
}

/* The spec tests the joined history_str for blankness; a message line always
 * carries "role: ", so whitespace content still renders as a line. */
static void test_whitespace_content_keeps_line(void **state)
{
    (void)state;
    wf_template *t = default_template();
    const wf_msg h[] = {{"user", " \t\n", 3}};
    char *got = render(t, h, 1, "2+2?", "4.");
    assert_non_null(strstr(got, "## Context (History)\nuser:  \t\n\n\n\n## User Query\n"));
    assert_null(strstr(got, "No previous context."));
    free(got);
    wf_template_free(t);
}

static wf_template *custom(const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/t.tmpl", wf_test_tmpdir());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    wf_error err = {0};
    wf_template *t = wf_template_load(path, &err);
    assert_non_null(t);
    remove(path);
    return t;
}

/* A template that is only whitespace around its history: a blank history
 * becomes "No previous context." (the spec's rule covers whitespace-only
 * history_str), and the rendered whole is stripped. */
static void test_history_only_template(void **state)
{
    (void)state;
    wf_template *t = custom("\n {history} \n");
    char *got = render(t, NULL, 0, "", "");
    assert_string_equal(got, "No previous context.");
    free(got);
    const wf_msg h[] = {{"", "no role given", 13}, {"system", "s", 1}};
    got = render(t, h, 2, "", "");
    assert_string_equal(got, "User: no role given\nsystem: s");
    free(got);
    wf_template_free(t);
}

/* The whole text is stripped, not each part: whitespace around the query and
 * response survives inside the default layout. */
static void test_parts_not_stripped(void **state)
{
    (void)state;
    wf_template *t = default_template();
    char *got = render(t, NULL, 0, "  2+2? \n", "\n4.\t");
    assert_non_null(strstr(got, "## User Query\n  2+2? \n\n\n## Assistant Response\n\n4.\t\n\n"));
    free(got);
    wf_template_free(t);
}

/* str.strip() removes Unicode whitespace too (NBSP, ideographic space, line
 * separator, U+001C..U+001F) but not U+200B ZERO WIDTH SPACE. */
static void test_strip_unicode_whitespace(void **state)
{
    (void)state;
    wf_template *t = custom("{query}{response}");
    char *got = render(t, NULL, 0, "\xc2\xa0\xe3\x80\x80 \x1c\r\n\x0b\x0cq\xe2\x80\xa8r",
                       "s \xe2\x80\xa9\xc2\x85\xe2\x80\x8a\xe1\x9a\x80\t\x1f");
    assert_string_equal(got, "q\xe2\x80\xa8rs");
    free(got);
    got = render(t, NULL, 0, "\xe2\x80\x8bq", "r\xe2\x80\x8b");
    assert_string_equal(got, "\xe2\x80\x8bq"
                             "r\xe2\x80\x8b");
    free(got);
    got = render(t, NULL, 0, " \n\xe3\x80\x80", "\t");
    assert_string_equal(got, "");
    free(got);
    /* a multi-byte non-space character at the end stays whole */
    got = render(t, NULL, 0, "\xe8\xb0\xa2", "\xe3\x80\x82 ");
    assert_string_equal(got, "\xe8\xb0\xa2\xe3\x80\x82");
    free(got);
    wf_template_free(t);
}

static void test_custom_fixture(void **state)
{
    (void)state;
    wf_error err = {0};
    wf_template *t = wf_template_load(wf_test_fixture("template/custom.tmpl"), &err);
    assert_non_null(t);
    char *got = render(t, worked_history, 2, "Q", "R");
    assert_string_equal(got, "<<user: hi\nassistant: Hello!\n>>\n"
                             "Q | R | {unknown} {Query} {query");
    free(got);
    wf_template_free(t);
}

/* Substituted text is never scanned again: a query that contains a
 * placeholder is rendered literally. */
static void test_no_reexpansion(void **state)
{
    (void)state;
    wf_template *t = custom("[{query}][{response}]");
    char *got = render(t, NULL, 0, "{response}", "{query}{history}");
    assert_string_equal(got, "[{response}][{query}{history}]");
    free(got);
    wf_template_free(t);
}

static void test_repeated_and_adjacent(void **state)
{
    (void)state;
    wf_template *t = custom("{query}{query}{{response}}");
    char *got = render(t, NULL, 0, "a", "b");
    assert_string_equal(got, "aa{b}");
    free(got);
    wf_template_free(t);
}

/* Rendering appends: what the buffer held before is kept and not stripped. */
static void test_appends(void **state)
{
    (void)state;
    wf_template *t = custom(" {query} ");
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_strbuf_puts(&b, "x ");
    wf_template_render(t, NULL, 0, "q", "", &b);
    assert_string_equal(b.data, "x q");
    assert_int_equal(b.len, 3);
    wf_strbuf_free(&b);
    wf_template_free(t);
}

static void test_load_errors(void **state)
{
    (void)state;
    wf_error err = {0};
    assert_null(wf_template_load("/nonexistent/dir/t.tmpl", &err));
    assert_int_equal(err.code, WF_EIO);
    assert_non_null(strstr(err.msg, "sample.template_file"));

    char path[512];
    snprintf(path, sizeof path, "%s/bad.tmpl", wf_test_tmpdir());
    FILE *f = fopen(path, "wb");
    fputs("{query}\xff", f);
    fclose(f);
    assert_null(wf_template_load(path, &err));
    assert_int_equal(err.code, WF_EINVAL);
    assert_non_null(strstr(err.msg, "UTF-8"));
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_empty_path_is_default),
        cmocka_unit_test(test_empty_history),
        cmocka_unit_test(test_whitespace_content_keeps_line),
        cmocka_unit_test(test_history_only_template),
        cmocka_unit_test(test_parts_not_stripped),
        cmocka_unit_test(test_strip_unicode_whitespace),
        cmocka_unit_test(test_custom_fixture),
        cmocka_unit_test(test_no_reexpansion),
        cmocka_unit_test(test_repeated_and_adjacent),
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
