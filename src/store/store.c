/* Opening and closing the store: path checks with errors that name the path,
 * pragmas, migrations and the prepared statements. */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

void wf_store_options_default(wf_store_options *o, const char *path)
{
    o->path = path;
    o->synchronous = WF_STORE_SYNC_NORMAL;
    o->batch_max = 2048; /* the store.batch_max default */
    o->busy_timeout_ms = 5000;
    o->quick_check = 0;
}

void wf_store_options_from_config(wf_store_options *o, const wf_config *cfg)
{
    static const char *const sync_names[] = {"off", "normal", "full"};
    wf_store_options_default(o, wf_config_str(cfg, "store.path"));
    const char *sync = wf_config_str(cfg, "store.synchronous");
    for (int i = 0; i < 3; i++)
        if (strcmp(sync, sync_names[i]) == 0)
            o->synchronous = (wf_store_sync)i;
    o->batch_max = (int)wf_config_int(cfg, "store.batch_max");
    o->busy_timeout_ms = (int)wf_config_int(cfg, "store.busy_timeout_ms");
    o->quick_check = wf_config_bool(cfg, "store.quick_check");
}

int wf_store_errcode(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: return WF_OK;
    case SQLITE_NOMEM: return WF_ENOMEM;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: return WF_ECORRUPT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return WF_EAGAIN;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG: return WF_EINVAL;
    default: return WF_EIO;
    }
}

int wf_store_sqlerr(wf_store *s, wf_error *err, int code, const char *what)
{
    if (!code)
        code = wf_store_errcode(sqlite3_extended_errcode(s->db));
    return wf_error_set(err, code, "store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

/* SQLite's own message for a missing directory is "unable to open database
 * file"; checking first lets the error say which directory and why. */
static int check_dir(const char *path, wf_error *err)
{
    char *copy = strdup(path);
    if (!copy)
        return wf_error_set(err, WF_ENOMEM, "store %s: out of memory", path);
    const char *dir = dirname(copy);
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) != 0)
        rc = wf_error_set(err, WF_EIO, "store %s: directory %s: %s", path, dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = wf_error_set(err, WF_EIO, "store %s: %s is not a directory", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        rc = wf_error_set(err, WF_EIO, "store %s: directory %s is not writable: %s", path, dir,
                          strerror(errno));
    else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        rc = wf_error_set(err, WF_EIO, "store %s: is a directory", path);
    free(copy);
    return rc;
}

static int exec(wf_store *s, const char *sql, const char *what, wf_error *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return wf_store_sqlerr(s, err, 0, what);
    return 0;
}

/* The first statement reads the file header: this is where a file that is
 * not a database shows. */
static int set_wal(wf_store *s, wf_error *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int wal = rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if ((rc & 0xff) == SQLITE_NOTADB)
        return wf_error_set(err, WF_ECORRUPT, "store %s: not a SQLite database", s->path);
    if (rc != SQLITE_ROW)
        return wf_store_sqlerr(s, err, 0, "cannot read the file");
    if (!wal)
        return wf_error_set(err, WF_EIO, "store %s: cannot switch to WAL mode", s->path);
    return 0;
}

static int quick_check(wf_store *s, wf_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK)
        return wf_store_sqlerr(s, err, WF_ECORRUPT, "quick_check failed");
    int rc = sqlite3_step(st);
    int code = 0;
    if (rc != SQLITE_ROW)
        code = wf_store_sqlerr(s, err, WF_ECORRUPT, "quick_check failed");
    else if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
        code = wf_error_set(err, WF_ECORRUPT, "store %s: quick_check: %s", s->path,
                            (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return code;
}

static int set_pragmas(wf_store *s, const wf_store_options *o, wf_error *err)
{
    static const char *const sync_sql[] = {
        "PRAGMA synchronous = OFF", "PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL"};
    if (sqlite3_db_readonly(s->db, "main") == 1)
        return wf_error_set(err, WF_EIO, "store %s: file is read-only", s->path);
    int rc = set_wal(s, err);
    if (rc == 0)
        rc = exec(s, sync_sql[o->synchronous], "cannot set synchronous", err);
    if (rc == 0 && o->quick_check)
        rc = quick_check(s, err);
    return rc;
}

static int prepare_all(wf_store *s, wf_error *err)
{
    for (int i = 0; i < ST_COUNT; i++)
        if (sqlite3_prepare_v3(s->db, wf_store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                               NULL) != SQLITE_OK)
            return wf_store_sqlerr(s, err, 0, "cannot prepare statements");
    return 0;
}

static int open_db(wf_store *s, const wf_store_options *o, wf_error *err)
{
    int rc = sqlite3_open_v2(o->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        int sys = s->db ? sqlite3_system_errno(s->db) : 0;
        return wf_error_set(err, WF_EIO, "store %s: cannot open: %s", o->path,
                            sys ? strerror(sys) : sqlite3_errstr(rc));
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, o->busy_timeout_ms);
    return 0;
}

int wf_store_open_with(const wf_store_options *o, const wf_store_migration *list, size_t n,
                       wf_store **out, wf_error *err)
{
    *out = NULL;
    if (!o->path || !*o->path)
        return wf_error_set(err, WF_EINVAL, "store.path: empty");
    if ((unsigned)o->synchronous > WF_STORE_SYNC_FULL || o->batch_max < 1)
        return wf_error_set(err, WF_EINVAL, "store %s: bad options", o->path);
    int rc = check_dir(o->path, err);
    if (rc < 0)
        return rc;
    wf_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(o->path))) {
        free(s);
        return wf_error_set(err, WF_ENOMEM, "store %s: out of memory", o->path);
    }
    s->batch_max = o->batch_max;
    rc = open_db(s, o, err);
    if (rc == 0)
        rc = set_pragmas(s, o, err);
    if (rc == 0)
        rc = wf_store_migrate(s->db, s->path, list, n, err);
    if (rc == 0)
        rc = prepare_all(s, err);
    if (rc == 0)
        rc = wf_store_counts_load(s, err);
    if (rc < 0) {
        wf_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

int wf_store_open(const wf_store_options *o, wf_store **out, wf_error *err)
{
    return wf_store_open_with(o, wf_store_migrations, wf_store_n_migrations, out, err);
}

void wf_store_close(wf_store *s)
{
    if (!s)
        return;
    if (s->in_batch)
        wf_store_rollback(s);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

int wf_store_schema_version(wf_store *s, int *version, wf_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return wf_store_sqlerr(s, err, 0, "cannot read schema version");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : wf_store_sqlerr(s, err, 0, "cannot read schema version");
}
