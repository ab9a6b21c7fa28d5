/* Opening the store: creation, WAL, schema versions and migrations, and the
 * errors a bad path or a bad file give. */
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/internal.h"
#include "test_store_util.h"
#include "wildfeed/config.h"

static void expect_open_error(const char *path, int code, const char *needle)
{
    wf_store_options o;
    wf_store_options_default(&o, path);
    wf_store *s = (wf_store *)1;
    wf_error err = {0};
    assert_int_equal(wf_store_open(&o, &s, &err), code);
    assert_null(s);
    assert_int_equal(err.code, code);
    if (!strstr(err.msg, path) || !strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s' or '%s'", err.msg, path, needle);
}

static char *pragma_text(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_create_wal_and_version(void **state)
{
    (void)state;
    const char *path = store_tmp_path();
    wf_store *s = store_open_at(path);
    int v = -1;
    assert_int_equal(wf_store_schema_version(s, &v, NULL), 0);
    assert_int_equal(v, 2);
    assert_int_equal(wf_store_schema_latest(), 2);
    assert_int_equal(access(path, F_OK), 0);
    /* A second connection sees the persistent WAL mode and the version. */
    char *mode = pragma_text(path, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
    char *ver = pragma_text(path, "PRAGMA user_version");
    assert_string_equal(ver, "2");
    free(ver);
    char *tables = pragma_text(path, "SELECT group_concat(name, ',') FROM"
                                     " (SELECT name FROM sqlite_schema WHERE type = 'table'"
                                     " ORDER BY name)");
    assert_string_equal(tables, "conversations,cursors,models,pending,samples,user_counts");
    free(tables);
    wf_store_close(s);
}

static wf_store *open_with(const char *path, const wf_store_migration *list, size_t n, int expect,
                           wf_error *err)
{
    wf_store_options o;
    wf_store_options_default(&o, path);
    wf_store *s = NULL;
    assert_int_equal(wf_store_open_with(&o, list, n, &s, err), expect);
    return s;
}

static void test_migration_of_a_later_version(void **state)
{
    (void)state;
    const char *path = store_tmp_path();
    wf_store_close(store_open_at(path));
    wf_store_migration list[3] = {
        wf_store_migrations[0],
        wf_store_migrations[1],
        {"CREATE TABLE extra (x INTEGER); INSERT INTO extra VALUES (42);"},
    };
    /* Twice: the second open finds version 3 and must not run it again. */
    for (int round = 0; round < 2; round++) {
        wf_store *s = open_with(path, list, 3, 0, NULL);
        int v = 0;
        assert_int_equal(wf_store_schema_version(s, &v, NULL), 0);
        assert_int_equal(v, 3);
        wf_store_close(s);
    }
    char *rows = pragma_text(path, "SELECT count(*) || ':' || sum(x) FROM extra");
    assert_string_equal(rows, "1:42");
    free(rows);
    /* This build (version 2) now refuses the file. */
    expect_open_error(path, WF_ESTATE, "schema version 3 is newer");
}

/* A store written by a version-1 build keeps its samples and gains the
 * cursors table. */
static void test_v1_store_is_migrated(void **state)
{
    (void)state;
    const char *path = store_tmp_path();
    wf_store *s = store_open_at(path);
    put_spec(s, &(sample_spec){.conv = "c1", .turn = 0});
    wf_store_close(s);
    /* Version 1 was this schema without the cursors table. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "DROP TABLE cursors; PRAGMA user_version = 1", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    s = store_open_at(path);
    int v = 0;
    assert_int_equal(wf_store_schema_version(s, &v, NULL), 0);
    assert_int_equal(v, 2);
    int64_t seq = -1;
    assert_int_equal(wf_store_last_seq(s, &seq, NULL), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(wf_store_cursor_get(s, "fleet:t", &seq, NULL), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(wf_store_cursor_put(s, "fleet:t", 1, NULL), 0);
    wf_store_close(s);
    s = store_open_at(path);
    assert_int_equal(wf_store_cursor_get(s, "fleet:t", &seq, NULL), 0);
    assert_int_equal(seq, 1);
    wf_store_close(s);
}

static void test_failed_migration_changes_nothing(void **state)
{
    (void)state;
    const char *path = store_tmp_path();
    wf_store_close(store_open_at(path));
    wf_store_migration list[3] = {
        wf_store_migrations[0],
        wf_store_migrations[1],
        {"CREATE TABLE extra (x INTEGER); INSERT INTO missing VALUES (1);"},
    };
    wf_error err = {0};
    assert_null(open_with(path, list, 3, WF_EIO, &err));
    assert_non_null(strstr(err.msg, "migration 3 failed"));
    assert_non_null(strstr(err.msg, "no such table: missing"));
    char *ver = pragma_text(path, "PRAGMA user_version");
    assert_string_equal(ver, "2");
    free(ver);
    char *extra = pragma_text(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'extra'");
    assert_string_equal(extra, "0");
    free(extra);
}

static void test_newer_version_refused(void **state)
{
    (void)state;
    const char *path = store_tmp_path();
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 7", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    expect_open_error(path, WF_ESTATE, "schema version 7 is newer than this wildfeed supports (2)");
}

static void test_garbage_file_refused(void **state)
{
    (void)state;
    const char *path = store_tmp_path();
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = "not a database, just text\n"[i % 26];
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);
    expect_open_error(path, WF_ECORRUPT, "not a SQLite database");
    /* The file is left as it was. */
    size_t n = 0;
    char *after = wf_test_read_file(path, &n);
    assert_int_equal(n, sizeof junk);
    assert_memory_equal(after, junk, sizeof junk);
    free(after);
}

static void test_missing_directory_refused(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/nope/wf.db", store_tmpdir());
    expect_open_error(path, WF_EIO, "/nope: No such file or directory");
}

static void test_parent_is_a_file_refused(void **state)
{
    (void)state;
    char file[256], path[300];
    snprintf(file, sizeof file, "%s/plain", store_tmpdir());
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/wf.db", file);
    expect_open_error(path, WF_EIO, "plain is not a directory");
}

static void test_path_is_a_directory_refused(void **state)
{
    (void)state;
    const char *dir = store_tmpdir();
    expect_open_error(dir, WF_EIO, "is a directory");
}

/* Root ignores permission bits, so as root the unwritable place is sysfs,
 * which accepts no new files. */
static void test_unwritable_directory_refused(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        char dir[128], path[160];
        snprintf(dir, sizeof dir, "%s", store_tmpdir());
        assert_int_equal(chmod(dir, 0500), 0);
        snprintf(path, sizeof path, "%s/wf.db", dir);
        expect_open_error(path, WF_EIO, "is not writable");
        chmod(dir, 0700);
        return;
    }
    struct stat st;
    if (stat("/sys/kernel", &st) != 0)
        skip();
    expect_open_error("/sys/wf-store-test.db", WF_EIO, "cannot open");
}

static void test_quick_check_finds_damage(void **state)
{
    (void)state;
    const char *path = store_tmp_path();
    wf_store *s = store_open_at(path);
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(wf_store_begin(s, NULL), 0);
    for (int t = 0; t < 100; t++)
        put_spec(s, &(sample_spec){.conv = "c", .turn = t, .text = big});
    assert_int_equal(wf_store_commit(s, NULL), 0);
    wf_store_close(s);
    /* Scribble over pages in the middle of the file. */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    char junk[8192];
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(fseek(f, 4096 * 8, SEEK_SET), 0);
    assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);
    wf_store_options o;
    wf_store_options_default(&o, path);
    o.quick_check = 1;
    wf_error err = {0};
    assert_int_equal(wf_store_open(&o, &s, &err), WF_ECORRUPT);
    assert_null(s);
    assert_non_null(strstr(err.msg, path));
}

static void test_bad_options(void **state)
{
    (void)state;
    wf_store_options o;
    wf_store_options_default(&o, "");
    wf_store *s = NULL;
    wf_error err = {0};
    assert_int_equal(wf_store_open(&o, &s, &err), WF_EINVAL);
    assert_string_equal(err.msg, "store.path: empty");
    wf_store_options_default(&o, store_tmp_path());
    o.batch_max = 0;
    assert_int_equal(wf_store_open(&o, &s, &err), WF_EINVAL);
}

static void test_options_from_config(void **state)
{
    (void)state;
    wf_config *cfg = wf_config_new();
    assert_non_null(cfg);
    wf_store_options o;
    wf_store_options_from_config(&o, cfg);
    assert_string_equal(o.path, "wildfeed.db");
    assert_int_equal(o.synchronous, WF_STORE_SYNC_NORMAL);
    assert_int_equal(o.batch_max, 2048);
    assert_int_equal(o.busy_timeout_ms, 5000);
    assert_int_equal(o.quick_check, 0);
    assert_int_equal(wf_config_int(cfg, "store.commit_interval_ms"), 1000);
    const char *sets[] = {"store.path=/x/y.db", "store.synchronous=full", "store.batch_max=3",
                          "store.busy_timeout_ms=10", "store.quick_check=true"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(wf_config_set(cfg, sets[i], NULL), 0);
    wf_store_options_from_config(&o, cfg);
    assert_string_equal(o.path, "/x/y.db");
    assert_int_equal(o.synchronous, WF_STORE_SYNC_FULL);
    assert_int_equal(o.batch_max, 3);
    assert_int_equal(o.busy_timeout_ms, 10);
    assert_int_equal(o.quick_check, 1);
    wf_error err = {0};
    assert_int_equal(wf_config_set(cfg, "store.synchronous=sometimes", &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "store.synchronous"));
    wf_config_free(cfg);
}

/* A second writer waits busy_timeout_ms for the lock, then gives up. */
static void test_busy_store(void **state)
{
    (void)state;
    const char *path = store_tmp_path();
    wf_store *a = store_open_at(path);
    wf_store_options o;
    wf_store_options_default(&o, path);
    o.busy_timeout_ms = 20;
    wf_store *b = NULL;
    assert_int_equal(wf_store_open(&o, &b, NULL), 0);
    assert_int_equal(wf_store_begin(a, NULL), 0);
    wf_error err = {0};
    assert_int_equal(wf_store_begin(b, &err), WF_EAGAIN);
    assert_int_equal(wf_store_in_batch(b), 0);
    assert_int_equal(wf_store_commit(a, NULL), 0);
    assert_int_equal(wf_store_begin(b, NULL), 0);
    assert_int_equal(wf_store_commit(b, NULL), 0);
    wf_store_close(b);
    wf_store_close(a);
}

/* SQLite rolls a transaction back by itself after some I/O and memory
 * errors; the commit must then fail rather than report a durable batch. */
static void test_commit_after_lost_transaction(void **state)
{
    (void)state;
    wf_store *s = store_open_at(store_tmp_path());
    assert_int_equal(wf_store_begin(s, NULL), 0);
    put_spec(s, &(sample_spec){.conv = "lost"});
    assert_int_equal(sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    wf_error err = {0};
    assert_int_equal(wf_store_commit(s, &err), WF_EIO);
    assert_non_null(strstr(err.msg, "batch was lost"));
    assert_int_equal(wf_store_in_batch(s), 0);
    wf_store_counts c;
    wf_store_counts_get(s, &c);
    assert_int_equal(c.total, 0);
    assert_int_equal(c.commits, 0);
    assert_int_equal(c.rollbacks, 1);
    int exists = 1;
    assert_int_equal(wf_store_has_sample(s, "lost_turn0", &exists, NULL), 0);
    assert_int_equal(exists, 0);
    wf_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_wal_and_version),
        cmocka_unit_test(test_migration_of_a_later_version),
        cmocka_unit_test(test_v1_store_is_migrated),
        cmocka_unit_test(test_failed_migration_changes_nothing),
        cmocka_unit_test(test_newer_version_refused),
        cmocka_unit_test(test_garbage_file_refused),
        cmocka_unit_test(test_missing_directory_refused),
        cmocka_unit_test(test_parent_is_a_file_refused),
        cmocka_unit_test(test_path_is_a_directory_refused),
        cmocka_unit_test(test_unwritable_directory_refused),
        cmocka_unit_test(test_quick_check_finds_damage),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_options_from_config),
        cmocka_unit_test(test_busy_store),
        cmocka_unit_test(test_commit_after_lost_transaction),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    store_cleanup();
    return failed;
}
