/* Batches: one SQLite transaction for many writes, with the sample counts'
 * changes held aside until the transaction is durable. */
#include <string.h>

#include "internal.h"

int wf_store_step_done(wf_store *s, sqlite3_stmt *st, const char *what, wf_error *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return wf_store_sqlerr(s, err, wf_store_errcode(rc), what);
    return 0;
}

int wf_store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_STATIC);
}

int wf_store_begin(wf_store *s, wf_error *err)
{
    if (s->in_batch)
        return wf_error_set(err, WF_ESTATE, "store %s: a batch is already open", s->path);
    /* IMMEDIATE takes the write lock now, so a busy store fails here rather
     * than half-way through the batch. */
    int rc = wf_store_step_done(s, s->stmt[ST_BEGIN], "cannot begin batch", err);
    if (rc < 0)
        return rc;
    s->in_batch = 1;
    s->batch_items = 0;
    memset(&s->delta, 0, sizeof s->delta);
    return 0;
}

static void end_batch(wf_store *s)
{
    s->in_batch = 0;
    s->batch_items = 0;
    memset(&s->delta, 0, sizeof s->delta);
}

void wf_store_rollback(wf_store *s)
{
    if (!s->in_batch)
        return;
    /* SQLite may already have rolled back after an I/O or memory error; the
     * statement then fails harmlessly. */
    if (!sqlite3_get_autocommit(s->db))
        wf_store_step_done(s, s->stmt[ST_ROLLBACK], "rollback", NULL);
    atomic_fetch_add(&s->rollbacks, 1);
    end_batch(s);
}

int wf_store_commit(wf_store *s, wf_error *err)
{
    if (!s->in_batch)
        return wf_error_set(err, WF_ESTATE, "store %s: no batch is open", s->path);
    if (sqlite3_get_autocommit(s->db)) {
        wf_store_rollback(s);
        return wf_error_set(err, WF_EIO, "store %s: the batch was lost to an earlier error",
                            s->path);
    }
    int rc = wf_store_step_done(s, s->stmt[ST_COMMIT], "cannot commit batch", err);
    if (rc < 0) {
        wf_store_rollback(s);
        return rc;
    }
    wf_store_delta_apply(s);
    atomic_fetch_add(&s->commits, 1);
    end_batch(s);
    return 0;
}

int wf_store_in_batch(const wf_store *s)
{
    return s->in_batch;
}

size_t wf_store_batch_items(const wf_store *s)
{
    return s->batch_items;
}

int wf_store_batch_full(const wf_store *s)
{
    return s->batch_items >= (size_t)s->batch_max;
}

int wf_store_write_begin(wf_store *s, int *began, wf_error *err)
{
    *began = 0;
    if (s->in_batch)
        return 0;
    int rc = wf_store_begin(s, err);
    *began = rc == 0;
    return rc;
}

int wf_store_write_end(wf_store *s, int began, int rc, wf_error *err)
{
    if (!began) {
        if (rc == 0)
            s->batch_items++;
        return rc;
    }
    if (rc < 0) {
        wf_store_rollback(s);
        return rc;
    }
    return wf_store_commit(s, err);
}
