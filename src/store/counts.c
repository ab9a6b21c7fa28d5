/* Sample counts by split, label and source: loaded once at open, then kept
 * current from each committed batch, so /metrics never scans the table. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "wildfeed/metrics.h"

static const char *const split_names[2] = {"train", "eval"};
static const char *const put_names[3] = {"kept", "inserted", "replaced"};

int wf_store_counts_load(wf_store *s, wf_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT split, label, source, count(*) FROM samples GROUP BY 1, 2, 3",
                           -1, &st, NULL) != SQLITE_OK)
        return wf_store_sqlerr(s, err, 0, "cannot count samples");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t n = (uint64_t)sqlite3_column_int64(st, 3);
        int eval = strcmp((const char *)sqlite3_column_text(st, 0), "eval") == 0;
        int label = sqlite3_column_int(st, 1);
        int src = wf_label_source_parse((const char *)sqlite3_column_text(st, 2));
        s->total += n;
        s->by_split[eval] += n;
        if (label >= 1 && label <= 4)
            s->by_label[label] += n;
        if (src >= 0)
            s->by_source[src] += n;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot count samples");
    return 0;
}

/* Unsigned atomics wrap, so adding a negative delta as uint64_t subtracts. */
void wf_store_delta_apply(wf_store *s)
{
    const wf_store_delta *d = &s->delta;
    atomic_fetch_add(&s->total, (uint64_t)d->total);
    for (int i = 0; i < 2; i++)
        atomic_fetch_add(&s->by_split[i], (uint64_t)d->by_split[i]);
    for (int i = 0; i < 5; i++)
        atomic_fetch_add(&s->by_label[i], (uint64_t)d->by_label[i]);
    for (int i = 0; i < WF_SRC_COUNT; i++)
        atomic_fetch_add(&s->by_source[i], (uint64_t)d->by_source[i]);
    for (int i = 0; i < 3; i++)
        atomic_fetch_add(&s->puts[i], (uint64_t)d->puts[i]);
}

void wf_store_counts_get(const wf_store *s, wf_store_counts *out)
{
    wf_store *m = (wf_store *)s; /* atomic loads take non-const pointers */
    out->total = atomic_load(&m->total);
    for (int i = 0; i < 2; i++)
        out->by_split[i] = atomic_load(&m->by_split[i]);
    for (int i = 0; i < 5; i++)
        out->by_label[i] = atomic_load(&m->by_label[i]);
    for (int i = 0; i < WF_SRC_COUNT; i++)
        out->by_source[i] = atomic_load(&m->by_source[i]);
    for (int i = 0; i < 3; i++)
        out->puts[i] = atomic_load(&m->puts[i]);
    out->commits = atomic_load(&m->commits);
    out->rollbacks = atomic_load(&m->rollbacks);
}

static void gauge_family(wf_strbuf *out, const char *name, const char *help, const char *key,
                         const char *const *names, const uint64_t *v, int n, int first)
{
    char labels[64];
    wf_metrics_header(out, name, "gauge", help);
    for (int i = first; i < n; i++) {
        if (names)
            snprintf(labels, sizeof labels, "%s=\"%s\"", key, names[i]);
        else
            snprintf(labels, sizeof labels, "%s=\"%d\"", key, i);
        wf_metrics_line_u64(out, name, labels, v[i]);
    }
}

void wf_store_collect(void *store, wf_strbuf *out)
{
    wf_store_counts c;
    wf_store_counts_get(store, &c);
    const char *src_names[WF_SRC_COUNT];
    for (int i = 0; i < WF_SRC_COUNT; i++)
        src_names[i] = wf_label_source_name((wf_label_source)i);
    gauge_family(out, "wf_store_samples", "Samples in the store by split.", "split", split_names,
                 c.by_split, 2, 0);
    gauge_family(out, "wf_store_samples_by_label", "Samples in the store by label.", "label", NULL,
                 c.by_label, 5, 1);
    gauge_family(out, "wf_store_samples_by_source", "Samples in the store by label source.",
                 "source", src_names, c.by_source, WF_SRC_COUNT, 0);
    wf_metrics_header(out, "wf_store_puts_total", "counter", "Committed sample puts by result.");
    for (int i = 0; i < 3; i++) {
        char labels[32];
        snprintf(labels, sizeof labels, "result=\"%s\"", put_names[i]);
        wf_metrics_line_u64(out, "wf_store_puts_total", labels, c.puts[i]);
    }
    wf_metrics_header(out, "wf_store_commits_total", "counter", "Committed batches.");
    wf_metrics_line_u64(out, "wf_store_commits_total", NULL, c.commits);
    wf_metrics_header(out, "wf_store_rollbacks_total", "counter", "Rolled back batches.");
    wf_metrics_line_u64(out, "wf_store_rollbacks_total", NULL, c.rollbacks);
}
