/* Samples in the store: round trip, precedence, replays, batches, restarts
 * and the counts behind the metrics. */
#include "test_store_util.h"

static const wf_msg history[] = {
    {"user", "Write \"hello\"\nin C", 18},
    {"assistant", "printf(\"hello\\n\"); 你好", 26},
};

static void test_round_trip_every_field(void **state)
{
    (void)state;
    wf_store *s = store_open_at(store_tmp_path());
    wf_sample *in = make_sample(&(sample_spec){
        .conv = "conv-7",
        .turn = 1,
        .history = history,
        .n_history = 2,
        .query = "And in Python?",
        .response = "print('hello')",
        .feedback = "no, I asked for Python 3",
        .annotation = 2,
        .source = WF_SRC_LLM,
        .reason = "points out a missed constraint",
        .eval = 1,
        .text = "## Context\nuser: ...",
    });
    wf_store_put_result res = WF_STORE_KEPT;
    assert_int_equal(wf_store_put_sample(s, in, &res, NULL), 0);
    assert_int_equal(res, WF_STORE_INSERTED);
    wf_sample *out = NULL;
    assert_int_equal(wf_store_get_sample(s, "conv-7_turn1", &out, NULL), 0);
    const wf_candidate *a = in->cand, *b = out->cand;
    assert_string_equal(b->id, "conv-7_turn1");
    assert_string_equal(b->conversation_id, a->conversation_id);
    assert_int_equal(b->turn, 1);
    assert_int_equal(b->response_turn, 3);
    assert_string_equal(b->user_id, "u1");
    assert_string_equal(b->language, "English");
    assert_string_equal(b->model, "m1");
    assert_int_equal(b->created_at, 1764133201);
    assert_int_equal(b->n_history, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(b->history[i].role, history[i].role);
        assert_int_equal(b->history[i].content_len, history[i].content_len);
        assert_memory_equal(b->history[i].content, history[i].content, history[i].content_len);
    }
    assert_string_equal(b->query, "And in Python?");
    assert_string_equal(b->response, "print('hello')");
    assert_string_equal(b->feedback, "no, I asked for Python 3");
    assert_int_equal(out->annotation, 2);
    assert_int_equal(out->label, 2);
    assert_int_equal(out->source, WF_SRC_LLM);
    assert_string_equal(out->reason, "points out a missed constraint");
    assert_int_equal(out->eval, 1);
    assert_string_equal(out->text, "## Context\nuser: ...");
    /* The JSONL of the copy is the JSONL of the original. */
    char *la = sample_line(in), *lb = sample_line(out);
    assert_string_equal(la, lb);
    free(la);
    free(lb);
    wf_sample_free(out);
    wf_sample_free(in);
    int exists = -1;
    assert_int_equal(wf_store_has_sample(s, "conv-7_turn1", &exists, NULL), 0);
    assert_int_equal(exists, 1);
    assert_int_equal(wf_store_has_sample(s, "conv-7_turn9", &exists, NULL), 0);
    assert_int_equal(exists, 0);
    wf_error err = {0};
    assert_int_equal(wf_store_get_sample(s, "conv-7_turn9", &out, &err), WF_ENOTFOUND);
    assert_null(out);
    assert_non_null(strstr(err.msg, "conv-7_turn9"));
    wf_store_close(s);
}

static wf_sample *get(wf_store *s, const char *id)
{
    wf_sample *out = NULL;
    assert_int_equal(wf_store_get_sample(s, id, &out, NULL), 0);
    return out;
}

static void expect_stored(wf_store *s, const char *id, wf_label_source src, int annotation)
{
    wf_sample *out = get(s, id);
    assert_int_equal(out->source, src);
    assert_int_equal(out->annotation, annotation);
    wf_sample_free(out);
}

