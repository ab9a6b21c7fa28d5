/* The durable store (DESIGN §4): one SQLite database in WAL mode holding
 * samples, conversation state, neutral turns pending hindsight, per-user
 * daily counters and model registry rows.
 *
 * A wf_store is owned by whoever opened it (wf_store_close) and is used by one
 * thread at a time, except wf_store_counts_get and the metrics collector,
 * which read atomic counters and may run on any thread. One store file has
 * one writing process: the in-memory counts assume nobody else writes it.
 *
 * Writes between wf_store_begin and wf_store_commit form one transaction;
 * a write outside a batch is its own transaction. A failed write returns a
 * negative wf_err; inside an explicit batch it leaves the batch open for the
 * caller to roll back. wf_store_batch_full tells the caller when to commit:
 * the store never commits a batch by itself.
 * Blobs and strings passed in are copied; those handed out are owned by the
 * caller, as each function says. */
#ifndef WILDFEED_STORE_H
#define WILDFEED_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wildfeed/config.h"
#include "wildfeed/err.h"
#include "wildfeed/sample.h"
#include "wildfeed/strbuf.h"

typedef struct wf_store wf_store;

typedef enum wf_store_sync {
    WF_STORE_SYNC_OFF = 0, /* no fsync: a power loss may lose recent batches */
    WF_STORE_SYNC_NORMAL,  /* WAL default: durable across process crashes */
    WF_STORE_SYNC_FULL     /* fsync on every commit */
} wf_store_sync;

typedef struct wf_store_options {
    const char *path; /* borrowed for the duration of wf_store_open */
    wf_store_sync synchronous;
    int batch_max;       /* items per transaction before wf_store_batch_full says so */
    int busy_timeout_ms; /* wait this long for a lock held by another connection */
    int quick_check;     /* run PRAGMA quick_check at open (cost: reads the whole file) */
} wf_store_options;

/* Defaults of the store.* keys with the given path. */
void wf_store_options_default(wf_store_options *o, const char *path);
/* Fills o from the store.* keys of cfg; o->path borrows from cfg. */
void wf_store_options_from_config(wf_store_options *o, const wf_config *cfg);

/* Opens or creates the store and brings its schema up to date. Errors name
 * the path: a missing or unwritable directory (WF_EIO), a file that is not a
 * SQLite database or fails quick_check (WF_ECORRUPT), a schema newer than
 * this build (WF_ESTATE). */
int wf_store_open(const wf_store_options *o, wf_store **out, wf_error *err);
/* Closes the store; an open batch is rolled back. NULL is a no-op. */
void wf_store_close(wf_store *s);

/* Schema version recorded in the file (PRAGMA user_version). */
int wf_store_schema_version(wf_store *s, int *version, wf_error *err);
/* The schema version this build writes. */
int wf_store_schema_latest(void);

/* Batches. begin inside a batch and commit/rollback outside one are
 * WF_ESTATE. A failed commit rolls the batch back. */
int wf_store_begin(wf_store *s, wf_error *err);
int wf_store_commit(wf_store *s, wf_error *err);
void wf_store_rollback(wf_store *s);
int wf_store_in_batch(const wf_store *s);
/* Writes in the current batch, and whether they reached store.batch_max. */
size_t wf_store_batch_items(const wf_store *s);
int wf_store_batch_full(const wf_store *s);

/* ---- samples ---- */

/* Precedence rank of a label source: explicit 2, refusal 1, the rest 0. */
int wf_store_source_rank(wf_label_source src);

typedef enum wf_store_put_result {
    WF_STORE_KEPT = 0, /* stored row outranks it, or is identical: nothing changed */
    WF_STORE_INSERTED,
    WF_STORE_REPLACED
} wf_store_put_result;

/* Upserts a sample by id: it replaces the stored one when its source rank is
 * >= the stored rank and some field differs. A replaced or inserted row gets
 * the next sequence number. smp stays the caller's. res may be NULL. */
int wf_store_put_sample(wf_store *s, const wf_sample *smp, wf_store_put_result *res, wf_error *err);
/* *exists = 1 when a sample with this id is stored. Lets a quota charge a
 * turn once: a replayed sample is already there and costs nothing again. */
