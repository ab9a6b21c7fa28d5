/* wf_eval_run end to end: a test-local model whose logits follow the text
 * of the response, scored over examples read from a store this test fills
 * and from a WildFB JSONL file. */
#include <math.h>

#include "test_store_util.h"
#include "train/examples.h"
#include "wildfeed/eval.h"

#define assert_near(a, b, eps) near_or_fail((a), (b), (eps), __LINE__)
static void near_or_fail(double a, double b, double eps, int line)
{
    if (!(fabs(a - b) <= eps))
        fail_msg("line %d: %.17g is not %.17g (+/- %g)", line, a, b, eps);
}

/* The fake model: a response starting with a digit d in 1..4 gets logits
 * that make d certain (reward exactly d); one starting with X is refused
 * (WF_EINVAL, as a transformer refuses a response over its max_len);
 * anything else scores as 1. It records the calls, and fails when asked
 * to. */
typedef struct fake {
    size_t calls, inputs, max_batch;
    int fail;
} fake;

static int fake_score(const wf_model *m, const wf_model_input *in, size_t n, float *logits,
                      wf_error *err)
{
    fake *f = m->impl;
    if (f->fail)
        return wf_error_set(err, WF_EIO, "fake model failure");
    f->calls++;
    f->inputs += n;
    if (n > f->max_batch)
        f->max_batch = n;
    for (size_t i = 0; i < n; i++) {
        if (!in[i].query || !in[i].response)
            return wf_error_set(err, WF_EINVAL, "input %zu without parts", i);
        char c = in[i].response[0];
        if (c == 'X')
            return wf_error_set(err, WF_EINVAL, "input %zu: too long", i);
        int d = c >= '1' && c <= '4' ? c - '0' : 1;
        for (int k = 0; k < WF_LOGITS; k++)
            logits[i * WF_LOGITS + k] = d > k + 1 ? 100.0f : -100.0f;
    }
    return 0;
}

static const wf_model_ops fake_ops = {.kind = "fake", .score = fake_score};

static wf_model fake_model(fake *f)
{
    *f = (fake){0};
    return (wf_model){.ops = &fake_ops, .head = WF_HEAD_CORAL, .impl = f};
}

/* Annotation for each label (1..4). */
static const int annotation_of[] = {0, 1, 2, 4, 5};

static void put(wf_store *st, const char *conv, int turn, const char *response, int label, int eval)
{
    put_spec(st, &(sample_spec){.conv = conv,
                                .turn = turn,
                                .response = response,
                                .annotation = annotation_of[label],
                                .eval = eval});
}

static void test_store_eval_split(void **state)
{
    (void)state;
    wf_store *st = store_open_at(store_tmp_path());
    /* eval split: rewards 4, 1, 3, 2 for labels 4, 1, 2, 2 */
    put(st, "a", 0, "4 great", 4, 1);
    put(st, "b", 0, "1 bad", 1, 1);
    put(st, "c", 0, "3 ok", 2, 1);
    put(st, "d", 0, "2 meh", 2, 1);
    put(st, "e", 0, "4 train only", 1, 0);
    wf_examples ex;
    wf_examples_init(&ex);
    wf_error err = {0};
    assert_int_equal(wf_examples_from_store(st, WF_STORE_EVAL, 0, &ex, &err), 0);
    assert_int_equal(ex.n, 4);
    assert_string_equal(ex.cands[0]->id, "a_turn0");
    assert_string_equal(ex.items[2].in.response, "3 ok");
    assert_string_equal(ex.items[2].in.query, "What is 2+2?");
    assert_int_equal(ex.items[2].label, 2);

    fake f;
    wf_model m = fake_model(&f);
    wf_eval_metrics mt;
    assert_int_equal(wf_eval_run(&m, ex.items, ex.n, NULL, &mt, &err), 0);
    assert_int_equal(mt.n, 4);
    assert_near(mt.accuracy, 0.75, 1e-12);
    assert_near(mt.mae, 0.25, 1e-12);
    assert_near(mt.ece, 0.25, 1e-12); /* every confidence is 1, 3 of 4 right */
    assert_near(mt.auc, 1.0, 1e-12);
    /* reward ranks 4 1 3 2, label ranks 4 1 2.5 2.5: 4.5 / sqrt(5 * 4.5) */
    assert_near(mt.spearman, 4.5 / sqrt(22.5), 1e-12);
    assert_int_equal(mt.pairs, 0);
    assert_true(isnan(mt.pairwise));

    assert_int_equal(wf_examples_from_store(st, WF_STORE_TRAIN, 0, &ex, &err), 0);
    assert_int_equal(ex.n, 5);
    assert_string_equal(ex.cands[4]->id, "e_turn0");
    wf_examples_free(&ex);
    assert_int_equal(ex.n, 0);
    assert_null(ex.items);
    wf_store_close(st);
}

