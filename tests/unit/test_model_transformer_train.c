/* The training loop. A fake engine (a linear model z_k = w.x + b_k over
 * fixed features, trained by plain gradient descent) records what the loop
 * asks of it: steps, micro-batches, scales, learning rates, the samples of
 * each epoch; a scripted eval loss drives early stopping and best-epoch
 * keeping. Then a real run: a tiny random Qwen3 model learns a planted
 * token through LoRA on every projection and the CPU engine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/train.h"
#include "test_model_transformer_tiny.h"
#include "testutil.h"

/* ---- the fake engine ---- */

#define N_TRAIN 10
#define N_EVAL 4
#define MAX_CALLS 256
#define MAX_EPOCHS 12
#define HIDDEN 8

typedef struct fake {
    wf_tf_adapter *ad; /* coral head only: w = head_w[HIDDEN], b = head_b[3] */
    float feats[N_TRAIN][HIDDEN];
    float grad[HIDDEN + 3];
    size_t steps_per_epoch, total_steps, steps, calls;
    size_t call_n[MAX_CALLS];
    float call_scale[MAX_CALLS];
    uint64_t call_seed[MAX_CALLS];
    int order[MAX_EPOCHS][N_TRAIN]; /* samples in the order the loop gave them */
    size_t seen[MAX_EPOCHS];
    double lr[MAX_CALLS], train_sum[MAX_EPOCHS];
    const double *script; /* eval logits per epoch; NULL: the model's */
    int snapped;          /* epochs whose values are in snap */
    float snap[MAX_EPOCHS][HIDDEN + 3];
    double nan_loss_at; /* accumulate call that reports a NaN loss; -1: none */
    int destroyed;
} fake;

static size_t epoch_of(const fake *f)
{
    return f->steps / f->steps_per_epoch;
}

static void logits_of(const fake *f, const float *x, float z[3])
{
    float s = 0;
    for (int i = 0; i < HIDDEN; i++)
        s += f->ad->head_w[i] * x[i];
    for (int k = 0; k < 3; k++)
        z[k] = s + f->ad->head_b[k];
}

static int f_accumulate(void *ctx, const wf_tf_batch *b, uint64_t seed, float scale,
                        double *loss_sum, wf_error *err)
{
    (void)err;
    fake *f = ctx;
    size_t e = epoch_of(f);
    assert_true(e < MAX_EPOCHS && f->calls < MAX_CALLS && f->seen[e] + b->n <= N_TRAIN);
    f->call_n[f->calls] = b->n;
    f->call_scale[f->calls] = scale;
    f->call_seed[f->calls] = seed;
    *loss_sum = f->calls++ == (size_t)f->nan_loss_at ? NAN : 0.0;
    for (size_t i = 0; i < b->n; i++) {
        int s = b->ids[i][0];
        f->order[e][f->seen[e]++] = s;
        float z[3], dz[3];
        logits_of(f, f->feats[s], z);
        *loss_sum += wf_tf_ordinal_loss(z, b->labels[i], dz);
        for (int k = 0; k < 3; k++) {
            for (int j = 0; j < HIDDEN; j++)
                f->grad[j] += scale * dz[k] * f->feats[s][j];
            f->grad[HIDDEN + k] += scale * dz[k];
        }
    }
    f->train_sum[e] += *loss_sum;
    return 0;
}

static int f_step(void *ctx, double lr, double *norm, wf_error *err)
{
    (void)err;
    fake *f = ctx;
    assert_true(f->steps < MAX_CALLS);
    f->lr[f->steps++] = lr;
    *norm = wf_tf_grad_norm(f->grad, HIDDEN + 3);
    for (int i = 0; i < HIDDEN + 3; i++)
        f->ad->params[i] -= (float)lr * f->grad[i];
    memset(f->grad, 0, sizeof f->grad);
    return 0;
}

static int f_forward(void *ctx, const int32_t *const *ids, const size_t *lens, size_t n,
                     float *logits, wf_error *err)
{
    (void)lens, (void)err;
    fake *f = ctx;
    int e = (int)epoch_of(f) - 1;
    if (f->snapped == e) {
        memcpy(f->snap[e], f->ad->params, sizeof f->snap[e]);
        f->snapped++;
    }
    for (size_t i = 0; i < n; i++) {
        if (f->script)
            logits[3 * i] = logits[3 * i + 1] = logits[3 * i + 2] = (float)f->script[e];
        else
            logits_of(f, f->feats[ids[i][0] % N_TRAIN], logits + 3 * i);
    }
    return 0;
}

