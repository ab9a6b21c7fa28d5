/* Training the linear model: a planted signal is learned (accuracy and AUC
 * far above chance), training is deterministic per seed, save/load is bit
 * exact, a rendered text scores like its parts, bad options are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_linear/linear.h"
#include "testutil.h"

#define N_TRAIN 2000
#define N_EVAL 500
#define TEXT_MAX 512

static const char *const cue[WF_LABELS] = {"wrong", "mistake", "nice", "great"};

typedef struct data {
    char q[N_TRAIN + N_EVAL][TEXT_MAX], r[N_TRAIN + N_EVAL][TEXT_MAX];
    wf_example ex[N_TRAIN + N_EVAL];
} data;

static uint64_t next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void noise(char *out, size_t cap, int words, uint64_t *s)
{
    size_t at = strlen(out);
    for (int i = 0; i < words && at + 16 < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, " w%d", (int)(next(s) % 300));
}

/* Responses carry their label's cue word among noise words; one in ten
 * examples has a random label, so the data is not separable. */
static data *make_data(void)
{
    data *d = calloc(1, sizeof *d);
    uint64_t s = 12345;
    for (size_t i = 0; i < N_TRAIN + N_EVAL; i++) {
        int y = (int)(next(&s) % 4) + 1;
        snprintf(d->q[i], TEXT_MAX, "Question");
        noise(d->q[i], TEXT_MAX, 8, &s);
        snprintf(d->r[i], TEXT_MAX, "Reply");
        noise(d->r[i], TEXT_MAX, 10, &s);
        size_t at = strlen(d->r[i]);
        snprintf(d->r[i] + at, TEXT_MAX - at, " %s", cue[y - 1]);
        noise(d->r[i], TEXT_MAX, 10, &s);
        if (next(&s) % 10 == 0)
            y = (int)(next(&s) % 4) + 1;
        d->ex[i] = (wf_example){{.query = d->q[i], .response = d->r[i]}, y};
    }
    return d;
}

static wf_train_opts opts(wf_head_kind head, uint64_t seed)
{
    return (wf_train_opts){.head = head,
                           .seed = seed,
                           .epochs = 10,
                           .batch = 32,
                           .patience = 2,
                           .hash_bits = 16,
                           .lr = 0.5,
                           .l2 = 1e-6};
}

static wf_model *train(const data *d, const wf_train_opts *o, wf_train_report *rep)
{
    wf_model *m = NULL;
    wf_error err = {0};
    int rc = wf_linear_train(d->ex, N_TRAIN, d->ex + N_TRAIN, N_EVAL, o, &m, rep, &err);
    if (rc)
        fail_msg("train: %s", err.msg);
    return m;
}

static float *score_eval(const wf_model *m, const data *d)
{
    wf_model_input in[N_EVAL];
    for (size_t i = 0; i < N_EVAL; i++)
        in[i] = d->ex[N_TRAIN + i].in;
    float *z = malloc(N_EVAL * WF_LOGITS * sizeof *z);
    wf_error err = {0};
    assert_int_equal(wf_model_score(m, in, N_EVAL, z, &err), 0);
    return z;
}

/* ROC-AUC of the reward for good (3-4) against bad (1-2) labels. */
static double auc(const data *d, const float *z)
{
    double wins = 0, pairs = 0;
    for (size_t i = 0; i < N_EVAL; i++)
        for (size_t j = 0; j < N_EVAL; j++) {
            if (d->ex[N_TRAIN + i].label < 3 || d->ex[N_TRAIN + j].label > 2)
                continue;
            double a = wf_reward(z + i * WF_LOGITS), b = wf_reward(z + j * WF_LOGITS);
            wins += a > b ? 1.0 : a == b ? 0.5 : 0.0;
            pairs++;
        }
    return wins / pairs;
}

