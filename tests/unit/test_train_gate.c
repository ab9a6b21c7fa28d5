/* The promotion gate at its tolerances: just inside passes, just outside
 * fails with the check named in the reason. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "wildfeed/trainer.h"

static const wf_gate_opts opts = {.max_accuracy_drop = 0.01,
                                  .max_mae_rise = 0.02,
                                  .max_ece_rise = 0.02,
                                  .max_auc_drop = 0.01,
                                  .max_pairwise_drop = 0.01};

static const wf_eval_metrics current = {.n = 100,
                                        .accuracy = 0.80,
                                        .mae = 0.50,
                                        .ece = 0.05,
                                        .auc = 0.85,
                                        .spearman = 0.6,
                                        .pairs = 10,
                                        .pairwise = 0.70};

static wf_gate_decision decide(const wf_eval_metrics *cand)
{
    wf_gate_decision d;
    wf_gate_decide(&opts, cand, &current, &d);
    return d;
}

static void test_no_current_promotes(void **state)
{
    (void)state;
    wf_eval_metrics bad = {.n = 5, .accuracy = 0.1, .mae = 3, .ece = 0.9, .auc = 0.1};
    wf_gate_decision d;
    wf_gate_decide(&opts, &bad, NULL, &d);
    assert_int_equal(d.promote, 1);
    assert_int_equal(d.failed, 0);
    assert_string_equal(d.reason, "no current model");
}

static void test_equal_promotes(void **state)
{
    (void)state;
    wf_gate_decision d = decide(&current);
    assert_int_equal(d.promote, 1);
    assert_int_equal(d.failed, 0);
    assert_string_equal(d.reason, "within tolerances of the current model");
}

static void test_accuracy_boundary(void **state)
{
    (void)state;
    wf_eval_metrics c = current;
    c.accuracy = 0.79; /* exactly the tolerance */
    assert_int_equal(decide(&c).promote, 1);
    c.accuracy = 0.79 + 1e-6;
    assert_int_equal(decide(&c).promote, 1);
    c.accuracy = 0.79 - 1e-6;
    wf_gate_decision d = decide(&c);
    assert_int_equal(d.promote, 0);
    assert_int_equal(d.failed, WF_GATE_ACCURACY);
    assert_string_equal(d.reason, "accuracy 0.7900 < current 0.8000 - 0.0100");
}

static void test_mae_boundary(void **state)
{
    (void)state;
    wf_eval_metrics c = current;
    c.mae = 0.52;
    assert_int_equal(decide(&c).promote, 1);
    c.mae = 0.52 + 1e-6;
    wf_gate_decision d = decide(&c);
    assert_int_equal(d.promote, 0);
    assert_int_equal(d.failed, WF_GATE_MAE);
    assert_string_equal(d.reason, "mae 0.5200 > current 0.5000 + 0.0200");
}

static void test_ece_boundary(void **state)
{
    (void)state;
    wf_eval_metrics c = current;
    c.ece = 0.07 - 1e-6;
    assert_int_equal(decide(&c).promote, 1);
    c.ece = 0.07 + 1e-6;
    wf_gate_decision d = decide(&c);
    assert_int_equal(d.promote, 0);
    assert_int_equal(d.failed, WF_GATE_ECE);
}

static void test_auc_boundary(void **state)
{
    (void)state;
    wf_eval_metrics c = current;
    c.auc = 0.84;
    assert_int_equal(decide(&c).promote, 1);
    c.auc = 0.84 - 1e-6;
    wf_gate_decision d = decide(&c);
    assert_int_equal(d.promote, 0);
    assert_int_equal(d.failed, WF_GATE_AUC);
    assert_string_equal(d.reason, "auc 0.8400 < current 0.8500 - 0.0100");
}

static void test_pairwise_boundary_and_skip(void **state)
{
    (void)state;
    wf_eval_metrics c = current;
    c.pairwise = 0.69;
    assert_int_equal(decide(&c).promote, 1);
    c.pairwise = 0.69 - 1e-6;
    wf_gate_decision d = decide(&c);
    assert_int_equal(d.promote, 0);
    assert_int_equal(d.failed, WF_GATE_PAIRWISE);
    /* Without pairs on one side there is nothing to compare. */
    c.pairs = 0;
    assert_int_equal(decide(&c).promote, 1);
}