static int f_download(void *ctx, wf_tf_adapter *ad, wf_error *err)
{
    (void)err;
    fake *f = ctx;
    memcpy(ad->params, f->ad->params, ad->n_params * sizeof *ad->params);
    return 0;
}

static void f_destroy(void *ctx)
{
    ((fake *)ctx)->destroyed = 1;
}

static const wf_tf_engine_ops FAKE_OPS = {"fake",    f_accumulate, f_step,
                                          f_forward, f_download,   f_destroy};

static int make_fake(void *arg, wf_tf_adapter *ad, const wf_tf_optim_opts *o, wf_tf_engine *out,
                     wf_error *err)
{
    (void)err;
    fake *f = arg;
    f->ad = ad;
    f->total_steps = o->total_steps;
    out->ops = &FAKE_OPS;
    out->ctx = f;
    return 0;
}

typedef struct world {
    wf_tf_model *m;
    int32_t ids[N_TRAIN][2];
    wf_tf_seq train[N_TRAIN], eval[N_EVAL];
} world;

static const tiny_spec FAKE_BASE = {
    "Qwen3ForCausalLM", HIDDEN, 1, 2, 1, 4, 16, 16, 0, 1, 0, NULL, 1};

static void world_make(world *w)
{
    tiny_model tm;
    tiny_build(&FAKE_BASE, &tm);
    const char *dir = wf_test_tmpdir();
    assert_int_equal(tiny_write(&tm, dir), 0);
    tiny_free(&tm);
    wf_tf_load_opts lo = {.head_seed = 7};
    assert_int_equal(wf_tf_load_dir(dir, &lo, &w->m, NULL), 0);
    for (int i = 0; i < N_TRAIN; i++) {
        w->ids[i][0] = i;
        w->ids[i][1] = 0;
        w->train[i] = (wf_tf_seq){w->ids[i], 2, 1 + (i * 7) % 4};
    }
    for (int i = 0; i < N_EVAL; i++)
        w->eval[i] = (wf_tf_seq){w->ids[i], 2, 4};
}

static wf_tf_adapter *head_only(const world *w)
{
    wf_tf_lora_opts lo = {.rank = 1, .alpha = 1, .dropout = 0, .targets = 0};
    wf_tf_adapter *ad = NULL;
    assert_int_equal(wf_tf_adapter_new(w->m, &lo, WF_HEAD_CORAL, 1, &ad, NULL), 0);
    assert_int_equal(ad->n_params, HIDDEN + 3);
    return ad;
}

static void fake_init(fake *f, size_t steps_per_epoch)
{
    memset(f, 0, sizeof *f);
    f->steps_per_epoch = steps_per_epoch;
    f->nan_loss_at = -1;
    uint64_t rng = 3;
    for (int i = 0; i < N_TRAIN; i++)
        for (int j = 0; j < HIDDEN; j++)
            f->feats[i][j] = (float)tiny_uniform(&rng);
}

static wf_tf_train_opts train_opts(int epochs, size_t mb, size_t accum, uint64_t seed)
{
    wf_tf_train_opts o = {
        .epochs = epochs, .patience = 2, .micro_batch = mb, .accum = accum, .seed = seed};
    wf_tf_optim_defaults(&o.optim);
    o.optim.lr = 0.1;
    o.optim.warmup_ratio = 0.2;
    return o;
}

/* 10 samples, 3 per micro-batch, 2 micro-batches per step: steps of 6 and
 * 4 samples (micro-batches 3, 3 | 3, 1), two steps an epoch. */
