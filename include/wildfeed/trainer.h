/* Training, the promotion gate and the trainer thread (DESIGN §7).
 *
 * The trainer trains a candidate from the store's samples, evaluates it and
 * the current model on the eval split (plus train.preference_file), asks the
 * gate, saves the candidate in the registry with the verdict, and when it is
 * promoted activates it, through a publish callback when there is one (the
 * daemon's also puts it into the scoring server's slot). One training runs
 * at a time: in the background thread, or synchronously through
 * wf_trainer_run_once (CLI). */
#ifndef WILDFEED_TRAINER_H
#define WILDFEED_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/config.h"
#include "wildfeed/eval.h"
#include "wildfeed/model.h"
#include "wildfeed/registry.h"
#include "wildfeed/strbuf.h"

/* ---- the promotion gate ---- */

/* How much worse than the current model a candidate may be (train.gate.*). */
typedef struct wf_gate_opts {
    double max_accuracy_drop, max_mae_rise, max_ece_rise, max_auc_drop, max_pairwise_drop;
} wf_gate_opts;

void wf_gate_opts_from_config(wf_gate_opts *o, const wf_config *cfg);

/* Checks the gate may fail, as bits of wf_gate_decision.failed. */
enum {
    WF_GATE_ACCURACY = 1 << 0,
    WF_GATE_MAE = 1 << 1,
    WF_GATE_ECE = 1 << 2,
    WF_GATE_AUC = 1 << 3,
    WF_GATE_PAIRWISE = 1 << 4,
    WF_GATE_NO_EVAL = 1 << 5 /* the candidate was evaluated on nothing */
};

typedef struct wf_gate_decision {
    int promote;
    int failed;       /* WF_GATE_* bits */
    char reason[512]; /* "no current model", "within tolerances" or the failed checks */
} wf_gate_decision;

/* Decides candidate against current (NULL: no current model, promote). A
 * check is skipped when either value is not a number (an AUC with one class
 * only); pairwise accuracy is compared only when both scored pairs. A value
 * exactly at the tolerance passes. */
void wf_gate_decide(const wf_gate_opts *o, const wf_eval_metrics *candidate,
                    const wf_eval_metrics *current, wf_gate_decision *out);

/* 1 when a current model whose loading or scoring failed with rc cannot
 * come back by waiting (corrupt, missing, refused): the gate then compares
 * the candidate against none, so that a good one replaces it. 0 for what
 * may pass (memory, I/O, a timeout): the run fails rather than let a
 * candidate in unjudged. */
int wf_gate_current_unusable(int rc);

/* ---- trigger logic ---- */

typedef enum wf_trigger {
    WF_TRIGGER_NONE = 0,
    WF_TRIGGER_REQUEST, /* explicit: admin endpoint, manual */
    WF_TRIGGER_COUNT,   /* train.min_new_samples new samples */
    WF_TRIGGER_INTERVAL /* train.interval_s elapsed and some new sample */
} wf_trigger;

const char *wf_trigger_name(wf_trigger t);

typedef struct wf_trigger_state {
    int64_t total;        /* samples in the store */
    int64_t new_samples;  /* inserted or replaced since the last attempt */
    int64_t last_attempt; /* unix seconds of the last run that did not fail, 0 for never */
    int64_t retry_at;     /* unix seconds: a failed run is not retried before (0: none) */
    int requested;
} wf_trigger_state;

typedef struct wf_trigger_opts {
    int64_t min_samples, min_new_samples, interval_s;
} wf_trigger_opts;

void wf_trigger_opts_from_config(wf_trigger_opts *o, const wf_config *cfg);
/* What, if anything, should start a training at time now. A request always
 * does (the run itself reports too few samples); the others need
 * train.min_samples samples in all. */
wf_trigger wf_trigger_check(const wf_trigger_opts *o, const wf_trigger_state *s, int64_t now);
/* Seconds before a failed run is retried, after failed_before failures in a
 * row already: 60, doubling each time, at most train.interval_s. */
int64_t wf_trigger_retry_delay(const wf_trigger_opts *o, int failed_before);

/* ---- a training run ---- */

typedef enum wf_train_result {
    WF_TRAIN_SKIPPED = 0, /* too few samples: nothing trained */
    WF_TRAIN_PROMOTED,
    WF_TRAIN_REJECTED
} wf_train_result;

const char *wf_train_result_name(wf_train_result r);

