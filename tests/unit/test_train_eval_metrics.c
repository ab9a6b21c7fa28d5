/* Evaluation metrics against values computed by hand, with ties and the
 * degenerate cases that leave a metric undefined. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wildfeed/eval.h"

/* cmocka 1.1 has no floating-point assertion. */
#define assert_near(a, b, eps) near_or_fail((a), (b), (eps), __LINE__)
static void near_or_fail(double a, double b, double eps, int line)
{
    if (!(fabs(a - b) <= eps))
        fail_msg("line %d: %.17g is not %.17g (+/- %g)", line, a, b, eps);
}

/* Logits whose sigmoids are exactly 1, 1/2 and 0 in double precision
 * (sigma(100) rounds to 1; 1 - 1/2 - 3.7e-44 rounds to 1/2), so that
 * tied probabilities are exact ties and go to the lower label. */
#define HI 100.0f
#define LO -100.0f

/* Five examples worked by hand:
 *   logits          probs p1..p4      pred  reward  label
 *   A (HI,HI,HI)    0   0   0   1     4     4.0     4
 *   B (LO,LO,LO)    1   0   0   0     1     1.0     1
 *   C (HI,0,LO)     0  .5  .5   0     2     2.5     3   (tie: the lower label)
 *   D (HI,HI,0)     0   0  .5  .5     3     3.5     3
 *   C (HI,0,LO)     0  .5  .5   0     2     2.5     2 */
static const float five_logits[] = {HI, HI, HI, LO, LO, LO, HI, 0, LO, HI, HI, 0, HI, 0, LO};
static const int five_labels[] = {4, 1, 3, 3, 2};

static void test_accuracy_counts_argmax_with_lower_label_on_ties(void **state)
{
    (void)state;
    /* A, B, D and the second C are right; the first C predicts 2 for 3. */
    assert_near(wf_eval_accuracy(five_logits, five_labels, 5), 0.8, 1e-12);
    assert_near(wf_eval_accuracy(five_logits, five_labels, 3), 2.0 / 3.0, 1e-12);
}

static void test_mae_of_expected_label(void **state)
{
    (void)state;
    /* |4-4| + |1-1| + |2.5-3| + |3.5-3| + |2.5-2| = 1.5 over 5 */
    assert_near(wf_eval_mae(five_logits, five_labels, 5), 0.3, 1e-9);
    const float mid[] = {0, 0, 0}; /* reward 2.5 */
    const int four[] = {4};
    assert_near(wf_eval_mae(mid, four, 1), 1.5, 1e-12);
}

static void test_ece_fifteen_bins(void **state)
{
    (void)state;
    /* A and B: confidence 1 in bin 14, both right: gap 0. C, D, C:
     * confidence 0.5 in bin 7, 2 of 3 right: |2/3 - 1/2| weighted 3/5. */
    assert_near(wf_eval_ece(five_logits, five_labels, 5), 0.1, 1e-9);
    /* (0,0,0): p = (1/2, 0, 0, 1/2); the tie goes to label 1, confidence
     * 1/2 (bin 7). One right of two: |1/2 - 1/2|; both wrong: |0 - 1/2|. */
    const float flat[] = {0, 0, 0, 0, 0, 0};
    const int labels[] = {1, 4};
    assert_near(wf_eval_ece(flat, labels, 2), 0.0, 1e-12);
    const int wrong[] = {2, 3};
    assert_near(wf_eval_ece(flat, wrong, 2), 0.5, 1e-12);
    /* Confidence exactly 1.0 belongs to the last bin. */
    const float sure[] = {LO, LO, LO};
    const int one[] = {1}, two[] = {2};
    assert_near(wf_eval_ece(sure, one, 1), 0.0, 1e-12);
    assert_near(wf_eval_ece(sure, two, 1), 1.0, 1e-12);
}