static void test_mechanics(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    wf_tf_adapter *ad = head_only(&w);
    fake f;
    fake_init(&f, 2);
    wf_tf_train_opts o = train_opts(3, 3, 2, 42);
    wf_train_report rep;
    assert_int_equal(wf_tf_train(ad, w.train, N_TRAIN, NULL, 0, &o, make_fake, &f, &rep, NULL), 0);
    assert_int_equal(f.total_steps, 6);
    assert_int_equal(f.steps, 6);
    assert_int_equal(f.calls, 12);
    const size_t sizes[4] = {3, 3, 3, 1};
    const float scales[4] = {1.0f / 6, 1.0f / 6, 1.0f / 4, 1.0f / 4};
    for (size_t c = 0; c < 12; c++) {
        assert_int_equal(f.call_n[c], sizes[c % 4]);
        assert_true(f.call_scale[c] == scales[c % 4]);
        for (size_t d = 0; d < c; d++)
            assert_true(f.call_seed[c] != f.call_seed[d]);
    }
    wf_tf_optim_opts sched = o.optim;
    sched.total_steps = 6;
    for (size_t s = 0; s < 6; s++)
        assert_true(f.lr[s] == wf_tf_lr_at(&sched, s));
    /* Every sample once an epoch, in a new order each epoch. */
    for (int e = 0; e < 3; e++) {
        int count[N_TRAIN] = {0};
        assert_int_equal(f.seen[e], N_TRAIN);
        for (int i = 0; i < N_TRAIN; i++)
            count[f.order[e][i]]++;
        for (int i = 0; i < N_TRAIN; i++)
            assert_int_equal(count[i], 1);
    }
    assert_memory_not_equal(f.order[0], f.order[1], sizeof f.order[0]);
    /* No eval set: all epochs run and the last one is kept. */
    assert_int_equal(rep.epochs_run, 3);
    assert_int_equal(rep.samples, N_TRAIN);
    assert_true(rep.train_loss == f.train_sum[2] / N_TRAIN);
    assert_true(rep.eval_loss == 0.0 && rep.seconds >= 0.0);
    assert_true(f.destroyed);
    assert_true(f.train_sum[2] < f.train_sum[0]); /* the fake learns */
    wf_tf_adapter_free(ad);
    wf_tf_free(w.m);
}

/* Eval logits scripted per epoch; the eval labels are all 4, so a higher
 * logit is a lower loss: epoch 2 is best, epochs 3, 4 and 5 are not, and
 * with patience 2 the third of them stops the run. */
static void test_early_stop_keeps_best(void **state)
{
    (void)state;
    static const double script[MAX_EPOCHS] = {0.0, 1.0, 0.5, 0.7, 0.2, 3.0, 3.0, 3.0};
    world w;
    world_make(&w);
    for (int patience = 0; patience <= 2; patience += 2) {
        wf_tf_adapter *ad = head_only(&w);
        fake f;
        fake_init(&f, 1);
        f.script = script;
        wf_tf_train_opts o = train_opts(8, N_TRAIN, 1, 5);
        o.patience = patience;
        wf_train_report rep;
        assert_int_equal(
            wf_tf_train(ad, w.train, N_TRAIN, w.eval, N_EVAL, &o, make_fake, &f, &rep, NULL), 0);
        assert_int_equal(rep.epochs_run, patience ? 5 : 3);
        assert_int_equal(f.total_steps, 8); /* planned for all epochs */
        assert_memory_equal(ad->params, f.snap[1], sizeof f.snap[1]);
        assert_memory_not_equal(f.snap[1], f.snap[2], sizeof f.snap[1]);
        float z[3] = {1, 1, 1}, dz[3];
        assert_true(fabs(rep.eval_loss - wf_tf_ordinal_loss(z, 4, dz)) < 1e-12);
        assert_true(rep.train_loss == f.train_sum[1] / N_TRAIN);
        wf_tf_adapter_free(ad);
    }
    wf_tf_free(w.m);
}

static void run_fake(world *w, uint64_t seed, fake *f, wf_tf_adapter **ad)
{
    *ad = head_only(w);
    fake_init(f, 3); /* steps of 4, 4 and 2 samples */
    wf_tf_train_opts o = train_opts(4, 2, 2, seed);
    assert_int_equal(
        wf_tf_train(*ad, w->train, N_TRAIN, w->eval, N_EVAL, &o, make_fake, f, NULL, NULL), 0);
}

