/* Schema versions: PRAGMA user_version counts the migrations applied. A new
 * schema change is one more entry at the end of wf_store_migrations; entries
 * are never edited once released, because deployed files ran them. Each
 * runs inside the open's transaction, so it must not hold statements that
 * SQLite refuses in one (VACUUM, journal_mode). */
#include <stdio.h>

#include "internal.h"

/* Small columns come first in samples so that counting by split, label and
 * source decodes them without reading the large text columns' overflow
 * pages. */
static const char schema_v1[] =
    "CREATE TABLE samples ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " seq INTEGER NOT NULL,"
    " conversation_id TEXT NOT NULL,"
    " turn INTEGER NOT NULL,"
    " response_turn INTEGER NOT NULL,"
    " annotation INTEGER NOT NULL CHECK (annotation BETWEEN 1 AND 5),"
    " label INTEGER NOT NULL CHECK (label BETWEEN 1 AND 4),"
    " source TEXT NOT NULL,"
    " rank INTEGER NOT NULL,"
    " split TEXT NOT NULL CHECK (split IN ('train', 'eval')),"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " user_id TEXT NOT NULL,"
    " language TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " history TEXT NOT NULL,"
    " query TEXT NOT NULL,"
    " response TEXT NOT NULL,"
    " feedback TEXT NOT NULL,"
    " text TEXT NOT NULL);"
    "CREATE UNIQUE INDEX samples_seq ON samples (seq);"
    "CREATE TABLE conversations ("
    " conversation_id TEXT PRIMARY KEY NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " state BLOB NOT NULL);"
    "CREATE INDEX conversations_last_seen ON conversations (last_seen);"
    "CREATE TABLE pending ("
    " sample_id TEXT PRIMARY KEY NOT NULL,"
    " conversation_id TEXT NOT NULL,"
    " at INTEGER NOT NULL,"
    " state BLOB NOT NULL);"
    "CREATE INDEX pending_conversation ON pending (conversation_id);"
    "CREATE INDEX pending_at ON pending (at);"
    "CREATE TABLE user_counts ("
    " user_id TEXT NOT NULL,"
    " day INTEGER NOT NULL,"
    " count INTEGER NOT NULL,"
    " PRIMARY KEY (user_id, day)) WITHOUT ROWID;"
    "CREATE TABLE models ("
    " version TEXT PRIMARY KEY NOT NULL,"
    " kind TEXT NOT NULL,"
    " parent TEXT NOT NULL,"
    " status TEXT NOT NULL"
    "  CHECK (status IN ('candidate', 'active', 'promoted', 'rejected')),"
    " created_at INTEGER NOT NULL,"
    " samples INTEGER NOT NULL,"
    " users INTEGER NOT NULL,"
    " metrics TEXT NOT NULL);";

/* Named positions in the sample sequence: how far a consumer of the
 * samples (the fleet's samples topic) got, kept with the samples so that
 * both move in one transaction. */
static const char schema_v2[] = "CREATE TABLE cursors ("
                                " name TEXT PRIMARY KEY NOT NULL,"
                                " seq INTEGER NOT NULL) WITHOUT ROWID;";

const wf_store_migration wf_store_migrations[] = {
    {schema_v1},
    {schema_v2},
};
const size_t wf_store_n_migrations = sizeof wf_store_migrations / sizeof wf_store_migrations[0];

int wf_store_schema_latest(void)
{
    return (int)wf_store_n_migrations;
}

static int user_version(sqlite3 *db, int *v)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *v = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static int fail(sqlite3 *db, const char *path, const char *what, int rc, wf_error *err)
{
    return wf_error_set(err, wf_store_errcode(rc), "store %s: %s: %s", path, what,
                        sqlite3_errmsg(db));
}

/* Runs the missing migrations and stamps the version, all or nothing. */
static int apply(sqlite3 *db, const char *path, const wf_store_migration *list, int n,
                 wf_error *err)
{
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return fail(db, path, "cannot start migration", rc, err);
    /* Another process may have migrated between our check and the lock. */
    int v = 0;
    const char *what = "cannot read schema version";
    rc = user_version(db, &v);
    char buf[64];
    for (int i = v; rc == SQLITE_OK && i < n; i++) {
        snprintf(buf, sizeof buf, "migration %d failed", i + 1);
        what = buf;
        rc = sqlite3_exec(db, list[i].sql, NULL, NULL, NULL);
    }
    char stamp[48];
    snprintf(stamp, sizeof stamp, "PRAGMA user_version = %d", n);
    if (rc == SQLITE_OK && v < n) {
        what = "cannot record schema version";
        rc = sqlite3_exec(db, stamp, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        what = "cannot commit migration";
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        return 0;
    int code = fail(db, path, what, rc, err);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return code;
}

int wf_store_migrate(sqlite3 *db, const char *path, const wf_store_migration *list, size_t n,
                     wf_error *err)
{
    int v = 0;
    int rc = user_version(db, &v);
    if (rc != SQLITE_OK)
        return fail(db, path, "cannot read schema version", rc, err);
    if (v > (int)n)
        return wf_error_set(err, WF_ESTATE,
                            "store %s: schema version %d is newer than this wildfeed supports "
                            "(%d); use a newer wildfeed or another store.path",
                            path, v, (int)n);
    if (v == (int)n)
        return 0;
    return apply(db, path, list, (int)n, err);
}
