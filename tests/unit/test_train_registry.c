/* The model registry with a fake backend: version folders and meta.json,
 * CURRENT and activation (atomic under a concurrent reader), listing JSON,
 * retention and the store mirror. Loading is covered with the real linear
 * backend in test_train_registry_load.c. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/sha256.h"
#include "wildfeed/registry.h"

/* ---- a fake backend: one file holding a string ---- */

static const char *const fake_files[] = {"weights.bin", NULL};

static int fake_save(const wf_model *m, const char *dir, wf_error *err)
{
    const char *content = m->impl;
    if (strcmp(content, "fail") == 0)
        return wf_error_set(err, WF_EIO, "fake save failed");
    char path[4096];
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return wf_error_set(err, WF_EIO, "cannot write");
    fputs(content, f);
    fclose(f);
    return 0;
}

static const char *const *fake_list(const wf_model *m)
{
    (void)m;
    return fake_files;
}

static const wf_model_ops fake_ops = {
    .kind = "fake", .score = NULL, .save = fake_save, .files = fake_list, .destroy = NULL};

static wf_model fake_model(const char *content)
{
    return (wf_model){.ops = &fake_ops, .head = WF_HEAD_CORAL, .impl = (void *)content};
}

static wf_model_meta meta_of(const char *version, int64_t created_at, wf_store_model_status st)
{
    wf_model_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.version, sizeof m.version, "%s", version);
    m.created_at = created_at;
    m.samples = 120;
    m.users = 7;
    m.label_counts[0] = 10;
    m.label_counts[1] = 20;
    m.label_counts[2] = 30;
    m.label_counts[3] = 60;
    m.trained_seq = 345;
    m.metrics = (wf_eval_metrics){.n = 40,
                                  .accuracy = 0.75,
                                  .mae = 0.5,
                                  .ece = 0.125,
                                  .auc = 0.875,
                                  .spearman = 0.5,
                                  .pairs = 0,
                                  .pairwise = 0};
    m.status = st;
    return m;
}

/* Temporary folders of this program, removed at its end. */
static char tmp_dirs[16][64];
static int n_tmp_dirs;

static const char *tmpdir(void)
{
    const char *dir = wf_test_tmpdir();
    assert_non_null(dir);
    assert_true(n_tmp_dirs < 16);
    snprintf(tmp_dirs[n_tmp_dirs], sizeof tmp_dirs[0], "%s", dir);
    return tmp_dirs[n_tmp_dirs++];
}

static int remove_tmp_dirs(void **state)
{
    (void)state;
    for (int i = 0; i < n_tmp_dirs; i++) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%.63s'", tmp_dirs[i]);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

static wf_registry *open_reg(char root[256], const char *store_path)
{
    snprintf(root, 256, "%s/models", tmpdir());
    wf_registry *r;
    wf_error err;
    int rc = wf_registry_open(root, store_path, &r, &err);
    if (rc < 0)
        fail_msg("%s", err.msg);
    return r;
}

static void save_one(wf_registry *r, const char *version, int64_t at, wf_store_model_status st)
{
    wf_model m = fake_model(version);
    wf_model_meta meta = meta_of(version, at, st);
    wf_error err;
    if (wf_registry_save(r, &m, &meta, &err) < 0)
        fail_msg("%s", err.msg);
}

static int exists(const char *root, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, name);
    return access(path, F_OK) == 0;
}

