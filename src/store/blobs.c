/* Opaque state the session and hindsight stages keep across restarts:
 * conversation state by conversation id, pending neutral turns by sample id.
 * The store never looks inside a blob. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Runs a one-statement write (already bound) as an atomic write. */
static int write_stmt(wf_store *s, sqlite3_stmt *st, const char *what, size_t *changed,
                      wf_error *err)
{
    int began;
    int rc = wf_store_write_begin(s, &began, err);
    if (rc < 0) {
        sqlite3_clear_bindings(st);
        return rc;
    }
    rc = wf_store_step_done(s, st, what, err);
    if (rc == 0 && changed)
        *changed = (size_t)sqlite3_changes(s->db);
    return wf_store_write_end(s, began, rc, err);
}

/* Copies column col of the current row into a malloc'd blob. */
static int take_blob(wf_store *s, sqlite3_stmt *st, int col, void **blob, size_t *len,
                     wf_error *err)
{
    *len = (size_t)sqlite3_column_bytes(st, col);
    *blob = NULL;
    if (*len == 0)
        return 0;
    *blob = malloc(*len);
    if (!*blob)
        return wf_error_set(err, WF_ENOMEM, "store %s: out of memory", s->path);
    memcpy(*blob, sqlite3_column_blob(st, col), *len);
    return 0;
}

/* A zero-length blob is bound as an empty blob, not NULL: the column is NOT
 * NULL and "no state" is the caller's to encode. */
static void bind_blob(sqlite3_stmt *st, int i, const void *blob, size_t len)
{
    if (len)
        sqlite3_bind_blob64(st, i, blob, len, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(st, i, 0);
}

int wf_store_conv_put(wf_store *s, const char *conversation_id, const void *blob, size_t len,
                      int64_t last_seen, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_CONV_PUT];
    wf_store_bind_text(st, 1, conversation_id);
    sqlite3_bind_int64(st, 2, last_seen);
    bind_blob(st, 3, blob, len);
    return write_stmt(s, st, "cannot put conversation state", NULL, err);
}

int wf_store_conv_get(wf_store *s, const char *conversation_id, void **blob, size_t *len,
                      int64_t *last_seen, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_CONV_GET];
    wf_store_bind_text(st, 1, conversation_id);
    int rc = sqlite3_step(st);
    int code;
    if (rc == SQLITE_ROW) {
        code = take_blob(s, st, 0, blob, len, err);
        if (last_seen)
            *last_seen = sqlite3_column_int64(st, 1);
    } else if (rc == SQLITE_DONE) {
        code = wf_error_set(err, WF_ENOTFOUND, "store %s: no state for conversation %s", s->path,
                            conversation_id);
    } else {
        code = wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot read conversation state");
    }
    sqlite3_reset(st);
    return code;
}

int wf_store_conv_delete(wf_store *s, const char *conversation_id, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_CONV_DELETE];
    wf_store_bind_text(st, 1, conversation_id);
    return write_stmt(s, st, "cannot delete conversation state", NULL, err);
}

int wf_store_conv_foreach(wf_store *s, wf_store_conv_fn fn, void *ctx, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_CONV_ALL];
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
        stop = fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_blob(st, 1),
                  (size_t)sqlite3_column_bytes(st, 1), sqlite3_column_int64(st, 2));
    if (!stop && rc != SQLITE_DONE)
        stop = wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot read conversation state");
    sqlite3_reset(st);
    return stop;
}

int wf_store_conv_expire(wf_store *s, int64_t before, size_t *n, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_CONV_EXPIRE];
    sqlite3_bind_int64(st, 1, before);
    return write_stmt(s, st, "cannot expire conversation state", n, err);
}

int wf_store_pending_put(wf_store *s, const char *sample_id, const char *conversation_id,
                         const void *blob, size_t len, int64_t at, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_PENDING_PUT];
    wf_store_bind_text(st, 1, sample_id);
    wf_store_bind_text(st, 2, conversation_id);
    sqlite3_bind_int64(st, 3, at);
    bind_blob(st, 4, blob, len);
    return write_stmt(s, st, "cannot put pending turn", NULL, err);
}

int wf_store_pending_get(wf_store *s, const char *sample_id, void **blob, size_t *len,
                         wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_PENDING_GET];
    wf_store_bind_text(st, 1, sample_id);
    int rc = sqlite3_step(st);
    int code;
    if (rc == SQLITE_ROW)
        code = take_blob(s, st, 0, blob, len, err);
    else if (rc == SQLITE_DONE)
        code = wf_error_set(err, WF_ENOTFOUND, "store %s: no pending turn %s", s->path, sample_id);
    else
        code = wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot read pending turn");
    sqlite3_reset(st);
    return code;
}

int wf_store_pending_delete(wf_store *s, const char *sample_id, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_PENDING_DELETE];
    wf_store_bind_text(st, 1, sample_id);
    return write_stmt(s, st, "cannot delete pending turn", NULL, err);
}

int wf_store_pending_foreach(wf_store *s, const char *conversation_id, wf_store_blob_fn fn,
                             void *ctx, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[conversation_id ? ST_PENDING_CONV : ST_PENDING_ALL];
    if (conversation_id)
        wf_store_bind_text(st, 1, conversation_id);
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
        stop = fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_blob(st, 1),
                  (size_t)sqlite3_column_bytes(st, 1));
    if (!stop && rc != SQLITE_DONE)
        stop = wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot read pending turns");
    sqlite3_reset(st);
    return stop;
}

int wf_store_pending_expire(wf_store *s, int64_t before, size_t *n, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_PENDING_EXPIRE];
    sqlite3_bind_int64(st, 1, before);
    return write_stmt(s, st, "cannot expire pending turns", n, err);
}
