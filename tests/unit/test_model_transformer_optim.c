/* AdamW, its schedule and clipping against values worked out by hand, and
 * gradient accumulation through the training loop: however a step's
 * samples are split into micro-batches, the step sees their mean gradient. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/train.h"
#include "test_model_transformer_tiny.h"
#include "testutil.h"

static wf_tf_optim_opts opts(double lr, double warmup, size_t total)
{
    wf_tf_optim_opts o;
    wf_tf_optim_defaults(&o);
    o.lr = lr;
    o.warmup_ratio = warmup;
    o.total_steps = total;
    return o;
}

static void test_defaults(void **state)
{
    (void)state;
    wf_tf_optim_opts o;
    wf_tf_optim_defaults(&o);
    assert_true(o.lr == 2e-4 && o.beta1 == 0.9 && o.beta2 == 0.999 && o.eps == 1e-8);
    assert_true(o.weight_decay == 0.0 && o.warmup_ratio == 0.05 && o.max_grad_norm == 1.0);
    assert_int_equal(o.total_steps, 1);
}

static void test_schedule(void **state)
{
    (void)state;
    /* 10 warm-up steps of 100. */
    wf_tf_optim_opts o = opts(1e-3, 0.1, 100);
    assert_true(wf_tf_lr_at(&o, 0) == 1e-3 * 1 / 10);
    assert_true(wf_tf_lr_at(&o, 4) == 1e-3 * 5 / 10);
    assert_true(wf_tf_lr_at(&o, 9) == 1e-3);
    assert_true(wf_tf_lr_at(&o, 10) == 1e-3); /* the decay starts at the peak */
    assert_true(fabs(wf_tf_lr_at(&o, 55) - 5e-4) < 1e-15);
    double last = 1e-3 * (1 + cos(M_PI * 89.0 / 90.0)) / 2;
    assert_true(wf_tf_lr_at(&o, 99) == last);
    assert_true(last > 0 && last < 1e-6);
    assert_true(wf_tf_lr_at(&o, 100) == 0.0 && wf_tf_lr_at(&o, 1000) == 0.0);
    for (size_t s = 10; s < 99; s++)
        assert_true(wf_tf_lr_at(&o, s + 1) < wf_tf_lr_at(&o, s));
    /* Warm-up steps round up: 5% of 30 is 1.5, so 2. */
    o = opts(1e-3, 0.05, 30);
    assert_true(wf_tf_lr_at(&o, 0) == 5e-4 && wf_tf_lr_at(&o, 1) == 1e-3);
    o = opts(1e-3, 0.0, 4);
    assert_true(wf_tf_lr_at(&o, 0) == 1e-3);
    assert_true(fabs(wf_tf_lr_at(&o, 2) - 5e-4) < 1e-15);
}

static void test_norm_and_clipping(void **state)
{
    (void)state;
    float g2[2] = {3, 4};
    assert_true(wf_tf_grad_norm(g2, 2) == 5.0);
    wf_tf_optim_opts o = opts(0.1, 0, 1);
    o.max_grad_norm = 1.0;
    wf_tf_adamw a;
    float p[2] = {0, 0};
    assert_int_equal(wf_tf_adamw_init(&a, &o, 2, NULL), 0);
    assert_true(wf_tf_adamw_step(&a, p, g2, 2, 0.1) == 5.0); /* the norm before */
    assert_true(fabs(wf_tf_grad_norm(g2, 2) - 1.0) < 1e-7);  /* clipped to max */
    assert_true(fabsf(g2[0] - 0.6f) < 1e-7f && fabsf(g2[1] - 0.8f) < 1e-7f);
    /* Under the maximum, or with clipping off, the gradient stays. */
    float small[2] = {0.3f, 0.4f};
    assert_true(fabs(wf_tf_adamw_step(&a, p, small, 2, 0.1) - 0.5) < 1e-7);
    assert_true(small[0] == 0.3f && small[1] == 0.4f);
    wf_tf_adamw_free(&a);
    o.max_grad_norm = 0;
    float big[2] = {30, 40};
    assert_int_equal(wf_tf_adamw_init(&a, &o, 2, NULL), 0);
    assert_true(wf_tf_adamw_step(&a, p, big, 2, 0.1) == 50.0);
    assert_true(big[0] == 30.0f && big[1] == 40.0f);
    wf_tf_adamw_free(&a);
}

/* Two steps worked out by hand: step 1 moves each value by lr against its
 * gradient's sign (m^ = g, v^ = g^2), after decay by 1 - lr wd on the first
 * two; step 2 (p[0]): m = 0.9 0.02 - 0.1 0.1 = 0.008, v = 0.999 4e-5 +
 * 0.001 0.01 = 4.996e-5, p = 0.3995 0.999 - 0.1 (0.008 / 0.19) /
 * sqrt(4.996e-5 / 0.001999) = 0.3724668. */
