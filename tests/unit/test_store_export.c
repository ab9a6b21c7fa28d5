/* Export: exact WildFB JSONL per split, in id order, identical to what
 * wf_sample_to_jsonl writes for the samples that were put. */
#include "test_store_util.h"

static const wf_msg c1_history[] = {
    {"user", "What is 2+2?", 12},
    {"assistant", "2+2 equals 4.", 13},
};

/* Put in reverse id order, so id order in the output is the store's doing. */
static const sample_spec fixture[] = {
    {.conv = "c2",
     .query = "你好，请介绍一下太阳系",
     .response = "太阳系由太阳和八大行星组成。",
     .feedback = "谢谢，很有帮助",
     .annotation = 4,
     .source = WF_SRC_LLM,
     .reason = "满意",
     .text = "T3"},
    {.conv = "c1",
     .turn = 1,
     .history = c1_history,
     .n_history = 2,
     .query = "And 3+3?",
     .response = "3+3 is 7.",
     .feedback = "no, that is wrong",
     .annotation = 1,
     .source = WF_SRC_EXPLICIT,
     .reason = "thumbs down",
     .eval = 1,
     .text = "T2 \"quoted\"\nline"},
    {.conv = "c1", .annotation = 5, .text = "T1"},
};
#define N_FIXTURE (sizeof fixture / sizeof fixture[0])

static int setup(void **state)
{
    wf_store *s = store_open_at(store_tmp_path());
    for (size_t i = 0; i < N_FIXTURE; i++)
        assert_int_equal(put_spec(s, &fixture[i]), WF_STORE_INSERTED);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    wf_store_close(*state);
    return 0;
}

static char *export_text(wf_store *s, wf_store_split split, size_t *n)
{
    char path[160];
    snprintf(path, sizeof path, "%s/out.jsonl", store_tmpdir());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(wf_store_export(s, f, split, n, NULL), 0);
    assert_int_equal(fclose(f), 0);
    char *text = wf_test_read_file(path, NULL);
    assert_non_null(text);
    return text;
}

static void expect_export(wf_store *s, wf_store_split split, const char *fixture_name, size_t lines)
{
    size_t n = 99;
    char *got = export_text(s, split, &n);
    char *want = wf_test_read_file(wf_test_fixture(fixture_name), NULL);
    assert_non_null(want);
    assert_string_equal(got, want);
    assert_int_equal(n, lines);
    free(got);
    free(want);
}

static void test_export_all(void **state)
{
    expect_export(*state, WF_STORE_ALL, "store/export_all.jsonl", 3);
}

static void test_export_train(void **state)
{
    expect_export(*state, WF_STORE_TRAIN, "store/export_train.jsonl", 2);
}

static void test_export_eval(void **state)
{
    expect_export(*state, WF_STORE_EVAL, "store/export_eval.jsonl", 1);
}

/* The export line of each stored sample is the line of the sample put. */
static void test_export_matches_sample_jsonl(void **state)
{
    char *got = export_text(*state, WF_STORE_ALL, NULL);
    for (size_t i = 0; i < N_FIXTURE; i++) {
        wf_sample *smp = make_sample(&fixture[i]);
        char *line = sample_line(smp);
        if (!strstr(got, line))
            fail_msg("export lacks %s", line);
        free(line);
        wf_sample_free(smp);
    }
    free(got);
}

static void test_export_empty_store(void **state)
{
    (void)state;
    wf_store *s = store_open_at(store_tmp_path());
    size_t n = 99;
    char *got = export_text(s, WF_STORE_ALL, &n);
    assert_string_equal(got, "");
    assert_int_equal(n, 0);
    free(got);
    wf_store_close(s);
}

typedef struct collected {
    char ids[8][32];
    int n;
    int stop_at;
} collected;

static int collect_id(void *ctx, const wf_sample *smp)
{
    collected *c = ctx;
    snprintf(c->ids[c->n], sizeof c->ids[0], "%s", smp->cand->id);
    c->n++;
    return c->n == c->stop_at ? 7 : 0;
}

static void test_foreach_since_and_stop(void **state)
{
    collected c = {0};
    /* Sequence 1 is c2_turn0, the first put. */
    assert_int_equal(wf_store_foreach_sample(*state, WF_STORE_ALL, 1, collect_id, &c, NULL), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.ids[0], "c1_turn0");
    assert_string_equal(c.ids[1], "c1_turn1");
    collected t = {0};
    assert_int_equal(wf_store_foreach_sample(*state, WF_STORE_TRAIN, 0, collect_id, &t, NULL), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.ids[1], "c2_turn0");
    collected stop = {.stop_at = 1};
    assert_int_equal(wf_store_foreach_sample(*state, WF_STORE_ALL, 0, collect_id, &stop, NULL), 7);
    assert_int_equal(stop.n, 1);
    wf_error err = {0};
    assert_int_equal(wf_store_foreach_sample(*state, (wf_store_split)9, 0, collect_id, &c, &err),
                     WF_EINVAL);
}

static void test_split_names(void **state)
{
    (void)state;
    assert_int_equal(wf_store_split_parse("all"), WF_STORE_ALL);
    assert_int_equal(wf_store_split_parse("train"), WF_STORE_TRAIN);
    assert_int_equal(wf_store_split_parse("eval"), WF_STORE_EVAL);
    assert_int_equal(wf_store_split_parse("test"), -1);
    assert_int_equal(wf_store_split_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_export_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_train, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_eval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_matches_sample_jsonl, setup, teardown),
        cmocka_unit_test(test_export_empty_store),
        cmocka_unit_test_setup_teardown(test_foreach_since_and_stop, setup, teardown),
        cmocka_unit_test(test_split_names),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    store_cleanup();
    return failed;
}
