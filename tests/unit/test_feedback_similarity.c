#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "feedback/similarity.h"

static double sim(const char *a, const char *b, int n)
{
    return wf_text_similarity(a, strlen(a), b, strlen(b), n);
}

static void test_identical_is_one(void **state)
{
    (void)state;
    const char *texts[] = {"thanks, that fixed the build", "谢谢，这个方法有用", "a", "ab", "x y"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        for (int n = 1; n <= 4; n++)
            assert_float_equal(sim(texts[i], texts[i], n), 1.0, 1e-12);
}

static void test_disjoint_is_zero(void **state)
{
    (void)state;
    assert_float_equal(sim("abc", "xyz", 3), 0.0, 0.0);
    assert_float_equal(sim("aaaa", "bbbb", 2), 0.0, 0.0);
    assert_float_equal(sim("你好", "hello", 2), 0.0, 0.0);
}

static void test_empty_is_zero(void **state)
{
    (void)state;
    assert_float_equal(sim("", "", 3), 0.0, 0.0);
    assert_float_equal(sim("abc", "", 3), 0.0, 0.0);
    assert_float_equal(sim(" \t\n", "abc", 3), 0.0, 0.0);
}

/* Counts, not sets: "ab ab" against "ab" with bigrams. Grams of "ab ab" are
 * ab, "b ", " a", ab -> ab:2, others 1; norm^2 = 4 + 1 + 1 = 6; "ab" -> ab:1.
 * cos = 2 / sqrt(6). */
static void test_exact_value(void **state)
{
    (void)state;
    assert_float_equal(sim("ab ab", "ab", 2), 2.0 / sqrt(6.0), 1e-12);
    /* trigrams of "abcd" (abc, bcd) and "abce" (abc, bce): cos = 1/2 */
    assert_float_equal(sim("abcd", "abce", 3), 0.5, 1e-12);
}

static void test_symmetric(void **state)
{
    (void)state;
    const char *pairs[][2] = {
        {"the code still crashes on line 3", "thanks, the code runs now"},
        {"这个代码还是报错", "代码还是不能运行"},
        {"tell me more about the sort", "more about sorting please"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        for (int n = 1; n <= 4; n++) {
            double x = sim(pairs[i][0], pairs[i][1], n);
            double y = sim(pairs[i][1], pairs[i][0], n);
            assert_true(x == y);
            assert_true(x > 0.0 && x < 1.0);
        }
}

static void test_case_and_whitespace(void **state)
{
    (void)state;
    assert_float_equal(sim("Hello   World\n", "hello world", 3), 1.0, 1e-12);
    assert_float_equal(sim("  ÉCOLE ПРИВЕТ", "école привет", 3), 1.0, 1e-12);
    assert_float_equal(sim("a\xe3\x80\x80\tb", "a b", 2), 1.0, 1e-12);
}

/* Code point n-grams make Chinese comparable: sharing words raises the score. */
static void test_chinese(void **state)
{
    (void)state;
    double same = sim("这个排序算法的时间复杂度是多少", "排序算法的空间复杂度呢", 2);
    double other = sim("这个排序算法的时间复杂度是多少", "帮我写一首关于春天的诗", 2);
    assert_true(same > 0.3);
    assert_float_equal(other, 0.0, 0.0);
    /* the one shared bigram against 2 and 1 grams: 1 / sqrt(2 * 1) */
    assert_float_equal(sim("你好吗", "你好", 2), 1.0 / sqrt(2.0), 1e-12);
}

/* Texts shorter than n are one gram; the ngram argument is clamped. */
static void test_short_and_clamped(void **state)
{
    (void)state;
    assert_float_equal(sim("ok", "ok", 3), 1.0, 1e-12);
    assert_float_equal(sim("ok", "okay", 3), 0.0, 0.0);
    assert_float_equal(sim("abc", "abd", 0), sim("abc", "abd", 1), 0.0);
    assert_float_equal(sim("abc", "abd", 1), 2.0 / 3.0, 1e-12);
}

/* Only the first 2048 code points count: memory stays bounded. */
static void test_long_text_bounded(void **state)
{
    (void)state;
    size_t n = 100000;
    char *a = malloc(n), *b = malloc(n);
    for (size_t i = 0; i < n; i++) {
        a[i] = (char)('a' + (i * 7) % 26);
        b[i] = i < 2048 ? a[i] : 'z';
    }
    assert_float_equal(wf_text_similarity(a, n, b, n, 3), 1.0, 1e-12);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_is_one),  cmocka_unit_test(test_disjoint_is_zero),
        cmocka_unit_test(test_empty_is_zero),     cmocka_unit_test(test_exact_value),
        cmocka_unit_test(test_symmetric),         cmocka_unit_test(test_case_and_whitespace),
        cmocka_unit_test(test_chinese),           cmocka_unit_test(test_short_and_clamped),
        cmocka_unit_test(test_long_text_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