static void test_ece_separates_bins(void **state)
{
    (void)state;
    /* (HI,0,LO) has confidence 0.5 (bin 7) and predicts 2; (LO,LO,LO) 1
     * (bin 14) and predicts 1. Labels 2, 4: bin 7 is right (|1 - 1/2|),
     * bin 14 wrong (|0 - 1|): (1/2 + 1) / 2. Pooled in one bin it would be
     * |1/2 - 3/4| instead. */
    const float z[] = {HI, 0, LO, LO, LO, LO};
    const int labels[] = {2, 4};
    assert_near(wf_eval_ece(z, labels, 2), 0.75, 1e-9);
    const int first_wrong[] = {4, 1};
    assert_near(wf_eval_ece(z, first_wrong, 2), 0.25, 1e-9);
}

static void test_auc_mann_whitney_with_ties(void **state)
{
    (void)state;
    double auc = 0;
    /* good 0.35, 0.8 vs bad 0.1, 0.4: 3 of 4 pairs ordered */
    const double s1[] = {0.1, 0.4, 0.35, 0.8};
    const int l1[] = {1, 2, 3, 4};
    assert_int_equal(wf_eval_auc(s1, l1, 4, &auc, NULL), 0);
    assert_near(auc, 0.75, 1e-12);
    /* good 0.5, 0.9 vs bad 0.5: the tie counts half, (0.5 + 1) / 2 */
    const double s2[] = {0.5, 0.5, 0.9};
    const int l2[] = {3, 2, 4};
    assert_int_equal(wf_eval_auc(s2, l2, 3, &auc, NULL), 0);
    assert_near(auc, 0.75, 1e-12);
    /* all scores equal: 0.5 */
    const double s3[] = {2, 2, 2, 2};
    assert_int_equal(wf_eval_auc(s3, l1, 4, &auc, NULL), 0);
    assert_near(auc, 0.5, 1e-12);
    /* perfectly reversed: 0 */
    const double s4[] = {4, 3, 2, 1};
    assert_int_equal(wf_eval_auc(s4, l1, 4, &auc, NULL), 0);
    assert_near(auc, 0.0, 1e-12);
}

static void test_auc_undefined_with_one_side(void **state)
{
    (void)state;
    double auc = 0;
    const double s[] = {1, 2, 3};
    const int good[] = {3, 4, 4}, bad[] = {1, 2, 1};
    assert_int_equal(wf_eval_auc(s, good, 3, &auc, NULL), 0);
    assert_true(isnan(auc));
    assert_int_equal(wf_eval_auc(s, bad, 3, &auc, NULL), 0);
    assert_true(isnan(auc));
    assert_int_equal(wf_eval_auc(s, bad, 0, &auc, NULL), 0);
    assert_true(isnan(auc));
}

static void test_spearman_average_ranks(void **state)
{
    (void)state;
    double rho = 0;
    /* Rewards of the five: 4, 1, 2.5, 3.5, 2.5 -> ranks 5, 1, 2.5, 4, 2.5;
     * labels 4, 1, 3, 3, 2 -> ranks 5, 1, 3.5, 3.5, 2. Centred (mean 3):
     * x = 2, -2, -.5, 1, -.5; y = 2, -2, .5, .5, -1; sxy = 8.75,
     * sxx = syy = 9.5. */
    const double r[] = {4, 1, 2.5, 3.5, 2.5};
    assert_int_equal(wf_eval_spearman(r, five_labels, 5, &rho, NULL), 0);
    assert_near(rho, 8.75 / 9.5, 1e-12);
    /* monotone -> 1, reversed -> -1 */
    const double up[] = {0.1, 0.2, 0.3, 0.4};
    const double down[] = {4, 3, 2, 1};
    const int l[] = {1, 2, 3, 4};
    assert_int_equal(wf_eval_spearman(up, l, 4, &rho, NULL), 0);
    assert_near(rho, 1.0, 1e-12);
    assert_int_equal(wf_eval_spearman(down, l, 4, &rho, NULL), 0);
    assert_near(rho, -1.0, 1e-12);
}