static void test_adamw_steps(void **state)
{
    (void)state;
    wf_tf_optim_opts o = opts(0.1, 0, 2);
    o.weight_decay = 0.01;
    o.max_grad_norm = 0;
    wf_tf_adamw a;
    assert_int_equal(wf_tf_adamw_init(&a, &o, 3, NULL), 0);
    float p[3] = {0.5f, -1.0f, 2.0f};
    float g1[3] = {0.2f, -0.4f, 0.1f}, g2[3] = {-0.1f, 0.3f, 0.1f};
    wf_tf_adamw_step(&a, p, g1, 2, 0.1);
    assert_true(fabsf(p[0] - 0.3995f) < 1e-6f && fabsf(p[1] + 0.899f) < 1e-6f &&
                fabsf(p[2] - 1.9f) < 1e-6f);
    wf_tf_adamw_step(&a, p, g2, 2, 0.1);
    assert_true(fabsf(p[0] - 0.3724668f) < 1e-6f);
    assert_true(fabsf(p[1] + 0.8891685f) < 1e-6f);
    assert_true(fabsf(p[2] - 1.8f) < 1e-6f); /* same gradient twice: lr again, no decay */
    assert_int_equal(a.step, 2);
    wf_tf_adamw_free(&a);
}

static void test_decay_range(void **state)
{
    (void)state;
    wf_tf_optim_opts o = opts(0.5, 0, 1);
    o.weight_decay = 0.1;
    wf_tf_adamw a;
    assert_int_equal(wf_tf_adamw_init(&a, &o, 5, NULL), 0);
    float p[5] = {1, -2, 3, 4, -5}, g[5] = {0};
    wf_tf_adamw_step(&a, p, g, 3, 0.5);
    float want[5] = {(float)(1 * 0.95), (float)(-2 * 0.95), (float)(3 * 0.95), 4, -5};
    assert_memory_equal(p, want, sizeof p);
    wf_tf_adamw_free(&a);
}

static void test_non_finite_and_bad_opts(void **state)
{
    (void)state;
    wf_tf_optim_opts o = opts(0.1, 0, 1);
    wf_tf_adamw a;
    assert_int_equal(wf_tf_adamw_init(&a, &o, 2, NULL), 0);
    float p[2] = {1, 2}, g[2] = {NAN, 1};
    assert_true(isnan(wf_tf_adamw_step(&a, p, g, 2, 0.1)));
    assert_true(p[0] == 1 && p[1] == 2 && a.step == 0 && a.m[1] == 0);
    wf_tf_adamw_free(&a);
    wf_error err;
    wf_tf_optim_opts bad[4] = {o, o, o, o};
    bad[0].lr = 0;
    bad[1].beta2 = 1;
    bad[2].total_steps = 0;
    bad[3].warmup_ratio = 1.5;
    for (int i = 0; i < 4; i++)
        assert_int_equal(wf_tf_adamw_init(&a, &bad[i], 2, &err), WF_EINVAL);
}

/* ---- accumulation through the loop, on a tiny model and the CPU engine */

#define N_SEQ 8
#define MAX_STEPS 8

static const tiny_spec SPEC = {
    "Qwen3ForSequenceClassification", 16, 2, 2, 1, 8, 32, 24, 3, 1, 0, NULL, 5};

typedef struct recorder {
    const wf_tf_model *m;
    wf_tf_engine inner;
    double norms[MAX_STEPS];
    size_t steps;
} recorder;

static int rec_accumulate(void *ctx, const wf_tf_batch *b, uint64_t seed, float scale, double *loss,
                          wf_error *err)
{
    recorder *r = ctx;
    return r->inner.ops->accumulate(r->inner.ctx, b, seed, scale, loss, err);
}

static int rec_step(void *ctx, double lr, double *norm, wf_error *err)
{
    recorder *r = ctx;
    int rc = r->inner.ops->step(r->inner.ctx, lr, norm, err);
    if (r->steps < MAX_STEPS)
        r->norms[r->steps++] = *norm;
    return rc;
}

static int rec_forward(void *ctx, const int32_t *const *ids, const size_t *lens, size_t n,
                       float *logits, wf_error *err)
{
    recorder *r = ctx;
    return r->inner.ops->forward(r->inner.ctx, ids, lens, n, logits, err);
}

static int rec_download(void *ctx, wf_tf_adapter *ad, wf_error *err)
{
    recorder *r = ctx;
    return r->inner.ops->download(r->inner.ctx, ad, err);
}

static void rec_destroy(void *ctx)
{
    recorder *r = ctx;
    r->inner.ops->destroy(r->inner.ctx);
}

static const wf_tf_engine_ops REC_OPS = {"cpu",       rec_accumulate, rec_step,
                                         rec_forward, rec_download,   rec_destroy};

