/* Per-user daily counters behind the per-user quota. They live in the same
 * transaction as the samples they count, so a crash or a rolled-back batch
 * never leaves a count without its samples. */
#include "internal.h"

int64_t wf_store_day(int64_t unix_s)
{
    /* Floor division: times before 1970 belong to negative days. */
    return unix_s >= 0 ? unix_s / 86400 : -((-unix_s + 86399) / 86400);
}

static int incr(wf_store *s, const char *user_id, int64_t day, int64_t *count, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_USER_INCR];
    wf_store_bind_text(st, 1, user_id);
    sqlite3_bind_int64(st, 2, day);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st); /* RETURNING finishes the write on the last step */
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot count");
}

int wf_store_user_count_incr(wf_store *s, const char *user_id, int64_t day, int64_t *count,
                             wf_error *err)
{
    int began;
    int rc = wf_store_write_begin(s, &began, err);
    if (rc < 0)
        return rc;
    rc = incr(s, user_id, day, count, err);
    return wf_store_write_end(s, began, rc, err);
}

int wf_store_user_count_get(wf_store *s, const char *user_id, int64_t day, int64_t *count,
                            wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_USER_GET];
    wf_store_bind_text(st, 1, user_id);
    sqlite3_bind_int64(st, 2, day);
    int rc = sqlite3_step(st);
    *count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot read count");
    return 0;
}

int wf_store_user_count_prune(wf_store *s, int64_t before_day, size_t *n, wf_error *err)
{
    int began;
    int rc = wf_store_write_begin(s, &began, err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s->stmt[ST_USER_PRUNE], 1, before_day);
    rc = wf_store_step_done(s, s->stmt[ST_USER_PRUNE], "cannot prune counts", err);
    if (rc == 0 && n)
        *n = (size_t)sqlite3_changes(s->db);
    return wf_store_write_end(s, began, rc, err);
}
