/* Private parts of the store shared by its files. */
#ifndef WF_STORE_INTERNAL_H
#define WF_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdatomic.h>

#include "wildfeed/store.h"

/* Prepared once at open, reset after each use. */
enum wf_stmt {
    ST_SAMPLE_OLD,
    ST_SAMPLE_UPSERT,
    ST_SAMPLE_GET,
    ST_LAST_SEQ,
    ST_COUNT_SINCE,
    ST_SAMPLES_BY_SEQ,
    ST_CURSOR_GET,
    ST_CURSOR_PUT,
    ST_CONV_PUT,
    ST_CONV_GET,
    ST_CONV_DELETE,
    ST_CONV_EXPIRE,
    ST_CONV_ALL,
    ST_PENDING_PUT,
    ST_PENDING_GET,
    ST_PENDING_DELETE,
    ST_PENDING_CONV,
    ST_PENDING_ALL,
    ST_PENDING_EXPIRE,
    ST_USER_INCR,
    ST_USER_GET,
    ST_USER_PRUNE,
    ST_MODEL_INSERT,
    ST_MODEL_UPDATE,
    ST_MODEL_GET,
    ST_MODEL_LIST,
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_COUNT
};

/* Column lists shared by statements and the row decoders. */
#define WF_STORE_SAMPLE_COLS                                                                       \
    "id, seq, conversation_id, turn, response_turn, annotation, label, source, split,"             \
    " created_at, user_id, language, model, reason, history, query, response, feedback, text"
#define WF_STORE_MODEL_COLS "version, kind, parent, status, created_at, samples, users, metrics"

/* Count changes of one batch, applied to the atomic counts at commit. */
typedef struct wf_store_delta {
    int64_t total;
    int64_t by_split[2];
    int64_t by_label[5];
    int64_t by_source[WF_SRC_COUNT];
    int64_t puts[3];
} wf_store_delta;

struct wf_store {
    sqlite3 *db;
    char *path;
    int batch_max;
    int in_batch;
    size_t batch_items;
    sqlite3_stmt *stmt[ST_COUNT];
    wf_store_delta delta;
    _Atomic uint64_t total, by_split[2], by_label[5], by_source[WF_SRC_COUNT], puts[3];
    _Atomic uint64_t commits, rollbacks;
};

/* The SQL of each statement, indexed by enum wf_stmt. */
extern const char *const wf_store_sql[ST_COUNT];

/* Records SQLite's error of the last call as code, naming the store path and
 * what was being done; returns code. */
int wf_store_sqlerr(wf_store *s, wf_error *err, int code, const char *what);
/* Maps a SQLite result code to a wf_err code. */
int wf_store_errcode(int rc);

/* Starts an implicit one-write batch when none is open (*began set), so each
 * write is atomic; wf_store_write_end commits it on success or rolls it back,
 * and counts one item in an explicit batch. */
int wf_store_write_begin(wf_store *s, int *began, wf_error *err);
int wf_store_write_end(wf_store *s, int began, int rc, wf_error *err);

/* Runs a statement with no result rows to completion and resets it. */
int wf_store_step_done(wf_store *s, sqlite3_stmt *st, const char *what, wf_error *err);

/* Binds a text or blob of explicit length (copied by SQLite). */
int wf_store_bind_text(sqlite3_stmt *st, int i, const char *v);

/* Builds a sample from a row of WF_STORE_SAMPLE_COLS (*out owned by the
 * caller). */
int wf_store_row_to_sample(wf_store *s, sqlite3_stmt *st, wf_sample **out, wf_error *err);

/* Loads the committed counts from the samples table into s. */
int wf_store_counts_load(wf_store *s, wf_error *err);
/* Applies or drops the batch's count changes. */
void wf_store_delta_apply(wf_store *s);

/* Schema migrations. */
typedef struct wf_store_migration {
    const char *sql; /* brings the schema from version i to i+1 (index i) */
} wf_store_migration;

extern const wf_store_migration wf_store_migrations[];
extern const size_t wf_store_n_migrations;

/* Brings db to version n (the list's length) in one transaction per run.
 * A newer file than n is WF_ESTATE. */
int wf_store_migrate(sqlite3 *db, const char *path, const wf_store_migration *list, size_t n,
                     wf_error *err);
/* Opens with a given migration list (tests add later migrations). */
int wf_store_open_with(const wf_store_options *o, const wf_store_migration *list, size_t n,
                       wf_store **out, wf_error *err);

#endif