static void test_spearman_undefined_when_constant(void **state)
{
    (void)state;
    double rho = 0;
    const double flat[] = {2, 2, 2};
    const double s[] = {1, 2, 3};
    const int l[] = {1, 2, 3}, same[] = {4, 4, 4};
    assert_int_equal(wf_eval_spearman(flat, l, 3, &rho, NULL), 0);
    assert_true(isnan(rho));
    assert_int_equal(wf_eval_spearman(s, same, 3, &rho, NULL), 0);
    assert_true(isnan(rho));
    assert_int_equal(wf_eval_spearman(s, l, 0, &rho, NULL), 0);
    assert_true(isnan(rho));
    assert_int_equal(wf_eval_spearman(s, l, 1, &rho, NULL), 0);
    assert_true(isnan(rho));
}

static void test_pairwise_ties_count_half(void **state)
{
    (void)state;
    const double chosen[] = {2, 1, 3, 4};
    const double rejected[] = {1, 1, 4, 0};
    assert_near(wf_eval_pairwise(chosen, rejected, 4), 2.5 / 4, 1e-12);
    assert_near(wf_eval_pairwise(chosen, rejected, 1), 1.0, 1e-12);
    assert_true(isnan(wf_eval_pairwise(chosen, rejected, 0)));
}

static void test_compute_fills_every_metric(void **state)
{
    (void)state;
    wf_eval_metrics m;
    assert_int_equal(wf_eval_metrics_compute(five_logits, five_labels, 5, &m, NULL), 0);
    assert_int_equal(m.n, 5);
    assert_near(m.accuracy, 0.8, 1e-12);
    assert_near(m.mae, 0.3, 1e-9);
    assert_near(m.ece, 0.1, 1e-9);
    /* good (4, 2.5, 3.5) vs bad (1, 2.5): 5 ordered pairs, one tie */
    assert_near(m.auc, 5.5 / 6, 1e-12);
    assert_near(m.spearman, 8.75 / 9.5, 1e-12);
    assert_int_equal(m.pairs, 0);
    assert_true(isnan(m.pairwise));
}

static void test_compute_empty_is_all_undefined(void **state)
{
    (void)state;
    wf_eval_metrics m;
    assert_int_equal(wf_eval_metrics_compute(NULL, NULL, 0, &m, NULL), 0);
    assert_int_equal(m.n, 0);
    assert_true(isnan(m.accuracy) && isnan(m.mae) && isnan(m.ece));
    assert_true(isnan(m.auc) && isnan(m.spearman) && isnan(m.pairwise));
}

static void test_renderings(void **state)
{
    (void)state;
    wf_eval_metrics m = {.n = 5,
                         .accuracy = 0.8,
                         .mae = 0.3,
                         .ece = 0.1,
                         .auc = 5.5 / 6,
                         .spearman = NAN,
                         .pairs = 4,
                         .pairwise = 0.625};
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_eval_metrics_json(&m, &b);
    assert_string_equal(b.data, "{\"n\":5,\"accuracy\":0.8,\"mae\":0.3,\"ece\":0.1,"
                                "\"auc\":0.9166666667,\"spearman\":null,\"pairs\":4,"
                                "\"pairwise\":0.625}");
    wf_strbuf_reset(&b);
    wf_eval_metrics_text(&m, &b);
    assert_string_equal(b.data, "samples    5\n"
                                "accuracy   0.8000\n"
                                "mae        0.3000\n"
                                "ece        0.1000\n"
                                "auc        0.9167\n"
                                "spearman   n/a\n"
                                "pairs      4\n"
                                "pairwise   0.6250\n");
    wf_strbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accuracy_counts_argmax_with_lower_label_on_ties),
        cmocka_unit_test(test_mae_of_expected_label),
        cmocka_unit_test(test_ece_fifteen_bins),
        cmocka_unit_test(test_ece_separates_bins),
        cmocka_unit_test(test_auc_mann_whitney_with_ties),
        cmocka_unit_test(test_auc_undefined_with_one_side),
        cmocka_unit_test(test_spearman_average_ranks),
        cmocka_unit_test(test_spearman_undefined_when_constant),
        cmocka_unit_test(test_pairwise_ties_count_half),
        cmocka_unit_test(test_compute_fills_every_metric),
        cmocka_unit_test(test_compute_empty_is_all_undefined),
        cmocka_unit_test(test_renderings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
