/* Named cursors in the sample sequence. A consumer of the samples outside
 * the store (the fleet's samples topic) records how far it got in the same
 * database, so that a restart resumes there. */
#include "internal.h"

int wf_store_cursor_get(wf_store *s, const char *name, int64_t *seq, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_CURSOR_GET];
    wf_store_bind_text(st, 1, name);
    int rc = sqlite3_step(st);
    *seq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return 0;
    return wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot read cursor");
}

int wf_store_cursor_put(wf_store *s, const char *name, int64_t seq, wf_error *err)
{
    int began;
    int rc = wf_store_write_begin(s, &began, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = s->stmt[ST_CURSOR_PUT];
    wf_store_bind_text(st, 1, name);
    sqlite3_bind_int64(st, 2, seq);
    rc = wf_store_step_done(s, st, "cannot write cursor", err);
    return wf_store_write_end(s, began, rc, err);
}
