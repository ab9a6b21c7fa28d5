/* Reward, class probabilities and predicted labels from ordinal logits,
 * against values computed by hand; heads; training options from config. */
#include <math.h>

#include "testutil.h"
#include "wildfeed/model.h"

static double sig(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

static void test_reward_zero_logits(void **state)
{
    (void)state;
    float z[WF_LOGITS] = {0, 0, 0};
    assert_float_equal(wf_reward(z), 2.5, 1e-12);
    double p[WF_LABELS];
    wf_class_probs(z, p);
    /* s = 0.5 everywhere: p = [0.5, 0, 0, 0.5]. */
    assert_float_equal(p[0], 0.5, 1e-12);
    assert_float_equal(p[1], 0.0, 1e-12);
    assert_float_equal(p[2], 0.0, 1e-12);
    assert_float_equal(p[3], 0.5, 1e-12);
}

static void test_coral_ordered_logits(void **state)
{
    (void)state;
    float z[WF_LOGITS] = {2.0f, 0.0f, -1.0f};
    double s1 = sig(2.0), s2 = 0.5, s3 = sig(-1.0);
    /* s1 = 0.880797, s3 = 0.268941: reward = 1 + 1.649738. */
    assert_float_equal(wf_reward(z), 2.6497381, 1e-6);
    assert_float_equal(wf_reward(z), 1.0 + s1 + s2 + s3, 1e-12);
    double p[WF_LABELS];
    wf_class_probs(z, p);
    assert_float_equal(p[0], 1 - s1, 1e-12);
    assert_float_equal(p[1], s1 - s2, 1e-12);
    assert_float_equal(p[2], s2 - s3, 1e-12);
    assert_float_equal(p[3], s3, 1e-12);
    assert_float_equal(p[1], 0.380797, 1e-6);
    /* The expected label equals the reward. */
    assert_float_equal(p[0] + 2 * p[1] + 3 * p[2] + 4 * p[3], wf_reward(z), 1e-12);
    assert_int_equal(wf_predicted_label(z), 2);
}

static void test_independent_crossing_clipped(void **state)
{
    (void)state;
    /* s1 = 0.5 < s2 = sig(2): p2 = s1 - s2 < 0 is clipped and the rest
     * renormalised. */
    float z[WF_LOGITS] = {0.0f, 2.0f, -2.0f};
    double s2 = sig(2.0), s3 = sig(-2.0);
    double raw[WF_LABELS] = {0.5, 0.0, s2 - s3, s3};
    double sum = raw[0] + raw[2] + raw[3];
    double p[WF_LABELS];
    wf_class_probs(z, p);
    assert_float_equal(p[0], 0.5 / sum, 1e-12);
    assert_float_equal(p[1], 0.0, 0);
    assert_float_equal(p[2], raw[2] / sum, 1e-12);
    assert_float_equal(p[3], s3 / sum, 1e-12);
    assert_float_equal(p[0] + p[1] + p[2] + p[3], 1.0, 1e-12);
    assert_float_equal(p[2], 0.761594 / 1.380797, 1e-6);
    assert_int_equal(wf_predicted_label(z), 3);
    /* The reward stays 1 + sum of sigmoids, unclipped. */
    assert_float_equal(wf_reward(z), 1.0 + 0.5 + s2 + s3, 1e-12);
}

static void test_predicted_extremes(void **state)
{
    (void)state;
    float low[WF_LOGITS] = {-5, -6, -7}, high[WF_LOGITS] = {7, 6, 5};
    assert_int_equal(wf_predicted_label(low), 1);
    assert_int_equal(wf_predicted_label(high), 4);
    assert_float_equal(wf_reward(low), 1.0 + sig(-5) + sig(-6) + sig(-7), 1e-12);
}

static void test_heads(void **state)
{
    (void)state;
    assert_int_equal(wf_head_parse("coral"), WF_HEAD_CORAL);
    assert_int_equal(wf_head_parse("independent"), WF_HEAD_INDEPENDENT);
    assert_int_equal(wf_head_parse("Coral"), -1);
    assert_int_equal(wf_head_parse(NULL), -1);
    assert_string_equal(wf_head_name(WF_HEAD_CORAL), "coral");
    assert_string_equal(wf_head_name(WF_HEAD_INDEPENDENT), "independent");
}

static void test_opts_from_config(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    wf_error err = {0};
    wf_train_opts o;
    wf_train_opts_from_config(&o, c);
    assert_int_equal(o.head, WF_HEAD_CORAL);
    assert_int_equal(o.seed, 42);
    assert_int_equal(o.epochs, 10);
    assert_int_equal(o.batch, 64);
    assert_int_equal(o.patience, 2);
    assert_int_equal(o.hash_bits, 20);
    assert_float_equal(o.lr, 0.5, 0);
    assert_float_equal(o.l2, 1e-6, 0);
    assert_int_equal(wf_config_set(c, "model.head=independent", &err), 0);
    assert_int_equal(wf_config_set(c, "train.seed=7", &err), 0);
    assert_int_equal(wf_config_set(c, "model.hash_bits=12", &err), 0);
    wf_train_opts_from_config(&o, c);
    assert_int_equal(o.head, WF_HEAD_INDEPENDENT);
    assert_int_equal(o.seed, 7);
    assert_int_equal(o.hash_bits, 12);
    wf_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reward_zero_logits),
        cmocka_unit_test(test_coral_ordered_logits),
        cmocka_unit_test(test_independent_crossing_clipped),
        cmocka_unit_test(test_predicted_extremes),
        cmocka_unit_test(test_heads),
        cmocka_unit_test(test_opts_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