static void test_determinism(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    fake *f = malloc(3 * sizeof *f);
    wf_tf_adapter *ad[3];
    run_fake(&w, 9, &f[0], &ad[0]);
    run_fake(&w, 9, &f[1], &ad[1]);
    run_fake(&w, 10, &f[2], &ad[2]);
    assert_memory_equal(ad[0]->params, ad[1]->params, ad[0]->n_params * sizeof(float));
    assert_memory_equal(f[0].order, f[1].order, sizeof f[0].order);
    assert_memory_equal(f[0].call_seed, f[1].call_seed, sizeof f[0].call_seed);
    assert_memory_not_equal(f[0].order, f[2].order, sizeof f[0].order);
    assert_memory_not_equal(f[0].call_seed, f[2].call_seed, sizeof f[0].call_seed);
    for (int i = 0; i < 3; i++)
        wf_tf_adapter_free(ad[i]);
    free(f);
    wf_tf_free(w.m);
}

static int failing_maker(void *arg, wf_tf_adapter *ad, const wf_tf_optim_opts *o, wf_tf_engine *out,
                         wf_error *err)
{
    (void)arg, (void)ad, (void)o, (void)out;
    return wf_error_set(err, WF_ENOMEM, "no device memory");
}

static void test_errors(void **state)
{
    (void)state;
    world w;
    world_make(&w);
    wf_tf_adapter *ad = head_only(&w);
    float start[HIDDEN + 3];
    memcpy(start, ad->params, sizeof start);
    fake f;
    fake_init(&f, 1);
    wf_error err;
    wf_tf_train_opts o = train_opts(3, N_TRAIN, 1, 1);
    assert_int_equal(wf_tf_train(ad, w.train, 0, NULL, 0, &o, make_fake, &f, NULL, &err),
                     WF_EINVAL);
    wf_tf_seq bad = w.train[0];
    bad.label = 5;
    assert_int_equal(wf_tf_train(ad, &bad, 1, NULL, 0, &o, make_fake, &f, NULL, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "label 5"));
    bad.label = 1;
    bad.len = 0;
    assert_int_equal(wf_tf_train(ad, w.train, 1, &bad, 1, &o, make_fake, &f, NULL, &err),
                     WF_EINVAL);
    o.micro_batch = 0;
    assert_int_equal(wf_tf_train(ad, w.train, N_TRAIN, NULL, 0, &o, make_fake, &f, NULL, &err),
                     WF_EINVAL);
    o.micro_batch = N_TRAIN;
    assert_int_equal(
        wf_tf_train(ad, w.train, N_TRAIN, NULL, 0, &o, failing_maker, NULL, NULL, &err), WF_ENOMEM);
    assert_string_equal(err.msg, "no device memory");
    assert_memory_equal(ad->params, start, sizeof start);
    /* Epoch 1 is best, epoch 2 worse, and epoch 3 hits a NaN loss: an
     * error, and ad holds epoch 1's values. */
    static const double script[3] = {1.0, 0.0, 0.0};
    f.script = script;
    f.nan_loss_at = 2;
    assert_int_equal(
        wf_tf_train(ad, w.train, N_TRAIN, w.eval, N_EVAL, &o, make_fake, &f, NULL, &err),
        WF_ESTATE);
    assert_non_null(strstr(err.msg, "diverged"));
    assert_true(f.destroyed);
    assert_memory_equal(ad->params, f.snap[0], sizeof f.snap[0]);
    assert_memory_not_equal(ad->params, f.snap[1], sizeof f.snap[1]);
    wf_tf_adapter_free(ad);
    wf_tf_free(w.m);
}

/* ---- a real run ---- */

#define R_TRAIN 64
#define R_EVAL 32
#define R_MAXLEN 14

static const tiny_spec REAL = {
    "Qwen3ForSequenceClassification", 32, 2, 4, 2, 8, 64, 32, 3, 1, 0, NULL, 21};

typedef struct corpus {
    int32_t ids[R_TRAIN + R_EVAL][R_MAXLEN];
    wf_tf_seq seqs[R_TRAIN + R_EVAL];
} corpus;

/* Labels 4 and 1 alternate; a label-4 text holds token 7 somewhere, a
 * label-1 text token 9, and the rest is noise from tokens 10..31. */