static void test_save_writes_folder_and_meta(void **state)
{
    (void)state;
    char root[256];
    wf_registry *r = open_reg(root, NULL);
    wf_model m = fake_model("hello weights");
    wf_model_meta meta = meta_of("", 1764137700, WF_STORE_MODEL_PROMOTED); /* 2025-11-26 06:15 */
    wf_error err;
    assert_int_equal(wf_registry_save(r, &m, &meta, &err), 0);
    /* The registry named it by time, and filled kind and head. */
    assert_int_equal(strlen(meta.version), strlen("20251126T061500Z-") + 6);
    assert_memory_equal(meta.version, "20251126T061500Z-", 17);
    assert_string_equal(meta.kind, "fake");
    assert_string_equal(meta.head, "coral");

    char path[512];
    snprintf(path, sizeof path, "%s/%s/meta.json", root, meta.version);
    char *text = wf_test_read_file(path, NULL);
    assert_non_null(text);
    char sha[WF_SHA256_HEX], want[200];
    wf_sha256_hex("hello weights", 13, sha);
    snprintf(want, sizeof want, "\"files\": {\"weights.bin\": \"%s\"}", sha);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "\"label_counts\": {\"1\": 10, \"2\": 20, \"3\": 30, \"4\": 60}"));
    assert_non_null(strstr(text, "\"status\": \"promoted\""));
    free(text);

    wf_model_meta back;
    assert_int_equal(wf_registry_meta(r, meta.version, &back, &err), 0);
    assert_string_equal(back.version, meta.version);
    assert_string_equal(back.kind, "fake");
    assert_string_equal(back.head, "coral");
    assert_string_equal(back.parent, "");
    assert_int_equal(back.created_at, 1764137700);
    assert_int_equal(back.samples, 120);
    assert_int_equal(back.users, 7);
    assert_int_equal(back.label_counts[3], 60);
    assert_int_equal(back.trained_seq, 345);
    assert_int_equal(back.status, WF_STORE_MODEL_PROMOTED);
    assert_int_equal(back.metrics.n, 40);
    assert_true(back.metrics.accuracy == 0.75 && back.metrics.ece == 0.125);
    assert_true(back.metrics.auc == 0.875 && back.metrics.pairs == 0);

    /* Only the version folder is left: no temporary. */
    wf_model_meta *all;
    size_t n;
    assert_int_equal(wf_registry_list(r, &all, &n, &err), 0);
    assert_int_equal(n, 1);
    free(all);
    snprintf(path, sizeof path, ".tmp-%s", meta.version);
    assert_false(exists(root, path));
    wf_registry_free(r);
}

static void test_save_duplicate_and_failure(void **state)
{
    (void)state;
    char root[256];
    wf_registry *r = open_reg(root, NULL);
    save_one(r, "v1", 100, WF_STORE_MODEL_PROMOTED);
    wf_model m = fake_model("other");
    wf_model_meta meta = meta_of("v1", 200, WF_STORE_MODEL_PROMOTED);
    wf_error err;
    assert_int_equal(wf_registry_save(r, &m, &meta, &err), WF_EINVAL);
    /* A backend failing to save leaves nothing behind. */
    m = fake_model("fail");
    meta = meta_of("v2", 200, WF_STORE_MODEL_PROMOTED);
    assert_int_equal(wf_registry_save(r, &m, &meta, &err), WF_EIO);
    assert_false(exists(root, "v2"));
    assert_false(exists(root, ".tmp-v2"));
    meta = meta_of("../evil", 200, WF_STORE_MODEL_PROMOTED);
    assert_int_equal(wf_registry_save(r, &m, &meta, &err), WF_EINVAL);
    wf_registry_free(r);
}

static void test_activate_and_rollback(void **state)
{
    (void)state;
    char root[256], cur[WF_VERSION_MAX];
    wf_registry *r = open_reg(root, NULL);
    wf_error err;
    assert_int_equal(wf_registry_current(r, cur, &err), WF_ENOTFOUND);
    save_one(r, "v1", 100, WF_STORE_MODEL_PROMOTED);
    save_one(r, "v2", 200, WF_STORE_MODEL_REJECTED);
    assert_int_equal(wf_registry_activate(r, "v1", &err), 0);
    assert_int_equal(wf_registry_current(r, cur, &err), 0);
    assert_string_equal(cur, "v1");
    /* The operator may activate a rejected version. */
    assert_int_equal(wf_registry_activate(r, "v2", &err), 0);
    assert_int_equal(wf_registry_current(r, cur, &err), 0);
    assert_string_equal(cur, "v2");
    /* Unknown or malformed names change nothing. */
    assert_int_equal(wf_registry_activate(r, "v9", &err), WF_ENOTFOUND);
    assert_int_equal(wf_registry_activate(r, "../models/v1", &err), WF_ENOTFOUND);
    assert_int_equal(wf_registry_activate(r, "", &err), WF_ENOTFOUND);
    assert_int_equal(wf_registry_current(r, cur, &err), 0);
    assert_string_equal(cur, "v2");
    /* Rollback. */
    assert_int_equal(wf_registry_activate(r, "v1", &err), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/CURRENT", root);
    char *text = wf_test_read_file(path, NULL);
    assert_string_equal(text, "v1\n");
    free(text);
    assert_false(exists(root, "CURRENT.tmp"));
    wf_model_meta latest;
    assert_int_equal(wf_registry_latest(r, &latest, &err), 0);
    assert_string_equal(latest.version, "v2");
    /* Same second, a name that sorts first: what it was trained on decides. */
    wf_model m = fake_model("a0");
    wf_model_meta meta = meta_of("a0", 200, WF_STORE_MODEL_PROMOTED);
    meta.trained_seq = 999;
    assert_int_equal(wf_registry_save(r, &m, &meta, &err), 0);
    assert_int_equal(wf_registry_latest(r, &latest, &err), 0);
    assert_string_equal(latest.version, "a0");
    wf_registry_free(r);
}

typedef struct reader_ctx {
    const char *path;
    volatile int stop;
    int reads, bad;
} reader_ctx;

static void *reader(void *arg)
{
    reader_ctx *c = arg;
    while (!c->stop) {
        char *text = wf_test_read_file(c->path, NULL);
        if (!text || (strcmp(text, "v1\n") != 0 && strcmp(text, "v2\n") != 0))
            c->bad++;
        free(text);
        c->reads++;
    }
    return NULL;
}

static void test_current_is_always_whole(void **state)
{
    (void)state;
    char root[256], path[512];
    wf_registry *r = open_reg(root, NULL);
    save_one(r, "v1", 100, WF_STORE_MODEL_PROMOTED);
    save_one(r, "v2", 200, WF_STORE_MODEL_PROMOTED);
    wf_error err;
    assert_int_equal(wf_registry_activate(r, "v1", &err), 0);
    snprintf(path, sizeof path, "%s/CURRENT", root);
    reader_ctx c = {.path = path};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader, &c), 0);
    for (int i = 0; i < 200; i++)
        assert_int_equal(wf_registry_activate(r, i % 2 ? "v1" : "v2", &err), 0);
    c.stop = 1;
    pthread_join(th, NULL);
    assert_true(c.reads > 0);
    assert_int_equal(c.bad, 0);
    char cur[WF_VERSION_MAX];
    assert_int_equal(wf_registry_current(r, cur, &err), 0);
    assert_string_equal(cur, "v1");
    wf_registry_free(r);
}