int wf_store_has_sample(wf_store *s, const char *id, int *exists, wf_error *err);
/* Loads a sample (*out owned by the caller: wf_sample_free); WF_ENOTFOUND. */
int wf_store_get_sample(wf_store *s, const char *id, wf_sample **out, wf_error *err);

typedef enum wf_store_split { WF_STORE_ALL = 0, WF_STORE_TRAIN, WF_STORE_EVAL } wf_store_split;
/* Parses "all", "train", "eval"; -1 when unknown. */
int wf_store_split_parse(const char *name);

/* Calls fn for each sample of split whose sequence number is > after_seq, in
 * id order. The sample is borrowed for the call; fn must not write to the
 * store. A non-zero return from fn stops the walk and is returned. */
typedef int (*wf_store_sample_fn)(void *ctx, const wf_sample *smp);
int wf_store_foreach_sample(wf_store *s, wf_store_split split, int64_t after_seq,
                            wf_store_sample_fn fn, void *ctx, wf_error *err);

/* Writes the samples of split as WildFB JSONL (wf_sample_to_jsonl), in id
 * order; *n_written (may be NULL) gets the line count. */
int wf_store_export(wf_store *s, FILE *out, wf_store_split split, size_t *n_written, wf_error *err);

/* Highest sequence number given so far (0 for an empty store), and how many
 * samples were inserted or replaced after a given one: "new since X". */
int wf_store_last_seq(wf_store *s, int64_t *seq, wf_error *err);
int wf_store_count_since(wf_store *s, int64_t after_seq, int64_t *n, wf_error *err);

/* Calls fn for at most limit samples with after_seq < seq <= upto_seq, in
 * sequence order: a replaced sample comes once, at its new number. The
 * sample is borrowed for the call; fn must not use the store. A non-zero
 * return from fn stops the walk and is returned. */
typedef int (*wf_store_seq_fn)(void *ctx, int64_t seq, const wf_sample *smp);
int wf_store_walk_seq(wf_store *s, int64_t after_seq, int64_t upto_seq, size_t limit,
                      wf_store_seq_fn fn, void *ctx, wf_error *err);

/* Named cursors in the sample sequence (a consumer's "done up to seq"),
 * written in the open batch like any other write. get gives 0 for a name
 * never put. */
int wf_store_cursor_get(wf_store *s, const char *name, int64_t *seq, wf_error *err);
int wf_store_cursor_put(wf_store *s, const char *name, int64_t seq, wf_error *err);

/* Committed sample counts, kept in memory (loaded at open, updated at
 * commit), so reading them costs no query. */
typedef struct wf_store_counts {
    uint64_t total;
    uint64_t by_split[2];             /* [0] train, [1] eval */
    uint64_t by_label[5];             /* [1..4]; [0] unused */
    uint64_t by_source[WF_SRC_COUNT]; /* wf_label_source order */
    uint64_t puts[3];                 /* wf_store_put_result order */
    uint64_t commits, rollbacks;
} wf_store_counts;
void wf_store_counts_get(const wf_store *s, wf_store_counts *out);

/* Metrics collector (wf_metrics_register(wf_store_collect, store)):
 * wf_store_samples{split=...}, wf_store_samples_by_label{label=...},
 * wf_store_samples_by_source{source=...}, wf_store_puts_total{result=...},
 * wf_store_commits_total, wf_store_rollbacks_total. */
void wf_store_collect(void *store, wf_strbuf *out);

/* ---- conversation state (message events): opaque blobs ---- */

int wf_store_conv_put(wf_store *s, const char *conversation_id, const void *blob, size_t len,
                      int64_t last_seen, wf_error *err);
/* *blob is malloc'd for the caller (NULL when len is 0); last_seen may be
 * NULL; WF_ENOTFOUND when absent. */
int wf_store_conv_get(wf_store *s, const char *conversation_id, void **blob, size_t *len,
                      int64_t *last_seen, wf_error *err);