static void corpus_make(corpus *c)
{
    uint64_t rng = 77;
    for (int i = 0; i < R_TRAIN + R_EVAL; i++) {
        size_t len = 6 + (size_t)((tiny_uniform(&rng) + 1) / 2 * 8.99);
        for (size_t t = 0; t < len; t++)
            c->ids[i][t] = 10 + (int32_t)((tiny_uniform(&rng) + 1) / 2 * 21.99);
        int label = i % 2 ? 4 : 1;
        c->ids[i][(size_t)((tiny_uniform(&rng) + 1) / 2 * (len - 0.01))] = label == 4 ? 7 : 9;
        c->seqs[i] = (wf_tf_seq){c->ids[i], len, label};
    }
}

/* The mean loss, the mean reward (expected label) of each class, and the
 * share of texts on the right side of 2.5. */
static void measure(const wf_tf_model *m, const wf_tf_adapter *ad, const wf_tf_seq *s, size_t n,
                    double *loss, double *reward4, double *reward1, double *accuracy)
{
    const int32_t *ids[R_TRAIN];
    size_t lens[R_TRAIN];
    float z[3 * R_TRAIN], dz[3];
    for (size_t i = 0; i < n; i++)
        ids[i] = s[i].ids, lens[i] = s[i].len;
    assert_int_equal(wf_tf_forward_adapted(m, ad, ids, lens, n, z, NULL), 0);
    *loss = *reward4 = *reward1 = *accuracy = 0;
    for (size_t i = 0; i < n; i++) {
        *loss += wf_tf_ordinal_loss(z + 3 * i, s[i].label, dz) / (double)n;
        double r = 1;
        for (int k = 0; k < 3; k++)
            r += 1 / (1 + exp(-z[3 * i + k]));
        *(s[i].label == 4 ? reward4 : reward1) += r / (n / 2.0);
        *accuracy += ((r > 2.5) == (s[i].label == 4)) / (double)n;
    }
}

static int make_cpu(void *arg, wf_tf_adapter *ad, const wf_tf_optim_opts *o, wf_tf_engine *out,
                    wf_error *err)
{
    return wf_tf_engine_cpu(arg, ad, o, out, err);
}

static void test_real_run_learns_planted_token(void **state)
{
    (void)state;
    tiny_model tm;
    tiny_build(&REAL, &tm);
    const char *dir = wf_test_tmpdir();
    assert_int_equal(tiny_write(&tm, dir), 0);
    tiny_free(&tm);
    wf_tf_model *m = NULL;
    assert_int_equal(wf_tf_load_dir(dir, NULL, &m, NULL), 0);
    corpus *c = malloc(sizeof *c);
    corpus_make(c);
    wf_tf_lora_opts lo = {.rank = 4, .alpha = 8, .dropout = 0.05, .targets = 0x7f};
    wf_tf_adapter *ad = NULL;
    wf_error err;
    assert_int_equal(wf_tf_adapter_new(m, &lo, WF_HEAD_CORAL, 1, &ad, &err), 0);
    double l0, r4_0, r1_0, acc0, l1, r4, r1, acc;
    measure(m, ad, c->seqs + R_TRAIN, R_EVAL, &l0, &r4_0, &r1_0, &acc0);
    wf_tf_train_opts o = train_opts(10, 8, 2, 123);
    o.optim.lr = 1e-2;
    o.optim.warmup_ratio = 0.1;
    wf_train_report rep;
    int rc =
        wf_tf_train(ad, c->seqs, R_TRAIN, c->seqs + R_TRAIN, R_EVAL, &o, make_cpu, m, &rep, &err);
    assert_int_equal(rc, 0);
    measure(m, ad, c->seqs + R_TRAIN, R_EVAL, &l1, &r4, &r1, &acc);
    printf("real run: %d epochs, %.2f s; eval loss %.4f -> %.4f (report %.4f), train %.4f; "
           "reward class 4 %.3f -> %.3f, class 1 %.3f -> %.3f; accuracy %.3f -> %.3f\n",
           rep.epochs_run, rep.seconds, l0, l1, rep.eval_loss, rep.train_loss, r4_0, r4, r1_0, r1,
           acc0, acc);
    assert_true(fabs(l1 - rep.eval_loss) < 1e-5); /* ad holds the kept epoch */
    assert_true(l1 < 0.5 * l0);
    assert_true(r4 - r1 > 1.5);
    assert_true(acc >= 0.9);
    wf_tf_adapter_free(ad);
    free(c);
    wf_tf_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mechanics),
        cmocka_unit_test(test_early_stop_keeps_best),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_real_run_learns_planted_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