static void test_nan_is_skipped(void **state)
{
    (void)state;
    wf_eval_metrics c = current;
    c.auc = NAN;
    assert_int_equal(decide(&c).promote, 1);
    wf_eval_metrics cur = current;
    cur.auc = NAN;
    c = current;
    c.auc = 0.1;
    wf_gate_decision d;
    wf_gate_decide(&opts, &c, &cur, &d);
    assert_int_equal(d.promote, 1);
}

static void test_worse_everywhere_lists_all(void **state)
{
    (void)state;
    wf_eval_metrics c = {.n = 100,
                         .accuracy = 0.5,
                         .mae = 0.9,
                         .ece = 0.2,
                         .auc = 0.6,
                         .spearman = 0.1,
                         .pairs = 10,
                         .pairwise = 0.4};
    wf_gate_decision d = decide(&c);
    assert_int_equal(d.promote, 0);
    assert_int_equal(d.failed,
                     WF_GATE_ACCURACY | WF_GATE_MAE | WF_GATE_ECE | WF_GATE_AUC | WF_GATE_PAIRWISE);
    assert_string_equal(d.reason, "accuracy 0.5000 < current 0.8000 - 0.0100; "
                                  "mae 0.9000 > current 0.5000 + 0.0200; "
                                  "ece 0.2000 > current 0.0500 + 0.0200; "
                                  "auc 0.6000 < current 0.8500 - 0.0100; "
                                  "pairwise 0.4000 < current 0.7000 - 0.0100");
}

static void test_better_promotes(void **state)
{
    (void)state;
    wf_eval_metrics c = {.n = 100, .accuracy = 0.9, .mae = 0.3, .ece = 0.01, .auc = 0.95};
    assert_int_equal(decide(&c).promote, 1);
}

static void test_empty_eval_rejects(void **state)
{
    (void)state;
    wf_eval_metrics c = current;
    c.n = 0;
    wf_gate_decision d = decide(&c);
    assert_int_equal(d.promote, 0);
    assert_int_equal(d.failed, WF_GATE_NO_EVAL);
    assert_string_equal(d.reason, "no eval samples to compare on");
}

/* What a failed evaluation of the current model means: only what cannot
 * pass lets the candidate be judged against none. */
static void test_current_unusable(void **state)
{
    (void)state;
    const int unusable[] = {WF_ECORRUPT, WF_ENOTFOUND, WF_EINVAL, WF_EPARSE, WF_ESTATE};
    const int may_pass[] = {WF_OK,      WF_ENOMEM,   WF_EIO,      WF_EAGAIN,
                            WF_EREMOTE, WF_ETIMEOUT, WF_ECANCELED};
    for (size_t i = 0; i < sizeof unusable / sizeof unusable[0]; i++)
        assert_int_equal(wf_gate_current_unusable(unusable[i]), 1);
    for (size_t i = 0; i < sizeof may_pass / sizeof may_pass[0]; i++)
        assert_int_equal(wf_gate_current_unusable(may_pass[i]), 0);
}

static void test_opts_from_config(void **state)
{
    (void)state;
    wf_config *cfg = wf_config_new();
    assert_non_null(cfg);
    assert_int_equal(wf_config_set(cfg, "train.gate.max_auc_drop=0.05", NULL), 0);
    wf_gate_opts o;
    wf_gate_opts_from_config(&o, cfg);
    assert_true(o.max_accuracy_drop == 0.01);
    assert_true(o.max_mae_rise == 0.02);
    assert_true(o.max_ece_rise == 0.02);
    assert_true(o.max_auc_drop == 0.05);
    assert_true(o.max_pairwise_drop == 0.01);
    wf_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_current_promotes),
        cmocka_unit_test(test_equal_promotes),
        cmocka_unit_test(test_accuracy_boundary),
        cmocka_unit_test(test_mae_boundary),
        cmocka_unit_test(test_ece_boundary),
        cmocka_unit_test(test_auc_boundary),
        cmocka_unit_test(test_pairwise_boundary_and_skip),
        cmocka_unit_test(test_nan_is_skipped),
        cmocka_unit_test(test_worse_everywhere_lists_all),
        cmocka_unit_test(test_better_promotes),
        cmocka_unit_test(test_empty_eval_rejects),
        cmocka_unit_test(test_current_unusable),
        cmocka_unit_test(test_opts_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