/* Deleting an absent conversation is not an error. */
int wf_store_conv_delete(wf_store *s, const char *conversation_id, wf_error *err);
/* Calls fn for every stored conversation, least recently seen first (so a
 * cache restored in this order ends with the newest as most recent). The
 * blob is borrowed for the call; fn must not write to the store; a non-zero
 * return stops the walk and is returned. */
typedef int (*wf_store_conv_fn)(void *ctx, const char *conversation_id, const void *blob,
                                size_t len, int64_t last_seen);
int wf_store_conv_foreach(wf_store *s, wf_store_conv_fn fn, void *ctx, wf_error *err);
/* Deletes state last seen before `before`; *n (may be NULL) gets the count. */
int wf_store_conv_expire(wf_store *s, int64_t before, size_t *n, wf_error *err);

/* ---- neutral turns pending hindsight: opaque blobs by sample id ---- */

int wf_store_pending_put(wf_store *s, const char *sample_id, const char *conversation_id,
                         const void *blob, size_t len, int64_t at, wf_error *err);
int wf_store_pending_get(wf_store *s, const char *sample_id, void **blob, size_t *len,
                         wf_error *err);
int wf_store_pending_delete(wf_store *s, const char *sample_id, wf_error *err);
/* Calls fn for each pending turn of a conversation (of every conversation
 * when conversation_id is NULL) in the order they were first put; the blob is
 * borrowed for the call; fn must not write to the store; a non-zero return
 * stops the walk and is returned. */
typedef int (*wf_store_blob_fn)(void *ctx, const char *key, const void *blob, size_t len);
int wf_store_pending_foreach(wf_store *s, const char *conversation_id, wf_store_blob_fn fn,
                             void *ctx, wf_error *err);
int wf_store_pending_expire(wf_store *s, int64_t before, size_t *n, wf_error *err);

/* ---- per-user daily counters (quota) ---- */

/* UTC day number of a unix time. */
int64_t wf_store_day(int64_t unix_s);
/* Adds one to (user_id, day) and returns the new value in *count; inside a
 * batch it is undone by a rollback like every other write. */
int wf_store_user_count_incr(wf_store *s, const char *user_id, int64_t day, int64_t *count,
                             wf_error *err);
/* *count is 0 when the pair was never counted. */
int wf_store_user_count_get(wf_store *s, const char *user_id, int64_t day, int64_t *count,
                            wf_error *err);
/* Deletes counters of days before before_day. */
int wf_store_user_count_prune(wf_store *s, int64_t before_day, size_t *n, wf_error *err);

/* ---- model registry rows ---- */

typedef enum wf_store_model_status {
    WF_STORE_MODEL_CANDIDATE = 0,
    WF_STORE_MODEL_ACTIVE,
    WF_STORE_MODEL_PROMOTED,
    WF_STORE_MODEL_REJECTED,
    WF_STORE_MODEL_STATUS_COUNT
} wf_store_model_status;

const char *wf_store_model_status_name(wf_store_model_status st);
/* Returns the status for a name, or -1. */
int wf_store_model_status_parse(const char *name);

typedef struct wf_store_model {
    char version[64];
    char kind[32];
    char parent[64]; /* "" for none */
    wf_store_model_status status;
    int64_t created_at;
    int64_t samples;
    int64_t users;
    char *metrics; /* JSON object text, owned by the struct; NULL means {} */
} wf_store_model;

/* Frees m->metrics and zeroes m. */
void wf_store_model_clear(wf_store_model *m);
/* Inserts a new row: WF_EINVAL when the version exists or metrics is not a
 * JSON object. */
int wf_store_model_insert(wf_store *s, const wf_store_model *m, wf_error *err);
/* Rewrites every field of the row with m->version; WF_ENOTFOUND. */
int wf_store_model_update(wf_store *s, const wf_store_model *m, wf_error *err);
/* Fills *out (clear it with wf_store_model_clear); WF_ENOTFOUND. */
int wf_store_model_get(wf_store *s, const char *version, wf_store_model *out, wf_error *err);
/* All rows by created_at then version; *out owned by the caller
 * (wf_store_model_list_free). */
int wf_store_model_list(wf_store *s, wf_store_model **out, size_t *n, wf_error *err);
void wf_store_model_list_free(wf_store_model *list, size_t n);

#endif