static void test_precedence(void **state)
{
    (void)state;
    wf_store *s = store_open_at(store_tmp_path());
    sample_spec rules = {.conv = "c", .annotation = 4, .source = WF_SRC_RULES};
    sample_spec down = {.conv = "c", .annotation = 1, .source = WF_SRC_EXPLICIT, .feedback = ""};
    sample_spec rules5 = {.conv = "c", .annotation = 5, .source = WF_SRC_RULES};
    sample_spec refusal = {.conv = "c", .annotation = 5, .source = WF_SRC_REFUSAL};
    assert_int_equal(put_spec(s, &rules), WF_STORE_INSERTED);
    assert_int_equal(put_spec(s, &down), WF_STORE_REPLACED); /* explicit over rules */
    expect_stored(s, "c_turn0", WF_SRC_EXPLICIT, 1);
    assert_int_equal(put_spec(s, &rules5), WF_STORE_KEPT); /* rules not over explicit */
    assert_int_equal(put_spec(s, &refusal), WF_STORE_KEPT);
    expect_stored(s, "c_turn0", WF_SRC_EXPLICIT, 1);
    sample_spec up = down;
    up.annotation = 5;
    assert_int_equal(put_spec(s, &up), WF_STORE_REPLACED); /* a later rating wins */
    expect_stored(s, "c_turn0", WF_SRC_EXPLICIT, 5);

    /* Equal ranks: the newer verdict replaces; refusal outranks them. */
    sample_spec d = {.conv = "d", .annotation = 4, .source = WF_SRC_RULES};
    assert_int_equal(put_spec(s, &d), WF_STORE_INSERTED);
    d.source = WF_SRC_LLM;
    d.annotation = 2;
    assert_int_equal(put_spec(s, &d), WF_STORE_REPLACED);
    d.source = WF_SRC_REFUSAL;
    d.annotation = 1;
    assert_int_equal(put_spec(s, &d), WF_STORE_REPLACED);
    d.source = WF_SRC_HINDSIGHT;
    d.annotation = 5;
    assert_int_equal(put_spec(s, &d), WF_STORE_KEPT);
    expect_stored(s, "d_turn0", WF_SRC_REFUSAL, 1);

    wf_store_counts c;
    wf_store_counts_get(s, &c);
    assert_int_equal(c.total, 2);
    assert_int_equal(c.by_label[4], 1);
    assert_int_equal(c.by_label[1], 1);
    assert_int_equal(c.by_source[WF_SRC_EXPLICIT], 1);
    assert_int_equal(c.by_source[WF_SRC_REFUSAL], 1);
    assert_int_equal(c.by_source[WF_SRC_RULES], 0);
    assert_int_equal(c.puts[WF_STORE_INSERTED], 2);
    assert_int_equal(c.puts[WF_STORE_REPLACED], 4);
    assert_int_equal(c.puts[WF_STORE_KEPT], 3);
    wf_store_close(s);
}

