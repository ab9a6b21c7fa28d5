/* Walking the samples: the trainer's "new since", the JSONL export and the
 * fleet's walk in sequence order. The export rebuilds each wf_sample and
 * calls wf_sample_to_jsonl, so the store's export and `wildfeed extract`'s
 * output cannot drift apart. */
#include <stdint.h>
#include <stdio.h>

#include "internal.h"

int wf_store_foreach_sample(wf_store *s, wf_store_split split, int64_t after_seq,
                            wf_store_sample_fn fn, void *ctx, wf_error *err)
{
    static const char *const split_sql[] = {"", "train", "eval"};
    if ((unsigned)split > WF_STORE_EVAL)
        return wf_error_set(err, WF_EINVAL, "store %s: bad split %d", s->path, (int)split);
    /* Prepared per walk: a walk may outlive other calls' use of the cached
     * statements. Id order comes from the primary key's index. */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT " WF_STORE_SAMPLE_COLS " FROM samples"
                           " WHERE (?1 = '' OR split = ?1) AND seq > ?2 ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return wf_store_sqlerr(s, err, 0, "cannot read samples");
    sqlite3_bind_text(st, 1, split_sql[split], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, after_seq);
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        wf_sample *smp;
        stop = wf_store_row_to_sample(s, st, &smp, err);
        if (stop == 0) {
            stop = fn(ctx, smp);
            wf_sample_free(smp);
        }
    }
    if (!stop && rc != SQLITE_DONE)
        stop = wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot read samples");
    sqlite3_finalize(st);
    return stop;
}

int wf_store_walk_seq(wf_store *s, int64_t after_seq, int64_t upto_seq, size_t limit,
                      wf_store_seq_fn fn, void *ctx, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_SAMPLES_BY_SEQ];
    sqlite3_bind_int64(st, 1, after_seq);
    sqlite3_bind_int64(st, 2, upto_seq);
    sqlite3_bind_int64(st, 3, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        wf_sample *smp;
        stop = wf_store_row_to_sample(s, st, &smp, err);
        if (stop == 0) {
            stop = fn(ctx, sqlite3_column_int64(st, 1), smp);
            wf_sample_free(smp);
        }
    }
    if (!stop && rc != SQLITE_DONE)
        stop = wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot read samples");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return stop;
}

typedef struct export_ctx {
    FILE *out;
    wf_strbuf line;
    size_t n;
    int failed; /* our own failure, as opposed to the walk's */
} export_ctx;

static int export_one(void *p, const wf_sample *smp)
{
    export_ctx *x = p;
    wf_strbuf_reset(&x->line);
    wf_sample_to_jsonl(smp, &x->line);
    if (x->line.oom)
        return x->failed = WF_ENOMEM;
    if (fwrite(x->line.data, 1, x->line.len, x->out) != x->line.len)
        return x->failed = WF_EIO;
    x->n++;
    return 0;
}

int wf_store_export(wf_store *s, FILE *out, wf_store_split split, size_t *n_written, wf_error *err)
{
    export_ctx x = {.out = out};
    wf_strbuf_init(&x.line);
    int rc = wf_store_foreach_sample(s, split, 0, export_one, &x, err);
    wf_strbuf_free(&x.line);
    if (x.failed == WF_ENOMEM)
        wf_error_set(err, rc, "store %s: export: out of memory", s->path);
    else if (x.failed == WF_EIO)
        wf_error_set(err, rc, "store %s: export: write failed", s->path);
    if (n_written)
        *n_written = x.n;
    return rc;
}

static int scalar(wf_store *s, sqlite3_stmt *st, int64_t *v, const char *what, wf_error *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW ? 0 : wf_store_sqlerr(s, err, wf_store_errcode(rc), what);
}

int wf_store_last_seq(wf_store *s, int64_t *seq, wf_error *err)
{
    return scalar(s, s->stmt[ST_LAST_SEQ], seq, "cannot read sequence", err);
}

int wf_store_count_since(wf_store *s, int64_t after_seq, int64_t *n, wf_error *err)
{
    sqlite3_bind_int64(s->stmt[ST_COUNT_SINCE], 1, after_seq);
    return scalar(s, s->stmt[ST_COUNT_SINCE], n, "cannot count samples", err);
}