static int make_recorder(void *arg, wf_tf_adapter *ad, const wf_tf_optim_opts *o, wf_tf_engine *out,
                         wf_error *err)
{
    recorder *r = arg;
    int rc = wf_tf_engine_cpu(r->m, ad, o, &r->inner, err);
    out->ops = &REC_OPS;
    out->ctx = r;
    return rc;
}

typedef struct fixture {
    wf_tf_model *m;
    int32_t ids[N_SEQ][12];
    wf_tf_seq seqs[N_SEQ];
} fixture;

static void fixture_make(fixture *f)
{
    tiny_model tm;
    tiny_build(&SPEC, &tm);
    const char *dir = wf_test_tmpdir();
    assert_int_equal(tiny_write(&tm, dir), 0);
    tiny_free(&tm);
    wf_error err;
    assert_int_equal(wf_tf_load_dir(dir, NULL, &f->m, &err), 0);
    uint64_t rng = 99;
    for (int i = 0; i < N_SEQ; i++) {
        f->seqs[i] = (wf_tf_seq){f->ids[i], (size_t)(3 + i), 1 + i % 4};
        for (int t = 0; t < 12; t++)
            f->ids[i][t] = (int32_t)((tiny_uniform(&rng) + 1) / 2 * 23.99);
    }
}

static wf_tf_adapter *train_split(fixture *f, size_t micro_batch, size_t accum, recorder *r)
{
    wf_tf_lora_opts lo = {.rank = 2, .alpha = 4, .dropout = 0, .targets = 0x7f};
    wf_tf_adapter *ad = NULL;
    wf_error err;
    assert_int_equal(wf_tf_adapter_new(f->m, &lo, WF_HEAD_CORAL, 3, &ad, &err), 0);
    wf_tf_train_opts o = {
        .epochs = 3, .patience = 0, .micro_batch = micro_batch, .accum = accum, .seed = 11};
    wf_tf_optim_defaults(&o.optim);
    o.optim.lr = 1e-2;
    o.optim.max_grad_norm = 0;
    memset(r, 0, sizeof *r);
    r->m = f->m;
    wf_train_report rep;
    assert_int_equal(wf_tf_train(ad, f->seqs, N_SEQ, NULL, 0, &o, make_recorder, r, &rep, &err), 0);
    assert_int_equal(rep.epochs_run, 3);
    assert_int_equal(r->steps, 3); /* one step per epoch: all eight samples */
    return ad;
}

static void test_accumulation_equivalence(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f);
    /* The first step's gradient is the mean over all samples. */
    wf_tf_lora_opts lo = {.rank = 2, .alpha = 4, .dropout = 0, .targets = 0x7f};
    wf_tf_adapter *ad0 = NULL;
    assert_int_equal(wf_tf_adapter_new(f.m, &lo, WF_HEAD_CORAL, 3, &ad0, NULL), 0);
    const int32_t *ids[N_SEQ];
    size_t lens[N_SEQ];
    int labels[N_SEQ];
    for (int i = 0; i < N_SEQ; i++)
        ids[i] = f.seqs[i].ids, lens[i] = f.seqs[i].len, labels[i] = f.seqs[i].label;
    wf_tf_batch all = {ids, lens, labels, N_SEQ};
    float *g = calloc(ad0->n_params, sizeof *g);
    double loss;
    assert_int_equal(wf_tf_grad(f.m, ad0, &all, 1, 1.0f / N_SEQ, g, &loss, NULL), 0);
    double mean_norm = wf_tf_grad_norm(g, ad0->n_params);

    recorder r1, r2;
    wf_tf_adapter *one = train_split(&f, N_SEQ, 1, &r1);
    assert_true(fabs(r1.norms[0] - mean_norm) < 1e-5 * mean_norm);
    const size_t splits[3][2] = {{4, 2}, {2, 4}, {1, 8}};
    for (int s = 0; s < 3; s++) {
        wf_tf_adapter *ad = train_split(&f, splits[s][0], splits[s][1], &r2);
        for (int k = 0; k < 3; k++)
            assert_true(fabs(r2.norms[k] - r1.norms[k]) < 1e-5 * r1.norms[k]);
        for (size_t i = 0; i < ad->n_params; i++)
            assert_true(fabsf(ad->params[i] - one->params[i]) < 1e-5f);
        wf_tf_adapter_free(ad);
    }
    /* Training moved the values: the comparison above is not vacuous. */
    double moved = 0;
    for (size_t i = 0; i < ad0->n_params; i++)
        moved += fabsf(one->params[i] - ad0->params[i]);
    assert_true(moved > 1e-2);
    wf_tf_adapter_free(one);
    wf_tf_adapter_free(ad0);
    free(g);
    wf_tf_free(f.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_norm_and_clipping),
        cmocka_unit_test(test_adamw_steps),
        cmocka_unit_test(test_decay_range),
        cmocka_unit_test(test_non_finite_and_bad_opts),
        cmocka_unit_test(test_accumulation_equivalence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
