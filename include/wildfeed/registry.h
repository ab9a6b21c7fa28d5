/* The model registry (DESIGN §6, §7): one folder per model version under a
 * root (model.dir), each holding the backend's weight files and meta.json,
 * and a CURRENT file naming the active version.
 *
 * A version folder appears whole or not at all: it is written under a hidden
 * temporary name, fsynced and renamed into place. CURRENT is replaced the same
 * way (CURRENT.tmp, fsync, rename, fsync of the root), so a reader always
 * finds the old or the new name, never a mix. Loading goes through
 * wf_model_load_dir, which checks the sha256 of every file meta.json lists.
 *
 * meta.json: {"version","kind","head","parent","created_at","samples","users",
 * "label_counts":{"1":n,..,"4":n},"metrics":{...},"files":{"<name>":"<sha256>"},
 * "status","trained_seq"}. status is the gate's verdict (promoted, rejected or
 * candidate); "active" is not stored but derived from CURRENT when listing.
 * trained_seq is the store sequence number the version was trained up to.
 *
 * TRAINING records the trainer's attempts (wf_registry_attempts_read).
 *
 * PENDING names a promoted version between its save and its activation: a
 * crash there would leave it promoted but never served. Every activation
 * removes PENDING, and opening the registry as its writer activates the
 * version it names once that version's files check out.
 *
 * A wf_registry is owned by its opener (wf_registry_free). Its calls are
 * serialised by an internal mutex, so the trainer thread and the scoring
 * server's admin endpoint may share one. When opened with a store path it
 * keeps its own store connection and mirrors every version as a row of the
 * store's model table (status "active" for the current one). One process
 * should write a registry at a time. */
#ifndef WILDFEED_REGISTRY_H
#define WILDFEED_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/eval.h"
#include "wildfeed/model.h"
#include "wildfeed/store.h"
#include "wildfeed/strbuf.h"

#define WF_VERSION_MAX 64

typedef struct wf_model_meta {
    char version[WF_VERSION_MAX]; /* empty at save: the registry names it */
    char kind[32];                /* backend; empty at save: the model's ops->kind */
    char head[16];                /* empty at save: the model's head */
    char parent[WF_VERSION_MAX];  /* the version active when it was trained, or "" */
    int64_t created_at;           /* unix seconds */
    int64_t samples;              /* training examples */
    int64_t users;                /* distinct users among them */
    int64_t label_counts[WF_LABELS];
    int64_t trained_seq;
    wf_eval_metrics metrics;      /* on the eval split at training time */
    wf_store_model_status status; /* CANDIDATE, PROMOTED or REJECTED */
} wf_model_meta;

typedef struct wf_registry wf_registry;

/* Opens (creating the folder if needed) the registry at root as its writer:
 * a promotion left PENDING by a crash is finished, unless another process
 * holds the trainer's claim (it is alive, and finishes it itself).
 * store_path may be NULL: then no store rows are kept. Both strings are
 * copied. */
int wf_registry_open(const char *root, const char *store_path, wf_registry **out, wf_error *err);
/* Opens a registry that another process writes (model.follow_interval_s),
 * leaving PENDING to it: reading it changes nothing in model.dir, and the
 * calls that would write it (save, activate, prune, claim) are WF_ESTATE. */
int wf_registry_open_follower(const char *root, const char *store_path, wf_registry **out,
                              wf_error *err);
void wf_registry_free(wf_registry *r);
const char *wf_registry_root(const wf_registry *r);

/* A fresh version name for time now: "YYYYMMDDTHHMMSSZ-<6 hex>", so names
 * sort by creation time. */
void wf_registry_version_name(int64_t now, char out[WF_VERSION_MAX]);

/* Saves m as a new version described by meta (version, kind and head filled
 * in when empty; meta is updated). Does not activate it, but a promoted
 * version is written to PENDING, to be activated at the next open unless an
 * activation or wf_registry_drop_pending comes first. A version that already
 * exists is WF_EINVAL. */
int wf_registry_save(wf_registry *r, const wf_model *m, wf_model_meta *meta, wf_error *err);
/* Claims model.dir for this handle's trainer until wf_registry_free: one
 * trainer per registry, across processes (an flock, dropped by the kernel
 * if the process dies). WF_ESTATE when another process holds it. */
int wf_registry_claim_training(wf_registry *r, wf_error *err);

/* The trainer's attempts, kept in model.dir (TRAINING) so that a restart
 * keeps the back-off of failed runs and counts a run the process died in
 * (running_since set) as failed. */
typedef struct wf_train_attempts {
    int failed_in_a_row;   /* runs that failed since the last one that did not */
    int64_t retry_at;      /* unix seconds: no triggered retry before */
    int64_t running_since; /* unix seconds a run started, 0 when none runs */
} wf_train_attempts;

/* Zeroes *out when there is no record; a record that does not parse is
 * WF_ECORRUPT (with *out zeroed). */
int wf_registry_attempts_read(wf_registry *r, wf_train_attempts *out, wf_error *err);
int wf_registry_attempts_write(wf_registry *r, const wf_train_attempts *a, wf_error *err);

/* Forgets the pending promotion of version (one that failed to load back and
 * must not be served); returns 1 when PENDING named it. */
int wf_registry_drop_pending(wf_registry *r, const char *version);

/* The active version's name; WF_ENOTFOUND when there is none. */
int wf_registry_current(wf_registry *r, char out[WF_VERSION_MAX], wf_error *err);
/* Makes a stored version active (any status: the operator may override the
 * gate); WF_ENOTFOUND when it is not stored. */
int wf_registry_activate(wf_registry *r, const char *version, wf_error *err);

/* Reads a version's meta.json; WF_ENOTFOUND, WF_ECORRUPT. */
int wf_registry_meta(wf_registry *r, const char *version, wf_model_meta *out, wf_error *err);
/* Loads a version (the current one when version is NULL); *out is the
 * caller's. meta may be NULL. */
int wf_registry_load(wf_registry *r, const char *version, wf_model **out, wf_model_meta *meta,
                     wf_error *err);
/* wf_registry_load through wf_model_load_dir_like: the loaded version may
 * share like's base (a hot swap reads only adapters and head). like is
 * borrowed and may be NULL. */
int wf_registry_load_like(wf_registry *r, const char *version, const wf_model *like, wf_model **out,
                          wf_model_meta *meta, wf_error *err);

/* Every stored version, oldest first; *out malloc'd for the caller (NULL when
 * n is 0). Folders with an unreadable meta.json are skipped. */
int wf_registry_list(wf_registry *r, wf_model_meta **out, size_t *n, wf_error *err);
/* The newest stored version (any status): the highest trained_seq, then
 * created_at, then name; WF_ENOTFOUND when empty. */
int wf_registry_latest(wf_registry *r, wf_model_meta *out, wf_error *err);
/* {"current":"<version>"|null,"models":[{"version","kind","head","parent",
 * "status","created_at","samples","users","metrics"},...]} oldest first, the
 * GET /v1/models payload; status is "active" for the current version. */
int wf_registry_list_json(wf_registry *r, wf_strbuf *out, wf_error *err);

/* Deletes the oldest versions until keep remain (the active one is never
 * deleted, and counts among the kept), and leftovers of interrupted saves.
 * *removed (may be NULL) gets the number of versions deleted. Store rows are
 * kept as history. */
int wf_registry_prune(wf_registry *r, int keep, size_t *removed, wf_error *err);

#endif