static void learns_planted_signal(wf_head_kind head)
{
    data *d = make_data();
    wf_train_opts o = opts(head, 7);
    wf_train_report rep;
    wf_model *m = train(d, &o, &rep);
    float *z = score_eval(m, d);
    size_t right = 0;
    for (size_t i = 0; i < N_EVAL; i++) {
        right += wf_predicted_label(z + i * WF_LOGITS) == d->ex[N_TRAIN + i].label;
        if (head == WF_HEAD_CORAL) /* rank consistent: logits never increase */
            assert_true(z[i * 3] >= z[i * 3 + 1] && z[i * 3 + 1] >= z[i * 3 + 2]);
    }
    double acc = (double)right / N_EVAL, a = auc(d, z);
    print_message("%s: accuracy %.3f auc %.3f epochs %d train %.4f eval %.4f\n", wf_head_name(head),
                  acc, a, rep.epochs_run, rep.train_loss, rep.eval_loss);
    /* Chance is 0.25 and 0.5; the noise caps accuracy near 0.925. */
    assert_true(acc > 0.8);
    assert_true(a > 0.9);
    assert_int_equal(rep.samples, N_TRAIN);
    assert_true(rep.epochs_run >= 1 && rep.epochs_run <= 10);
    assert_true(rep.eval_loss > 0 && rep.eval_loss < 0.3);
    free(z);
    wf_model_free(m);
    free(d);
}

static void test_planted_coral(void **state)
{
    (void)state;
    learns_planted_signal(WF_HEAD_CORAL);
}

static void test_planted_independent(void **state)
{
    (void)state;
    learns_planted_signal(WF_HEAD_INDEPENDENT);
}

static char *saved_bytes(const wf_model *m, size_t *n)
{
    const char *dir = wf_test_tmpdir();
    wf_error err = {0};
    assert_int_equal(m->ops->save(m, dir, &err), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, m->ops->files(m)[0]);
    return wf_test_read_file(path, n);
}

static void test_deterministic_per_seed(void **state)
{
    (void)state;
    data *d = make_data();
    wf_train_opts o = opts(WF_HEAD_CORAL, 99);
    o.epochs = 2;
    wf_model *a = train(d, &o, NULL), *b = train(d, &o, NULL);
    o.seed = 100;
    wf_model *c = train(d, &o, NULL);
    size_t na, nb, nc;
    char *fa = saved_bytes(a, &na), *fb = saved_bytes(b, &nb), *fc = saved_bytes(c, &nc);
    assert_int_equal(na, nb);
    assert_memory_equal(fa, fb, na);
    assert_int_equal(na, nc);
    assert_true(memcmp(fa, fc, na) != 0);
    free(fa);
    free(fb);
    free(fc);
    wf_model_free(a);
    wf_model_free(b);
    wf_model_free(c);
    free(d);
}

/* A callback that cancels from its third call on, counting its calls. */
static int cancel_on_third(void *calls)
{
    return ++*(int *)calls >= 3;
}

/* Cancelled before its third epoch: WF_ECANCELED and no model. */
static void test_cancel_between_epochs(void **state)
{
    (void)state;
    data *d = make_data();
    wf_train_opts o = opts(WF_HEAD_CORAL, 5);
    o.patience = 100;
    int calls = 0;
    o.cancelled = cancel_on_third;
    o.cancel_ctx = &calls;
    wf_model *m = NULL;
    wf_error err = {0};
    assert_int_equal(wf_linear_train(d->ex, N_TRAIN, d->ex + N_TRAIN, N_EVAL, &o, &m, NULL, &err),
                     WF_ECANCELED);
    assert_string_equal(err.msg, "linear: cancelled after 2 epochs");
    assert_int_equal(calls, 3);
    assert_null(m);
    free(d);
}

static void test_save_load_bit_exact(void **state)
{
    (void)state;
    data *d = make_data();
    for (int head = WF_HEAD_CORAL; head <= WF_HEAD_INDEPENDENT; head++) {
        wf_train_opts o = opts((wf_head_kind)head, 3);
        o.epochs = 2;
        wf_model *m = train(d, &o, NULL);
        const char *dir = wf_test_tmpdir();
        wf_error err = {0};
        assert_int_equal(m->ops->save(m, dir, &err), 0);
        wf_model *back;
        assert_int_equal(wf_linear_load(dir, &back, &err), 0);
        assert_int_equal(back->head, head);
        assert_string_equal(back->ops->kind, "linear");
        float *z1 = score_eval(m, d), *z2 = score_eval(back, d);
        assert_memory_equal(z1, z2, N_EVAL * WF_LOGITS * sizeof *z1);
        free(z1);
        free(z2);
        wf_model_free(m);
        wf_model_free(back);
    }
    free(d);
}

static const char template_head[] =
    "# Task Description\nYou are an expert conversation evaluator. Your task is to judge the "
    "**User's Satisfaction** with the Assistant's response based on the conversation context.\n"
    "Please rate the response on a scale of 1 to 5 integers.\n\n# Scoring Criteria\n"
    "[1] CLEARLY NEGATIVE / REJECTION\n[2] CORRECTION / ERROR POINTER (Negative)\n[3] NEUTRAL\n"
    "[4] POSITIVE ENGAGEMENT\n[5] CLEAR SATISFACTION\n\n# Input Data\n## Context (History)\n";