static void test_replay_is_invisible(void **state)
{
    (void)state;
    wf_store *s = store_open_at(store_tmp_path());
    sample_spec x = {.conv = "r", .turn = 2, .annotation = 4};
    sample_spec e = {.conv = "r", .turn = 3, .annotation = 1, .source = WF_SRC_EXPLICIT};
    assert_int_equal(put_spec(s, &x), WF_STORE_INSERTED);
    assert_int_equal(put_spec(s, &e), WF_STORE_INSERTED);
    int64_t seq = 0, n = -1;
    assert_int_equal(wf_store_last_seq(s, &seq, NULL), 0);
    assert_int_equal(seq, 2);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(put_spec(s, &x), WF_STORE_KEPT);
        assert_int_equal(put_spec(s, &e), WF_STORE_KEPT);
    }
    assert_int_equal(wf_store_last_seq(s, &seq, NULL), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(wf_store_count_since(s, 0, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_int_equal(wf_store_count_since(s, 2, &n, NULL), 0);
    assert_int_equal(n, 0);
    wf_store_counts c;
    wf_store_counts_get(s, &c);
    assert_int_equal(c.total, 2);
    assert_int_equal(c.by_split[0], 2);
    /* A real change moves the row to the end of the sequence. */
    x.annotation = 5;
    assert_int_equal(put_spec(s, &x), WF_STORE_REPLACED);
    assert_int_equal(wf_store_last_seq(s, &seq, NULL), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(wf_store_count_since(s, 2, &n, NULL), 0);
    assert_int_equal(n, 1);
    wf_store_close(s);
}

/* The walk in sequence order: a range, a limit, and a replaced sample met
 * once, at its new number. */
typedef struct seq_seen {
    int64_t seq[8];
    char id[8][32];
    int n;
} seq_seen;

static int note_seq(void *ctx, int64_t seq, const wf_sample *smp)
{
    seq_seen *v = ctx;
    assert_true(v->n < 8);
    v->seq[v->n] = seq;
    snprintf(v->id[v->n++], sizeof v->id[0], "%s", smp->cand->id);
    return 0;
}

static void test_walk_in_sequence_order(void **state)
{
    (void)state;
    wf_store *s = store_open_at(store_tmp_path());
    for (int t = 0; t < 4; t++)
        put_spec(s, &(sample_spec){.conv = "w", .turn = t});
    assert_int_equal(put_spec(s, &(sample_spec){.conv = "w", .turn = 1, .annotation = 4}),
                     WF_STORE_REPLACED);
    seq_seen v = {0};
    assert_int_equal(wf_store_walk_seq(s, 0, 5, 100, note_seq, &v, NULL), 0);
    assert_int_equal(v.n, 4);
    static const int64_t want_seq[] = {1, 3, 4, 5};
    static const char *const want_id[] = {"w_turn0", "w_turn2", "w_turn3", "w_turn1"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(v.seq[i], want_seq[i]);
        assert_string_equal(v.id[i], want_id[i]);
    }
    v.n = 0;
    assert_int_equal(wf_store_walk_seq(s, 1, 4, 1, note_seq, &v, NULL), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.seq[0], 3);
    v.n = 0;
    assert_int_equal(wf_store_walk_seq(s, 3, 4, 10, note_seq, &v, NULL), 0);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.seq[0], 4);
    wf_store_close(s);
}

/* A sample keeps the split it was first stored in, whatever a replay or a
 * relabelling says (sample.eval_fraction may have changed meanwhile), and
 * the counts follow the stored split. */
static void test_split_never_moves(void **state)
{
    (void)state;
    const char *path = store_tmp_path();
    wf_store *s = store_open_at(path);
    sample_spec x = {.conv = "sp", .annotation = 4, .eval = 1};
    assert_int_equal(put_spec(s, &x), WF_STORE_INSERTED);
    x.eval = 0;
    assert_int_equal(put_spec(s, &x), WF_STORE_KEPT); /* only the split differs */
    x.annotation = 1;
    x.source = WF_SRC_EXPLICIT;
    assert_int_equal(put_spec(s, &x), WF_STORE_REPLACED);
    wf_sample *got = get(s, "sp_turn0");
    assert_int_equal(got->eval, 1);
    assert_int_equal(got->annotation, 1);
    wf_sample_free(got);
    wf_store_counts c;
    wf_store_counts_get(s, &c);
    assert_int_equal(c.total, 1);
    assert_int_equal(c.by_split[1], 1);
    assert_int_equal(c.by_split[0], 0);
    wf_store_close(s);
    s = store_open_at(path); /* the counts as a restart rebuilds them */
    wf_store_counts_get(s, &c);
    assert_int_equal(c.by_split[1], 1);
    assert_int_equal(c.by_split[0], 0);
    wf_store_close(s);
}

static void test_batch_commit(void **state)
{
    (void)state;
    wf_store_options o;
    wf_store_options_default(&o, store_tmp_path());
    o.batch_max = 3;
    wf_store *s = NULL;
    assert_int_equal(wf_store_open(&o, &s, NULL), 0);
    assert_int_equal(wf_store_begin(s, NULL), 0);
    assert_int_equal(wf_store_in_batch(s), 1);
    for (int t = 0; t < 3; t++) {
        assert_int_equal(wf_store_batch_full(s), 0);
        put_spec(s, &(sample_spec){.conv = "b", .turn = t, .eval = t == 1});
    }
    assert_int_equal(wf_store_batch_items(s), 3);
    assert_int_equal(wf_store_batch_full(s), 1);
    /* Counts move only when the batch is durable. */
    wf_store_counts c;
    wf_store_counts_get(s, &c);
    assert_int_equal(c.total, 0);
    assert_int_equal(wf_store_commit(s, NULL), 0);
    assert_int_equal(wf_store_in_batch(s), 0);
    assert_int_equal(wf_store_batch_items(s), 0);
    wf_store_counts_get(s, &c);
    assert_int_equal(c.total, 3);
    assert_int_equal(c.by_split[0], 2);
    assert_int_equal(c.by_split[1], 1);
    assert_int_equal(c.commits, 1);
    wf_error err = {0};
    assert_int_equal(wf_store_commit(s, &err), WF_ESTATE);
    assert_int_equal(wf_store_begin(s, NULL), 0);
    assert_int_equal(wf_store_begin(s, &err), WF_ESTATE);
    wf_store_rollback(s);
    wf_store_close(s);
}

static void expect_absent(wf_store *s, const char *id)
{
    wf_sample *out = NULL;
    assert_int_equal(wf_store_get_sample(s, id, &out, NULL), WF_ENOTFOUND);
}

static void test_batch_rollback_leaves_nothing(void **state)
{
    (void)state;
    wf_store *s = store_open_at(store_tmp_path());
    put_spec(s, &(sample_spec){.conv = "keep", .annotation = 4});
    assert_int_equal(wf_store_begin(s, NULL), 0);
    put_spec(s, &(sample_spec){.conv = "gone", .turn = 0});
    put_spec(s, &(sample_spec){.conv = "gone", .turn = 1});
    put_spec(s, &(sample_spec){.conv = "keep", .annotation = 1, .source = WF_SRC_EXPLICIT});
    assert_int_equal(wf_store_conv_put(s, "gone", "state", 5, 100, NULL), 0);
    int64_t count = 0;
    assert_int_equal(wf_store_user_count_incr(s, "u1", 7, &count, NULL), 0);
    assert_int_equal(count, 1);
    assert_int_equal(wf_store_batch_items(s), 5);
    wf_store_rollback(s);
    expect_absent(s, "gone_turn0");
    expect_absent(s, "gone_turn1");
    expect_stored(s, "keep_turn0", WF_SRC_RULES, 4);
    void *blob = NULL;
    size_t len = 0;
    assert_int_equal(wf_store_conv_get(s, "gone", &blob, &len, NULL, NULL), WF_ENOTFOUND);
    assert_int_equal(wf_store_user_count_get(s, "u1", 7, &count, NULL), 0);
    assert_int_equal(count, 0);
    int64_t seq = 0;
    assert_int_equal(wf_store_last_seq(s, &seq, NULL), 0);
    assert_int_equal(seq, 1);
    wf_store_counts c;
    wf_store_counts_get(s, &c);
    assert_int_equal(c.total, 1);
    assert_int_equal(c.by_label[3], 1);
    assert_int_equal(c.by_label[1], 0);
    assert_int_equal(c.by_source[WF_SRC_EXPLICIT], 0);
    assert_int_equal(c.rollbacks, 1);
    assert_int_equal(c.puts[WF_STORE_INSERTED], 1);
    wf_store_close(s);
}

static void expect_counts_equal(const wf_store_counts *a, const wf_store_counts *b)
{
    assert_int_equal(a->total, b->total);
    assert_memory_equal(a->by_split, b->by_split, sizeof a->by_split);
    assert_memory_equal(a->by_label, b->by_label, sizeof a->by_label);
    assert_memory_equal(a->by_source, b->by_source, sizeof a->by_source);
}

/* Counts kept in memory across puts and replacements equal what a fresh
 * open counts from the table; and the rows survive the restart. */
static void test_restart_keeps_everything(void **state)
{
    (void)state;
    const char *path = store_tmp_path();
    wf_store *s = store_open_at(path);
    assert_int_equal(wf_store_begin(s, NULL), 0);
    for (int t = 0; t < 20; t++)
        put_spec(s, &(sample_spec){.conv = "k",
                                   .turn = t,
                                   .annotation = 1 + t % 5 == 3 ? 4 : 1 + t % 5,
                                   .source = (wf_label_source)(t % WF_SRC_COUNT),
                                   .eval = t % 4 == 0});
    assert_int_equal(wf_store_commit(s, NULL), 0);
    for (int t = 0; t < 20; t += 3)
        put_spec(
            s, &(sample_spec){.conv = "k", .turn = t, .annotation = 2, .source = WF_SRC_EXPLICIT});
    assert_int_equal(wf_store_pending_put(s, "k_turn19", "k", "p", 1, 5, NULL), 0);
    assert_int_equal(wf_store_conv_put(s, "k", "state", 5, 77, NULL), 0);
    assert_int_equal(wf_store_user_count_incr(s, "u1", 3, &(int64_t){0}, NULL), 0);
    wf_store_counts before, after;
    wf_store_counts_get(s, &before);
    assert_int_equal(before.total, 20);
    assert_int_equal(before.by_source[WF_SRC_EXPLICIT], 7 + 3);
    /* An open batch at close is rolled back, not half-kept. */
    assert_int_equal(wf_store_begin(s, NULL), 0);
    put_spec(s, &(sample_spec){.conv = "late"});
    wf_store_close(s);

    s = store_open_at(path);
    wf_store_counts_get(s, &after);
    expect_counts_equal(&before, &after);
    expect_absent(s, "late_turn0");
    expect_stored(s, "k_turn3", WF_SRC_EXPLICIT, 2);
    expect_stored(s, "k_turn4", WF_SRC_REFUSAL, 5);
    void *blob = NULL;
    size_t len = 0;
    assert_int_equal(wf_store_pending_get(s, "k_turn19", &blob, &len, NULL), 0);
    assert_int_equal(len, 1);
    free(blob);
    int64_t seen = 0, n = 0;
    assert_int_equal(wf_store_conv_get(s, "k", &blob, &len, &seen, NULL), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(blob, "state", 5);
    assert_int_equal(seen, 77);
    free(blob);
    assert_int_equal(wf_store_user_count_get(s, "u1", 3, &n, NULL), 0);
    assert_int_equal(n, 1);
    int64_t seq = 0;
    assert_int_equal(wf_store_last_seq(s, &seq, NULL), 0);
    assert_int_equal(seq, 27);
    wf_store_close(s);
}

static void test_rejects_bad_sample(void **state)
{
    (void)state;
    wf_store *s = store_open_at(store_tmp_path());
    wf_sample *bad = make_sample(&(sample_spec){.conv = "x"});
    bad->label = 0;
    wf_error err = {0};
    assert_int_equal(wf_store_put_sample(s, bad, NULL, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "x_turn0"));
    assert_int_equal(wf_store_in_batch(s), 0);
    wf_sample_free(bad);
    expect_absent(s, "x_turn0");
    wf_store_close(s);
}

static void test_metrics_collector(void **state)
{
    (void)state;
    wf_store *s = store_open_at(store_tmp_path());
    put_spec(s, &(sample_spec){.conv = "m", .turn = 0, .annotation = 5});
    put_spec(s, &(sample_spec){.conv = "m", .turn = 1, .annotation = 1, .eval = 1});
    put_spec(s, &(sample_spec){.conv = "m", .turn = 1, .annotation = 1, .eval = 1});
    wf_strbuf out;
    wf_strbuf_init(&out);
    wf_store_collect(s, &out);
    const char *want[] = {
        "wf_store_samples{split=\"train\"} 1\n",
        "wf_store_samples{split=\"eval\"} 1\n",
        "wf_store_samples_by_label{label=\"1\"} 1\n",
        "wf_store_samples_by_label{label=\"2\"} 0\n",
        "wf_store_samples_by_label{label=\"4\"} 1\n",
        "wf_store_samples_by_source{source=\"rules\"} 2\n",
        "wf_store_samples_by_source{source=\"refusal\"} 0\n",
        "wf_store_puts_total{result=\"inserted\"} 2\n",
        "wf_store_puts_total{result=\"kept\"} 1\n",
        "wf_store_commits_total 3\n",
        "wf_store_rollbacks_total 0\n",
        "# TYPE wf_store_samples gauge\n",
        "# TYPE wf_store_puts_total counter\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(out.data, want[i]))
            fail_msg("missing %s in:\n%s", want[i], out.data);
    assert_null(strstr(out.data, "label=\"0\""));
    wf_strbuf_free(&out);
    wf_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_field),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_replay_is_invisible),
        cmocka_unit_test(test_walk_in_sequence_order),
        cmocka_unit_test(test_split_never_moves),
        cmocka_unit_test(test_batch_commit),
        cmocka_unit_test(test_batch_rollback_leaves_nothing),
        cmocka_unit_test(test_restart_keeps_everything),
        cmocka_unit_test(test_rejects_bad_sample),
        cmocka_unit_test(test_metrics_collector),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    store_cleanup();
    return failed;
}