static void test_list_json_exact(void **state)
{
    (void)state;
    char root[256];
    wf_registry *r = open_reg(root, NULL);
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_error err;
    assert_int_equal(wf_registry_list_json(r, &b, &err), 0);
    assert_string_equal(b.data, "{\"current\":null,\"models\":[]}");
    save_one(r, "v2", 200, WF_STORE_MODEL_REJECTED);
    save_one(r, "v1", 100, WF_STORE_MODEL_PROMOTED);
    assert_int_equal(wf_registry_activate(r, "v1", &err), 0);
    wf_strbuf_reset(&b);
    assert_int_equal(wf_registry_list_json(r, &b, &err), 0);
    const char *metrics = "\"metrics\":{\"n\":40,\"accuracy\":0.75,\"mae\":0.5,\"ece\":0.125,"
                          "\"auc\":0.875,\"spearman\":0.5,\"pairs\":0,\"pairwise\":null}";
    char want[2048];
    snprintf(want, sizeof want,
             "{\"current\":\"v1\",\"models\":["
             "{\"version\":\"v1\",\"kind\":\"fake\",\"head\":\"coral\",\"parent\":\"\","
             "\"status\":\"active\",\"created_at\":100,\"samples\":120,\"users\":7,%s},"
             "{\"version\":\"v2\",\"kind\":\"fake\",\"head\":\"coral\",\"parent\":\"\","
             "\"status\":\"rejected\",\"created_at\":200,\"samples\":120,\"users\":7,%s}]}",
             metrics, metrics);
    assert_string_equal(b.data, want);
    wf_strbuf_free(&b);
    wf_registry_free(r);
}