static void test_examples_after_seq(void **state)
{
    (void)state;
    wf_store *st = store_open_at(store_tmp_path());
    put(st, "a", 0, "4", 4, 0);
    int64_t seq = 0;
    assert_int_equal(wf_store_last_seq(st, &seq, NULL), 0);
    put(st, "b", 0, "1", 1, 1);
    put(st, "c", 0, "2", 2, 0);
    wf_examples ex;
    wf_examples_init(&ex);
    assert_int_equal(wf_examples_from_store(st, WF_STORE_ALL, seq, &ex, NULL), 0);
    assert_int_equal(ex.n, 2);
    assert_string_equal(ex.cands[0]->id, "b_turn0");
    assert_string_equal(ex.cands[1]->id, "c_turn0");
    wf_examples_free(&ex);
    wf_store_close(st);
}

static void test_prefs_and_batches(void **state)
{
    (void)state;
    /* 600 examples alternate "4 ..." label 4 and "1 ..." label 1. */
    wf_examples ex;
    wf_examples_init(&ex);
    for (int i = 0; i < 600; i++) {
        wf_candidate_parts p = {
            .conversation_id = "c", .turn = i, .query = "q", .response = i % 2 ? "1 no" : "4 yes"};
        assert_int_equal(wf_examples_add(&ex, &p, i % 2 ? 1 : 4, NULL), 0);
    }
    wf_pref_set *prefs = wf_pref_new();
    const char *lines[] = {
        "{\"prompt\":\"q\",\"chosen\":\"4 yes\",\"rejected\":\"1 no\"}",
        "{\"prompt\":\"q\",\"chosen\":\"2 a\",\"rejected\":\"2 b\"}",
        ("{\"chosen\":\"\\n\\nHuman: q\\n\\nAssistant: 1\","
         "\"rejected\":\"\\n\\nHuman: q\\n\\nAssistant: 3\"}"),
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(wf_pref_add_line(prefs, lines[i], strlen(lines[i]), NULL), 0);
    fake f;
    wf_model m = fake_model(&f);
    wf_eval_metrics mt;
    assert_int_equal(wf_eval_run(&m, ex.items, ex.n, prefs, &mt, NULL), 0);
    assert_int_equal(mt.n, 600);
    assert_near(mt.accuracy, 1.0, 0);
    assert_near(mt.mae, 0.0, 0);
    assert_near(mt.auc, 1.0, 0);
    assert_near(mt.spearman, 1.0, 1e-12);
    assert_int_equal(mt.pairs, 3);
    assert_near(mt.pairwise, 0.5, 0); /* win, tie, loss */
    /* 600 examples in 256 + 256 + 88, then 6 pref inputs in one call */
    assert_int_equal(f.calls, 4);
    assert_int_equal(f.inputs, 606);
    assert_int_equal(f.max_batch, 256);

    f.fail = 1;
    wf_error err = {0};
    assert_int_equal(wf_eval_run(&m, ex.items, ex.n, prefs, &mt, &err), WF_EIO);
    assert_string_equal(err.msg, "fake model failure");
    ex.items[7].label = 0;
    f.fail = 0;
    assert_int_equal(wf_eval_run(&m, ex.items, ex.n, NULL, &mt, &err), WF_EINVAL);
    assert_string_equal(err.msg, "example 7: label 0 is not 1..4");
    wf_pref_free(prefs);
    wf_examples_free(&ex);
}

static void test_wildfb_jsonl(void **state)
{
    (void)state;
    wf_examples ex;
    wf_examples_init(&ex);
    size_t bad = 0;
    wf_error err = {0};
    assert_int_equal(wf_examples_load_jsonl(wf_test_fixture("eval/wildfb.jsonl"), &ex, &bad, &err),
                     0);
    /* bad: label 0, ends with user, not JSON, one message, label a string */
    assert_int_equal(ex.n, 3);
    assert_int_equal(bad, 5);
    const wf_example *e = ex.items;
    assert_int_equal(e[0].in.n_history, 0);
    assert_string_equal(e[0].in.query, "What is 2+2?");
    assert_string_equal(ex.cands[0]->user_id, "u1");
    assert_string_equal(ex.cands[0]->feedback, "thanks");
    /* history = the messages before the last two */
    assert_int_equal(e[1].in.n_history, 2);
    assert_string_equal(e[1].in.history[1].role, "assistant");
    assert_string_equal(e[1].in.history[1].content, "4 it is four");
    assert_string_equal(e[1].in.query, "And 3+3?");
    assert_string_equal(e[1].in.response, "1 seven");
    assert_string_equal(ex.cands[1]->id, "c1_turn1");
    /* two messages and a separate history */
    assert_int_equal(e[2].in.n_history, 2);
    assert_string_equal(e[2].in.history[0].content, "hi");
    assert_string_equal(e[2].in.query, "tell a joke");
    assert_int_equal(e[2].label, 2);

    fake f;
    wf_model m = fake_model(&f);
    wf_eval_metrics mt;
    assert_int_equal(wf_eval_run(&m, ex.items, ex.n, NULL, &mt, NULL), 0);
    /* rewards 4, 1, 3 for labels 4, 1, 2 */
    assert_near(mt.accuracy, 2.0 / 3, 1e-12);
    assert_near(mt.mae, 1.0 / 3, 1e-12);
    assert_near(mt.ece, 1.0 / 3, 1e-12);
    assert_near(mt.auc, 1.0, 0);
    assert_near(mt.spearman, 1.0, 1e-12);
    wf_examples_free(&ex);

    assert_int_equal(wf_examples_load_jsonl("/nonexistent.jsonl", &ex, &bad, &err), WF_EIO);
}

/* Inputs the model refuses are left out and counted, pairs with them too;
 * the rest is scored as usual. */
static void test_refused_inputs_left_out(void **state)
{
    (void)state;
    static const char *const responses[] = {"4 good", "X huge", "1 bad", "3 fine", "X again"};
    static const int labels[] = {4, 1, 1, 3, 2};
    wf_example ex[5];
    for (int i = 0; i < 5; i++)
        ex[i] = (wf_example){{.query = "q", .response = responses[i]}, labels[i]};
    fake f;
    wf_model m = fake_model(&f);
    wf_eval_metrics mt;
    assert_int_equal(wf_eval_run(&m, ex, 5, NULL, &mt, NULL), 0);
    assert_int_equal(mt.n, 3);
    assert_int_equal(mt.refused, 2);
    assert_near(mt.accuracy, 1.0, 0);
    assert_near(mt.mae, 0.0, 0);
    /* the batch of five refused, then each of the five alone */
    assert_int_equal(f.calls, 1 + 5);
    f.fail = 1; /* other errors still fail the evaluation */
    wf_error err = {0};
    assert_int_equal(wf_eval_run(&m, ex, 5, NULL, &mt, &err), WF_EIO);
}

/* Cancelled after the model's first call: the evaluation stops before the
 * next batch of 256 with WF_ECANCELED. */
static int cancel_after_first_call(void *ctx)
{
    return ((fake *)ctx)->calls >= 1;
}

static void test_cancel_between_batches(void **state)
{
    (void)state;
    static wf_example ex[600];
    for (int i = 0; i < 600; i++)
        ex[i] = (wf_example){{.query = "q", .response = "4 good"}, 4};
    fake f;
    wf_model m = fake_model(&f);
    wf_eval_metrics mt;
    wf_error err = {0};
    assert_int_equal(wf_eval_run_until(&m, ex, 600, NULL, cancel_after_first_call, &f, &mt, &err),
                     WF_ECANCELED);
    assert_int_equal(f.calls, 1);
    assert_int_equal(f.inputs, 256);
    assert_non_null(strstr(err.msg, "cancelled"));
    assert_int_equal(wf_eval_run_until(&m, ex, 600, NULL, NULL, NULL, &mt, &err), 0);
    assert_int_equal(mt.n, 600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_eval_split),
        cmocka_unit_test(test_examples_after_seq),
        cmocka_unit_test(test_prefs_and_batches),
        cmocka_unit_test(test_wildfb_jsonl),
        cmocka_unit_test(test_refused_inputs_left_out),
        cmocka_unit_test(test_cancel_between_batches),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    store_cleanup();
    return rc;
}