typedef struct wf_train_outcome {
    wf_train_result result;
    char version[WF_VERSION_MAX];       /* the saved candidate; "" when skipped */
    char parent[WF_VERSION_MAX];        /* active when training began; "" for none */
    int has_current;                    /* 1 when the parent was loaded and evaluated */
    char reason[512];                   /* the gate's reason, or why it was skipped */
    wf_eval_metrics candidate, current; /* current valid when has_current */
    wf_train_report report;
    size_t n_train, n_valid, n_eval; /* fitted on, early-stopped on, judged on */
    int64_t trained_seq;
    double seconds; /* the whole run */
} wf_train_outcome;

/* Called with a promoted version and the model loaded back from the
 * registry; makes it active (wf_registry_activate) and serving, as one step
 * with respect to the caller's other activations; takes ownership of m
 * (also on error). Without a publish callback the trainer activates the
 * version itself. */
typedef int (*wf_trainer_publish_fn)(void *ctx, const char *version, wf_model *m, wf_error *err);

typedef struct wf_trainer wf_trainer;

/* cfg is copied where needed (the model.*, train.* keys); store_path and
 * reg are borrowed and must outlive the trainer; publish may be NULL. */
int wf_trainer_new(const wf_config *cfg, const char *store_path, wf_registry *reg,
                   wf_trainer_publish_fn publish, void *publish_ctx, wf_trainer **out,
                   wf_error *err);
/* Stops the thread if running, then frees. NULL is a no-op. */
void wf_trainer_free(wf_trainer *t);

/* Where a run finds the model being served, to train on what it can share
 * (a transformer's base weights and their GPU copy) rather than loading
 * them again: acquire returns it, or NULL, with a handle that release
 * takes back after training. */
typedef struct wf_trainer_served {
    const wf_model *(*acquire)(void *ctx, const void **hold);
    void (*release)(void *ctx, const void *hold);
    void *ctx;
} wf_trainer_served;

/* Before wf_trainer_start; s is copied. */
void wf_trainer_set_served(wf_trainer *t, const wf_trainer_served *s);

/* One training run now, on the calling thread; WF_ESTATE when another run is
 * in progress, WF_ECANCELED after wf_trainer_cancel. Errors (store,
 * training, registry; a current model that exists but cannot be evaluated
 * for a reason that may pass) are returned; a skip or a rejection is a
 * successful run. A current model that is corrupt or missing is judged
 * against as if there were none. */
int wf_trainer_run_once(wf_trainer *t, const char *reason, wf_train_outcome *out, wf_error *err);

/* The background thread: it polls the triggers every poll_ms and on a
 * request. After a failed run, the samples it did not train on stay new,
 * and the triggers retry it 60 s later, then after twice as long each time
 * it fails again, up to train.interval_s; a request retries at once. */
int wf_trainer_start(wf_trainer *t, int poll_ms, wf_error *err);
/* Asks for a training soon; returns at once. WF_ESTATE when the thread is
 * not running or the trainer was cancelled. */
int wf_trainer_request(wf_trainer *t, const char *reason);
/* Makes a run in progress stop before its next optimiser step or its next
 * evaluation batch (it returns WF_ECANCELED, saves nothing and counts as no
 * run), and every later run likewise (the thread starts none): for a
 * shutdown, which then need not wait out a training. It stays in force
 * until wf_trainer_start. Returns at once; any thread. */
void wf_trainer_cancel(wf_trainer *t);
/* Cancels (wf_trainer_cancel), waits for the run in progress to end, then
 * joins the thread. Later requests answer WF_ESTATE. */
void wf_trainer_stop(wf_trainer *t);
/* 1 while a run is in progress. */
int wf_trainer_busy(wf_trainer *t);
/* The back-off of failed runs: how many failed in a row, and the unix time
 * before which no triggered run starts (0: none). It survives restarts
 * (model.dir/TRAINING), and a run the process died in counts as failed. */
void wf_trainer_backoff(wf_trainer *t, int *failed_in_a_row, int64_t *retry_at);

/* The outcome as text lines (CLI) / as one JSON object. */
void wf_train_outcome_text(const wf_train_outcome *o, wf_strbuf *out);
void wf_train_outcome_json(const wf_train_outcome *o, wf_strbuf *out);

/* Metrics collector (wf_metrics_register(wf_trainer_collect, trainer)):
 * wf_train_runs_total, wf_train_failures_total, wf_train_promotions_total,
 * wf_train_rejections_total, wf_train_skips_total, wf_train_running,
 * wf_train_last_duration_seconds, wf_train_last_success_timestamp_seconds. */
void wf_trainer_collect(void *trainer, wf_strbuf *out);

#endif
