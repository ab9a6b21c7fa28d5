/* The store's other tables: conversation state and pending turns as opaque
 * blobs, per-user daily counters, and model registry rows. */
#include "test_store_util.h"

static int setup(void **state)
{
    *state = store_open_at(store_tmp_path());
    return 0;
}

static int teardown(void **state)
{
    wf_store_close(*state);
    return 0;
}

static void expect_conv(wf_store *s, const char *id, const char *blob, size_t len, int64_t seen)
{
    void *got = NULL;
    size_t n = 99;
    int64_t last = 0;
    assert_int_equal(wf_store_conv_get(s, id, &got, &n, &last, NULL), 0);
    assert_int_equal(n, len);
    if (len)
        assert_memory_equal(got, blob, len);
    else
        assert_null(got);
    assert_int_equal(last, seen);
    free(got);
}

static void test_conversation_state(void **state)
{
    wf_store *s = *state;
    const char bin[] = {'a', 0, 'b', (char)0xff};
    assert_int_equal(wf_store_conv_put(s, "c1", bin, sizeof bin, 100, NULL), 0);
    assert_int_equal(wf_store_conv_put(s, "c2", "two", 3, 200, NULL), 0);
    assert_int_equal(wf_store_conv_put(s, "c3", NULL, 0, 300, NULL), 0);
    expect_conv(s, "c1", bin, sizeof bin, 100);
    expect_conv(s, "c3", NULL, 0, 300);
    /* A put replaces the state and its time. */
    assert_int_equal(wf_store_conv_put(s, "c2", "second", 6, 250, NULL), 0);
    expect_conv(s, "c2", "second", 6, 250);
    assert_int_equal(wf_store_conv_delete(s, "c1", NULL), 0);
    assert_int_equal(wf_store_conv_delete(s, "c1", NULL), 0);
    void *got = NULL;
    size_t n = 0;
    wf_error err = {0};
    assert_int_equal(wf_store_conv_get(s, "c1", &got, &n, NULL, &err), WF_ENOTFOUND);
    assert_non_null(strstr(err.msg, "c1"));
    size_t expired = 99;
    assert_int_equal(wf_store_conv_expire(s, 300, &expired, NULL), 0);
    assert_int_equal(expired, 1);
    assert_int_equal(wf_store_conv_get(s, "c2", &got, &n, NULL, NULL), WF_ENOTFOUND);
    expect_conv(s, "c3", NULL, 0, 300);
}

typedef struct conv_seen {
    char ids[4][16];
    int64_t last[4];
    size_t len[4];
    int n;
    int stop_at; /* 0: never */
} conv_seen;

static int collect_conv(void *ctx, const char *id, const void *blob, size_t len, int64_t last_seen)
{
    conv_seen *x = ctx;
    (void)blob;
    snprintf(x->ids[x->n], sizeof x->ids[0], "%s", id);
    x->last[x->n] = last_seen;
    x->len[x->n] = len;
    return ++x->n == x->stop_at ? 9 : 0;
}

static void test_conversation_walk(void **state)
{
    wf_store *s = *state;
    conv_seen none = {0};
    assert_int_equal(wf_store_conv_foreach(s, collect_conv, &none, NULL), 0);
    assert_int_equal(none.n, 0);
    assert_int_equal(wf_store_conv_put(s, "new", "n", 1, 300, NULL), 0);
    assert_int_equal(wf_store_conv_put(s, "old", "oo", 2, 100, NULL), 0);
    assert_int_equal(wf_store_conv_put(s, "mid", "", 0, 200, NULL), 0);
    conv_seen x = {0};
    assert_int_equal(wf_store_conv_foreach(s, collect_conv, &x, NULL), 0);
    assert_int_equal(x.n, 3);
    assert_string_equal(x.ids[0], "old");
    assert_string_equal(x.ids[1], "mid");
    assert_string_equal(x.ids[2], "new");
    assert_int_equal(x.last[0], 100);
    assert_int_equal(x.len[0], 2);
    assert_int_equal(x.len[1], 0);
    assert_int_equal(x.last[2], 300);
    conv_seen stop = {.stop_at = 2};
    assert_int_equal(wf_store_conv_foreach(s, collect_conv, &stop, NULL), 9);
    assert_int_equal(stop.n, 2);
    /* The walk left no statement open: a write commits. */
    assert_int_equal(wf_store_conv_put(s, "newest", "z", 1, 400, NULL), 0);
}

typedef struct seen {
    char keys[8][32];
    char blobs[8][16];
    int n;
} seen;

