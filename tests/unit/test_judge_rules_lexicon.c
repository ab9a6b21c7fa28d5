/* The lexicon's invariants (the look-up's binary search depends on its
 * order) and the scanner's handling of case, word boundaries, apostrophes
 * and the bounded windows. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wildfeed/judge_rules.h"

#include "../../plugins/judge_rules/rules_internal.h"

static void check_table(const wf_rules_cue *lex, size_t n, int ascii)
{
    for (size_t i = 0; i < n; i++) {
        const wf_rules_cue *e = &lex[i];
        assert_int_equal(e->len, strlen(e->text));
        assert_int_equal((unsigned char)e->text[0] < 0x80, ascii);
        assert_null(strchr(e->text, '\''));
        assert_null(strstr(e->text, "  "));
        for (const char *p = e->text; *p; p++)
            assert_false(*p >= 'A' && *p <= 'Z');
        if (ascii)
            assert_true(e->len >= 2);
        /* Cues name their reason; markers and covers never decide. */
        if (e->cat >= WF_CUE_DECLINE && e->cat <= WF_CUE_RETRY)
            assert_non_null(e->reason);
        if (i > 0 && strcmp(lex[i - 1].text, e->text) >= 0)
            fail_msg("lexicon out of order or duplicate at \"%s\" after \"%s\"", e->text,
                     lex[i - 1].text);
    }
}

static void lexicon_is_in_byte_order(void **state)
{
    (void)state;
    size_t n_en, n_intl;
    const wf_rules_cue *en = wf_rules_lexicon_en(&n_en);
    const wf_rules_cue *intl = wf_rules_lexicon_intl(&n_intl);
    assert_true(n_en > 450);
    assert_true(n_intl > 200);
    check_table(en, n_en, 1);
    check_table(intl, n_intl, 0);
}

static void every_phrase_is_found_by_the_lookup(void **state)
{
    (void)state;
    for (int t = 0; t < 2; t++) {
        size_t n;
        const wf_rules_cue *lex = t ? wf_rules_lexicon_intl(&n) : wf_rules_lexicon_en(&n);
        for (size_t i = 0; i < n; i++) {
            const wf_rules_cue *found[8];
            size_t k = wf_rules_lexicon_match(lex[i].text, lex[i].len, 0, found, 8);
            assert_true(k >= 1);
            assert_ptr_equal(found[0], &lex[i]); /* the longest match is the phrase itself */
        }
    }
}

static int level_of(const char *feedback)
{
    wf_rules_result r;
    wf_rules_classify("q", "Here is my answer in plain prose.", feedback, &r);
    return r.level;
}

static void matching_ignores_case_and_respects_word_boundaries(void **state)
{
    (void)state;
    assert_int_equal(level_of("THIS IS WRONG"), 1);
    assert_int_equal(level_of("ThAnKs"), 5);
    /* "ty" inside "pretty", "no" inside "know", "bad" inside "badge". */
    assert_int_equal(level_of("pretty"), 3);
    assert_int_equal(level_of("i know"), 3);
    assert_int_equal(level_of("that is a badge"), 3);
    assert_int_equal(level_of("thanksgiving dinner ideas"), 3);
    /* Curly and missing apostrophes read alike. */
    assert_int_equal(level_of("you didn\xe2\x80\x99t answer my question"), 1);
    assert_int_equal(level_of("you didnt answer my question"), 1);
    assert_int_equal(level_of("THAT\xe2\x80\x99S NOT WHAT I ASKED"), 2);
}

static void reasons_and_confidence(void **state)
{
    (void)state;
    wf_rules_result r;
    wf_rules_classify("q", "prose", "I asked for Python, not C++", &r);
    assert_int_equal(r.level, 2);
    assert_int_equal(r.confident, 1);
    assert_string_equal(r.reason, "explicit_correction:asked_for_not");
    wf_rules_classify("q", "prose", "I asked for Python", &r);
    assert_int_equal(r.level, 2);
    assert_int_equal(r.confident, 0);
    assert_string_equal(r.reason, "correction:restated_request");
    wf_rules_classify("q", "prose", "try again", &r);
    assert_int_equal(r.level, 2);
    assert_int_equal(r.confident, 0);
    assert_string_equal(r.reason, "retry_request");
    wf_rules_classify("q", "prose", "great, another error", &r);
    assert_int_equal(r.level, 3); /* no code in the response: no error of its own */
    wf_rules_classify("q", "```c\nint main(void) {}\n```", "great, another error", &r);
    assert_int_equal(r.level, 1);
    assert_string_equal(r.reason, "sarcasm");
    wf_rules_classify("q", "prose", "thanks! now can you write a poem about cats", &r);
    assert_int_equal(r.level, 3);
    assert_int_equal(r.confident, 0);
    assert_string_equal(r.reason, "gratitude_with_new_request");
    wf_rules_classify("q", "prose", "Thank you!", &r);
    assert_int_equal(r.level, 5);
    assert_int_equal(r.confident, 1);
    assert_string_equal(r.reason, "gratitude");
    wf_rules_classify(NULL, NULL, NULL, &r);
    assert_int_equal(r.level, 3);
    assert_string_equal(r.reason, "no_cue");
}

/* Builds "<head> <filler...> <tail>" of about total bytes. */
static char *padded(const char *head, const char *tail, size_t total)
{
    char *s = malloc(total + strlen(head) + strlen(tail) + 1);
    strcpy(s, head);
    size_t len = strlen(s);
    while (len < total) {
        memcpy(s + len, "lorem ipsum ", 12);
        len += 12;
    }
    strcpy(s + len, tail);
    return s;
}

static void cues_beyond_the_head_window_are_ignored(void **state)
{
    (void)state;
    char *late = padded("Here is my essay draft:", " this is wrong", 600);
    assert_int_equal(level_of(late), 3);
    free(late);
    char *early = padded("this is wrong.", "", 600);
    assert_int_equal(level_of(early), 1);
    free(early);
    /* Thanks opening a long paste is not satisfaction. */
    char *letter = padded("Thanks", "", 300);
    assert_int_equal(level_of(letter), 3);
    free(letter);
}

static void error_output_counts_only_after_code(void **state)
{
    (void)state;
    const char *code = "```python\nprint(x)\n```";
    char *log = padded("Here is the full log:\n", "\nNameError: name 'x' is not defined", 5000);
    wf_rules_result r;
    wf_rules_classify("q", code, log, &r);
    assert_int_equal(r.level, 2);
    assert_int_equal(r.confident, 1);
    assert_string_equal(r.reason, "error_output_after_code");
    wf_rules_classify("q", "Python raises NameError for unknown names.", log, &r);
    assert_int_equal(r.level, 3);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lexicon_is_in_byte_order),
        cmocka_unit_test(every_phrase_is_found_by_the_lookup),
        cmocka_unit_test(matching_ignores_case_and_respects_word_boundaries),
        cmocka_unit_test(reasons_and_confidence),
        cmocka_unit_test(cues_beyond_the_head_window_are_ignored),
        cmocka_unit_test(error_output_counts_only_after_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