static void test_text_scores_like_parts(void **state)
{
    (void)state;
    data *d = make_data();
    wf_train_opts o = opts(WF_HEAD_CORAL, 5);
    o.epochs = 1;
    wf_model *m = train(d, &o, NULL);
    static char text[4096];
    for (size_t i = N_TRAIN; i < N_TRAIN + 20; i++) {
        snprintf(text, sizeof text,
                 "%s%s\n\n## User Query\n%s\n\n## Assistant Response\n%s\n\n# Output\n"
                 "Based on the criteria above, please output ONLY the integer score (1, 2, 3, "
                 "4, or 5).",
                 template_head,
                 i % 2 ? "No previous context.\n" : "user: hi\nassistant: Hello!\n\n", d->q[i],
                 d->r[i]);
        wf_model_input in[2] = {d->ex[i].in, {.text = text}};
        float z[2 * WF_LOGITS];
        wf_error err = {0};
        assert_int_equal(wf_model_score(m, in, 2, z, &err), 0);
        assert_memory_equal(z, z + WF_LOGITS, WF_LOGITS * sizeof *z);
    }
    /* Text without the sections scores as a response with an empty query. */
    wf_model_input in[2] = {{.query = "", .response = "plain great text"},
                            {.text = "plain great text"}};
    float z[2 * WF_LOGITS];
    wf_error err = {0};
    assert_int_equal(wf_model_score(m, in, 2, z, &err), 0);
    assert_memory_equal(z, z + WF_LOGITS, WF_LOGITS * sizeof *z);
    wf_model_free(m);
    free(d);
}

static void test_early_stopping_keeps_best(void **state)
{
    (void)state;
    data *d = make_data();
    /* A huge learning rate overfits at once: the eval loss stops improving
     * and patience 0 ends the training at the first worse epoch. */
    wf_train_opts o = opts(WF_HEAD_CORAL, 1);
    o.lr = 2.0;
    o.epochs = 50;
    o.patience = 0;
    wf_train_report rep;
    wf_model *m = train(d, &o, &rep);
    assert_true(rep.epochs_run < 50);
    /* The kept weights are the best epoch's: rescoring gives its loss. */
    float *z = score_eval(m, d);
    double loss = 0;
    for (size_t i = 0; i < N_EVAL; i++)
        for (int k = 0; k < WF_LOGITS; k++) {
            double y = d->ex[N_TRAIN + i].label > k + 1, zz = z[i * 3 + k];
            loss += fmax(zz, 0) - zz * y + log1p(exp(-fabs(zz)));
        }
    assert_float_equal(loss / (3.0 * N_EVAL), rep.eval_loss, 1e-4);
    free(z);
    wf_model_free(m);
    free(d);
}

static void test_bad_options(void **state)
{
    (void)state;
    data *d = make_data();
    wf_model *m = NULL;
    wf_error err = {0};
    wf_train_opts o = opts(WF_HEAD_CORAL, 1);
    assert_int_equal(wf_linear_train(d->ex, 0, NULL, 0, &o, &m, NULL, &err), WF_EINVAL);
    o.hash_bits = 9;
    assert_int_equal(wf_linear_train(d->ex, 10, NULL, 0, &o, &m, NULL, &err), WF_EINVAL);
    o = opts(WF_HEAD_CORAL, 1);
    o.lr = 0;
    assert_int_equal(wf_linear_train(d->ex, 10, NULL, 0, &o, &m, NULL, &err), WF_EINVAL);
    o = opts(WF_HEAD_CORAL, 1);
    d->ex[N_TRAIN].label = 5;
    assert_int_equal(wf_linear_train(d->ex, 10, d->ex + N_TRAIN, 1, &o, &m, NULL, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "eval example 0 has label 5"));
    assert_null(m);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_coral),
        cmocka_unit_test(test_planted_independent),
        cmocka_unit_test(test_deterministic_per_seed),
        cmocka_unit_test(test_cancel_between_epochs),
        cmocka_unit_test(test_save_load_bit_exact),
        cmocka_unit_test(test_text_scores_like_parts),
        cmocka_unit_test(test_early_stopping_keeps_best),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