static int collect(void *ctx, const char *key, const void *blob, size_t len)
{
    seen *x = ctx;
    snprintf(x->keys[x->n], sizeof x->keys[0], "%s", key);
    snprintf(x->blobs[x->n], sizeof x->blobs[0], "%.*s", (int)len, (const char *)blob);
    x->n++;
    return 0;
}

static int stop_first(void *ctx, const char *key, const void *blob, size_t len)
{
    (void)key, (void)blob, (void)len;
    ++*(int *)ctx;
    return 5;
}

static void test_pending_turns(void **state)
{
    wf_store *s = *state;
    /* Put out of id order: the walk follows first-put order. */
    assert_int_equal(wf_store_pending_put(s, "c_turn10", "c", "ten", 3, 10, NULL), 0);
    assert_int_equal(wf_store_pending_put(s, "c_turn9", "c", "nine", 4, 20, NULL), 0);
    assert_int_equal(wf_store_pending_put(s, "d_turn0", "d", "dee", 3, 5, NULL), 0);
    assert_int_equal(wf_store_pending_put(s, "c_turn10", "c", "TEN", 3, 30, NULL), 0);
    seen x = {0};
    assert_int_equal(wf_store_pending_foreach(s, "c", collect, &x, NULL), 0);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.keys[0], "c_turn10");
    assert_string_equal(x.blobs[0], "TEN");
    assert_string_equal(x.keys[1], "c_turn9");
    assert_string_equal(x.blobs[1], "nine");
    seen all = {0};
    assert_int_equal(wf_store_pending_foreach(s, NULL, collect, &all, NULL), 0);
    assert_int_equal(all.n, 3);
    assert_string_equal(all.keys[0], "c_turn10");
    assert_string_equal(all.keys[1], "c_turn9");
    assert_string_equal(all.keys[2], "d_turn0");
    assert_string_equal(all.blobs[2], "dee");
    int calls = 0;
    assert_int_equal(wf_store_pending_foreach(s, "c", stop_first, &calls, NULL), 5);
    assert_int_equal(calls, 1);
    void *blob = NULL;
    size_t len = 0;
    assert_int_equal(wf_store_pending_get(s, "d_turn0", &blob, &len, NULL), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(blob, "dee", 3);
    free(blob);
    assert_int_equal(wf_store_pending_delete(s, "c_turn9", NULL), 0);
    assert_int_equal(wf_store_pending_get(s, "c_turn9", &blob, &len, NULL), WF_ENOTFOUND);
    size_t expired = 0;
    assert_int_equal(wf_store_pending_expire(s, 30, &expired, NULL), 0);
    assert_int_equal(expired, 1); /* d_turn0 at 5; c_turn10 was re-put at 30 */
    seen none = {0};
    assert_int_equal(wf_store_pending_foreach(s, "d", collect, &none, NULL), 0);
    assert_int_equal(none.n, 0);
    seen left = {0};
    assert_int_equal(wf_store_pending_foreach(s, "c", collect, &left, NULL), 0);
    assert_int_equal(left.n, 1);
}

static int64_t incr(wf_store *s, const char *user, int64_t day)
{
    int64_t n = -1;
    assert_int_equal(wf_store_user_count_incr(s, user, day, &n, NULL), 0);
    return n;
}

static int64_t count(wf_store *s, const char *user, int64_t day)
{
    int64_t n = -1;
    assert_int_equal(wf_store_user_count_get(s, user, day, &n, NULL), 0);
    return n;
}

static void test_user_counters_across_days(void **state)
{
    wf_store *s = *state;
    int64_t d1 = wf_store_day(1764133200); /* 2025-11-26 05:00 UTC */
    assert_int_equal(d1, 20418);
    assert_int_equal(wf_store_day(1764115200), 20418); /* that day's midnight */
    assert_int_equal(wf_store_day(1764115199), 20417); /* a second before */
    assert_int_equal(wf_store_day(-1), -1);
    assert_int_equal(wf_store_day(-86400), -1);
    assert_int_equal(wf_store_day(-86401), -2);
    assert_int_equal(incr(s, "u1", d1), 1);
    assert_int_equal(incr(s, "u1", d1), 2);
    assert_int_equal(incr(s, "u2", d1), 1);
    assert_int_equal(incr(s, "u1", d1 + 1), 1);
    assert_int_equal(wf_store_begin(s, NULL), 0);
    assert_int_equal(incr(s, "u1", d1), 3);
    assert_int_equal(incr(s, "u1", d1), 4); /* sees its own batch's counts */
    assert_int_equal(wf_store_commit(s, NULL), 0);
    assert_int_equal(count(s, "u1", d1), 4);
    assert_int_equal(count(s, "u2", d1), 1);
    assert_int_equal(count(s, "u1", d1 + 1), 1);
    assert_int_equal(count(s, "u3", d1), 0);
    size_t pruned = 0;
    assert_int_equal(wf_store_user_count_prune(s, d1 + 1, &pruned, NULL), 0);
    assert_int_equal(pruned, 2);
    assert_int_equal(count(s, "u1", d1), 0);
    assert_int_equal(count(s, "u1", d1 + 1), 1);
    assert_int_equal(incr(s, "u1", d1), 1);
}

