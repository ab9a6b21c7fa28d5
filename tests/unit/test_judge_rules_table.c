/* The rules judge against a labelled table of follow-ups
 * (tests/fixtures/rules/feedback_cases.tsv): every row must get its exact
 * level. Rows are "level<TAB>response kind<TAB>feedback"; the kind picks a
 * response with or without code, and "\n" in the feedback is a line break. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wildfeed/judge_rules.h"

static const char *const code_response =
    "Here is a function that sums the list:\n```python\ndef total(xs):\n    return sum(xs)\n```\n";
static const char *const text_response =
    "Canberra is the capital of Australia. It was chosen as a compromise between Sydney and "
    "Melbourne and became the seat of government in 1927.";

typedef struct row {
    int level;
    const char *kind;
    char *feedback; /* unescaped in place */
} row;

static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] == 'n') {
            *o++ = '\n';
            s++;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* Splits the file in place into rows; returns how many. */
static size_t parse_rows(char *text, row *rows, size_t max)
{
    size_t n = 0;
    for (char *line = strtok(text, "\n"); line && n < max; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *tab1 = strchr(line, '\t');
        char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        assert_non_null(tab2);
        *tab1 = *tab2 = '\0';
        rows[n].level = atoi(line);
        rows[n].kind = tab1 + 1;
        rows[n].feedback = tab2 + 1;
        unescape(rows[n].feedback);
        n++;
    }
    return n;
}

static void every_row_gets_its_level(void **state)
{
    (void)state;
    char *text = wf_test_read_file(wf_test_fixture("rules/feedback_cases.tsv"), NULL);
    assert_non_null(text);
    static row rows[1024];
    size_t n = parse_rows(text, rows, 1024);
    size_t per_level[6] = {0}, wrong = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(strcmp(rows[i].kind, "code") == 0 || strcmp(rows[i].kind, "text") == 0);
        assert_in_range(rows[i].level, 1, 5);
        const char *response = rows[i].kind[0] == 'c' ? code_response : text_response;
        wf_rules_result r;
        wf_rules_classify("the question", response, rows[i].feedback, &r);
        per_level[rows[i].level]++;
        if (r.level != rows[i].level) {
            wrong++;
            fprintf(stderr, "want %d got %d (%s): %s\n", rows[i].level, r.level, r.reason,
                    rows[i].feedback);
        }
    }
    assert_int_equal(wrong, 0);
    assert_int_equal(n, 298);
    assert_int_equal(per_level[1], 49);
    assert_int_equal(per_level[2], 71);
    assert_int_equal(per_level[3], 102);
    assert_int_equal(per_level[4], 20);
    assert_int_equal(per_level[5], 56);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_row_gets_its_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