static void test_prune_keeps_active(void **state)
{
    (void)state;
    char root[256];
    wf_registry *r = open_reg(root, NULL);
    const char *names[] = {"v1", "v2", "v3", "v4", "v5"};
    for (int i = 0; i < 5; i++)
        save_one(r, names[i], 100 + i, WF_STORE_MODEL_PROMOTED);
    wf_error err;
    assert_int_equal(wf_registry_activate(r, "v1", &err), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/.tmp-v9", root);
    assert_int_equal(mkdir(path, 0755), 0);
    size_t removed = 99;
    assert_int_equal(wf_registry_prune(r, 2, &removed, &err), 0);
    assert_int_equal(removed, 3);
    assert_true(exists(root, "v1"));
    assert_false(exists(root, "v2"));
    assert_false(exists(root, "v3"));
    assert_false(exists(root, "v4"));
    assert_true(exists(root, "v5"));
    assert_false(exists(root, ".tmp-v9"));
    /* Keeping one keeps the active one only. */
    assert_int_equal(wf_registry_prune(r, 1, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_true(exists(root, "v1"));
    assert_false(exists(root, "v5"));
    assert_int_equal(wf_registry_prune(r, 1, &removed, &err), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(wf_registry_prune(r, 0, &removed, &err), WF_EINVAL);
    wf_registry_free(r);
}

/* Rejected candidates go first: a run of them never pushes the promoted
 * versions a rollback would return to out. */
static void test_prune_rejected_first(void **state)
{
    (void)state;
    char root[256];
    wf_registry *r = open_reg(root, NULL);
    const char *names[] = {"v1", "v2", "v3", "v4", "v5", "v6"};
    const wf_store_model_status st[] = {WF_STORE_MODEL_PROMOTED, WF_STORE_MODEL_PROMOTED,
                                        WF_STORE_MODEL_REJECTED, WF_STORE_MODEL_REJECTED,
                                        WF_STORE_MODEL_REJECTED, WF_STORE_MODEL_PROMOTED};
    for (int i = 0; i < 6; i++)
        save_one(r, names[i], 100 + i, st[i]);
    wf_error err;
    assert_int_equal(wf_registry_activate(r, "v6", &err), 0);
    size_t removed = 0;
    assert_int_equal(wf_registry_prune(r, 3, &removed, &err), 0);
    assert_int_equal(removed, 3);
    assert_true(exists(root, "v1"));
    assert_true(exists(root, "v2"));
    assert_false(exists(root, "v3"));
    assert_false(exists(root, "v4"));
    assert_false(exists(root, "v5"));
    assert_true(exists(root, "v6"));
    /* then the oldest promoted one, never the active one */
    assert_int_equal(wf_registry_prune(r, 2, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_false(exists(root, "v1"));
    assert_true(exists(root, "v2"));
    assert_true(exists(root, "v6"));
    wf_registry_free(r);
}

static void expect_row(const char *store_path, const char *version, wf_store_model_status st)
{
    wf_store_options o;
    wf_store_options_default(&o, store_path);
    wf_store *s;
    wf_error err;
    assert_int_equal(wf_store_open(&o, &s, &err), 0);
    wf_store_model row = {0};
    assert_int_equal(wf_store_model_get(s, version, &row, &err), 0);
    assert_string_equal(wf_store_model_status_name(row.status), wf_store_model_status_name(st));
    assert_string_equal(row.kind, "fake");
    assert_int_equal(row.samples, 120);
    assert_non_null(strstr(row.metrics, "\"auc\":0.875"));
    wf_store_model_clear(&row);
    wf_store_close(s);
}

static void test_store_mirror(void **state)
{
    (void)state;
    char root[256], db[512];
    snprintf(db, sizeof db, "%s/wf.db", tmpdir());
    wf_registry *r = open_reg(root, db);
    save_one(r, "v1", 100, WF_STORE_MODEL_PROMOTED);
    save_one(r, "v2", 200, WF_STORE_MODEL_REJECTED);
    expect_row(db, "v1", WF_STORE_MODEL_PROMOTED);
    expect_row(db, "v2", WF_STORE_MODEL_REJECTED);
    wf_error err;
    assert_int_equal(wf_registry_activate(r, "v1", &err), 0);
    expect_row(db, "v1", WF_STORE_MODEL_ACTIVE);
    assert_int_equal(wf_registry_activate(r, "v2", &err), 0);
    expect_row(db, "v1", WF_STORE_MODEL_PROMOTED);
    expect_row(db, "v2", WF_STORE_MODEL_ACTIVE);
    wf_registry_free(r);
}

static void test_version_name(void **state)
{
    (void)state;
    char a[WF_VERSION_MAX], b[WF_VERSION_MAX];
    wf_registry_version_name(0, a);
    assert_memory_equal(a, "19700101T000000Z-", 17);
    assert_int_equal(strlen(a), 23);
    wf_registry_version_name(1764137700, b);
    assert_memory_equal(b, "20251126T061500Z-", 17);
    assert_true(strcmp(a, b) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_writes_folder_and_meta),
        cmocka_unit_test(test_save_duplicate_and_failure),
        cmocka_unit_test(test_activate_and_rollback),
        cmocka_unit_test(test_current_is_always_whole),
        cmocka_unit_test(test_list_json_exact),
        cmocka_unit_test(test_prune_keeps_active),
        cmocka_unit_test(test_prune_rejected_first),
        cmocka_unit_test(test_store_mirror),
        cmocka_unit_test(test_version_name),
    };
    return cmocka_run_group_tests(tests, NULL, remove_tmp_dirs);
}