static wf_store_model model(const char *version, const char *parent, wf_store_model_status st,
                            int64_t created, const char *metrics)
{
    wf_store_model m = {.status = st, .created_at = created, .samples = 1200, .users = 31};
    snprintf(m.version, sizeof m.version, "%s", version);
    snprintf(m.kind, sizeof m.kind, "linear");
    snprintf(m.parent, sizeof m.parent, "%s", parent);
    m.metrics = metrics ? strdup(metrics) : NULL;
    return m;
}

static void test_model_rows(void **state)
{
    wf_store *s = *state;
    wf_store_model a = model("v2", "v1", WF_STORE_MODEL_CANDIDATE, 200, "{\"accuracy\":0.61}");
    wf_store_model b = model("v1", "", WF_STORE_MODEL_ACTIVE, 100, NULL);
    assert_int_equal(wf_store_model_insert(s, &a, NULL), 0);
    assert_int_equal(wf_store_model_insert(s, &b, NULL), 0);
    wf_error err = {0};
    assert_int_equal(wf_store_model_insert(s, &b, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "model v1 already exists"));

    wf_store_model got;
    assert_int_equal(wf_store_model_get(s, "v2", &got, NULL), 0);
    assert_string_equal(got.version, "v2");
    assert_string_equal(got.kind, "linear");
    assert_string_equal(got.parent, "v1");
    assert_int_equal(got.status, WF_STORE_MODEL_CANDIDATE);
    assert_int_equal(got.created_at, 200);
    assert_int_equal(got.samples, 1200);
    assert_int_equal(got.users, 31);
    assert_string_equal(got.metrics, "{\"accuracy\":0.61}");
    wf_store_model_clear(&got);

    a.status = WF_STORE_MODEL_PROMOTED;
    free(a.metrics);
    a.metrics = strdup("{\"accuracy\":0.64,\"ece\":0.03}");
    assert_int_equal(wf_store_model_update(s, &a, NULL), 0);
    wf_store_model *list = NULL;
    size_t n = 0;
    assert_int_equal(wf_store_model_list(s, &list, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].version, "v1");
    assert_string_equal(list[0].metrics, "{}");
    assert_int_equal(list[0].status, WF_STORE_MODEL_ACTIVE);
    assert_string_equal(list[1].version, "v2");
    assert_int_equal(list[1].status, WF_STORE_MODEL_PROMOTED);
    assert_string_equal(list[1].metrics, "{\"accuracy\":0.64,\"ece\":0.03}");
    wf_store_model_list_free(list, n);

    wf_store_model ghost = model("v9", "", WF_STORE_MODEL_REJECTED, 1, NULL);
    assert_int_equal(wf_store_model_update(s, &ghost, &err), WF_ENOTFOUND);
    assert_int_equal(wf_store_model_get(s, "v9", &got, NULL), WF_ENOTFOUND);
    wf_store_model bad = model("v3", "", WF_STORE_MODEL_CANDIDATE, 1, "[1,2]");
    assert_int_equal(wf_store_model_insert(s, &bad, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "not a JSON object"));
    wf_store_model_clear(&bad);
    wf_store_model_clear(&a);
    wf_store_model_clear(&b);
}

static void test_model_status_names(void **state)
{
    (void)state;
    const char *names[] = {"candidate", "active", "promoted", "rejected"};
    for (int i = 0; i < WF_STORE_MODEL_STATUS_COUNT; i++) {
        assert_string_equal(wf_store_model_status_name((wf_store_model_status)i), names[i]);
        assert_int_equal(wf_store_model_status_parse(names[i]), i);
    }
    assert_int_equal(wf_store_model_status_parse("retired"), -1);
    assert_string_equal(wf_store_model_status_name(WF_STORE_MODEL_STATUS_COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_conversation_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conversation_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_turns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_counters_across_days, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_rows, setup, teardown),
        cmocka_unit_test(test_model_status_names),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    store_cleanup();
    return failed;
}
