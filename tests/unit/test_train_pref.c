/* Preference sets: both line formats, gzip, and malformed lines counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"
#include "wildfeed/eval.h"

static wf_pref_set *load_ok(const char *path, size_t want_pairs, size_t want_bad)
{
    wf_pref_set *s = NULL;
    size_t bad = 99;
    wf_error err = {0};
    if (wf_pref_load(path, &s, &bad, &err) != 0)
        fail_msg("load %s: %s", path, err.msg);
    assert_int_equal(wf_pref_count(s), want_pairs);
    assert_int_equal(bad, want_bad);
    return s;
}

static void assert_msg(const wf_msg *m, const char *role, const char *content)
{
    assert_string_equal(m->role, role);
    assert_string_equal(m->content, content);
    assert_int_equal(m->content_len, strlen(content));
}

static void test_prompt_chosen_rejected(void **state)
{
    (void)state;
    /* Bad: prompt a number, no rejected, an array, a prompt transcript that
     * ends with an answer. */
    wf_pref_set *s = load_ok(wf_test_fixture("eval/prefs_simple.jsonl"), 3, 4);
    wf_model_input c, r;
    wf_pref_get(s, 0, &c, &r);
    assert_int_equal(c.n_history, 0);
    assert_string_equal(c.query, "What is the capital of France?");
    assert_string_equal(c.response, "Paris.");
    assert_string_equal(r.query, "What is the capital of France?");
    assert_string_equal(r.response, "Lyon.");
    assert_null(c.text);
    wf_pref_get(s, 1, &c, &r);
    assert_string_equal(c.query, "写一首诗");
    assert_string_equal(c.response, "床前明月光");
    assert_string_equal(r.response, "不会");
    /* A prompt that is a transcript awaiting the answer; the answers are
     * trimmed like transcript turns. */
    wf_pref_get(s, 2, &c, &r);
    assert_int_equal(c.n_history, 2);
    assert_msg(&c.history[0], "user", "hi");
    assert_msg(&c.history[1], "assistant", "hello");
    assert_string_equal(c.query, "What is 2+2?");
    assert_string_equal(c.response, "4");
    assert_string_equal(r.response, "5");
    assert_ptr_equal(r.history, c.history);
    wf_pref_free(s);
}

static void test_hh_transcripts(void **state)
{
    (void)state;
    /* Bad: prompts differ, ends with Human, not JSON, chosen not a string,
     * text before the first marker, different turn counts. */
    wf_pref_set *s = load_ok(wf_test_fixture("eval/prefs_hh.jsonl"), 4, 6);
    wf_model_input c, r;
    wf_pref_get(s, 0, &c, &r);
    assert_int_equal(c.n_history, 2);
    /* "Assistant:" inside a turn, not after a blank line, is text. */
    assert_msg(&c.history[0], "user", "Hi there, Assistant: are you there?");
    assert_msg(&c.history[1], "assistant", "Hello!");
    assert_string_equal(c.query, "How do I boil an egg?");
    assert_string_equal(c.response, "Put it in boiling water for 9 minutes.");
    assert_int_equal(r.n_history, 2);
    assert_ptr_equal(r.history, c.history);
    assert_string_equal(r.query, "How do I boil an egg?");
    assert_string_equal(r.response, "I won't tell you.");

    wf_pref_get(s, 1, &c, &r);
    assert_int_equal(c.n_history, 0);
    assert_string_equal(c.query, "What is 2+2?");
    assert_string_equal(c.response, "4");
    assert_string_equal(r.response, "5");

    /* No blank line before the first marker. */
    wf_pref_get(s, 2, &c, &r);
    assert_string_equal(c.query, "a");
    assert_string_equal(c.response, "b");
    assert_string_equal(r.response, "c");

    /* An empty last answer is still an answer. */
    wf_pref_get(s, 3, &c, &r);
    assert_string_equal(c.query, "q");
    assert_string_equal(c.response, "");
    assert_string_equal(r.response, "something");
    wf_pref_free(s);
}

static void test_add_line_errors(void **state)
{
    (void)state;
    wf_pref_set *s = wf_pref_new();
    assert_non_null(s);
    wf_error err = {0};
    const char *bad[] = {
        "",
        "null",
        "{\"chosen\":\"\\n\\nHuman: a\\n\\nAssistant: b\"}",
        "{\"chosen\":\"no markers\",\"rejected\":\"no markers\"}",
        "{\"chosen\":\"\\n\\nAssistant: b\",\"rejected\":\"\\n\\nAssistant: c\"}",
        "{\"prompt\":[\"q\"],\"chosen\":\"a\",\"rejected\":\"b\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(wf_pref_add_line(s, bad[i], strlen(bad[i]), &err), WF_EPARSE);
        assert_true(err.msg[0] != '\0');
    }
    assert_int_equal(wf_pref_count(s), 0);
    const char *good = "{\"prompt\":\"q\",\"chosen\":\"a\",\"rejected\":\"b\",\"extra\":1}";
    assert_int_equal(wf_pref_add_line(s, good, strlen(good), &err), 0);
    assert_int_equal(wf_pref_count(s), 1);
    wf_pref_free(s);
}

static void test_gzip_reads_the_same(void **state)
{
    (void)state;
    size_t n = 0;
    char *text = wf_test_read_file(wf_test_fixture("eval/prefs_hh.jsonl"), &n);
    assert_non_null(text);
    char dir[200], path[256];
    snprintf(dir, sizeof dir, "%s", wf_test_tmpdir());
    snprintf(path, sizeof path, "%s/prefs.jsonl.gz", dir);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, text, (unsigned)n), (int)n);
    assert_int_equal(gzclose(gz), Z_OK);
    free(text);
    wf_pref_set *s = load_ok(path, 4, 6);
    wf_model_input c, r;
    wf_pref_get(s, 3, &c, &r);
    assert_string_equal(r.response, "something");
    wf_pref_free(s);
    unlink(path);
    rmdir(dir);
}

static void test_missing_file(void **state)
{
    (void)state;
    wf_pref_set *s = NULL;
    wf_error err = {0};
    assert_int_equal(wf_pref_load("/nonexistent/prefs.jsonl", &s, NULL, &err), WF_EIO);
    assert_null(s);
    assert_non_null(strstr(err.msg, "/nonexistent/prefs.jsonl"));
    assert_int_equal(wf_pref_count(NULL), 0);
    wf_pref_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt_chosen_rejected), cmocka_unit_test(test_hh_transcripts),
        cmocka_unit_test(test_add_line_errors),        cmocka_unit_test(test_gzip_reads_the_same),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
