/* The trainer's state, shared by the run (trainer_run.c) and the thread
 * (trainer.c). */
#ifndef WF_TRAIN_TRAINER_INTERNAL_H
#define WF_TRAIN_TRAINER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "wildfeed/store.h"
#include "wildfeed/trainer.h"

struct wf_trainer {
    /* what a run needs, copied from the configuration */
    char *kind, *pref_file, *store_path;
    wf_store_options store_opts; /* path points at store_path */
    wf_train_opts train_opts;
    wf_gate_opts gate;
    wf_trigger_opts trigger;
    int keep_versions;
    double valid_fraction; /* train.validation_fraction */
    wf_registry *reg;
    wf_trainer_publish_fn publish;
    void *publish_ctx;
    wf_trainer_served served; /* acquire NULL: nothing shared */

    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t wake;
    int busy, requested, stopping, started;
    int64_t base_seq;     /* store sequence number of the last run that did not fail */
    int64_t last_attempt; /* unix seconds of the last run that did not fail */
    int failed_in_a_row;  /* runs that failed since the last one that did not */
    int64_t retry_at;     /* unix seconds: no triggered retry of a failed run before */
    pthread_t thread;
    int poll_ms;

    _Atomic int cancel; /* set once by wf_trainer_cancel; read by the run */

    _Atomic uint64_t runs, failures, promotions, rejections, skips;
    _Atomic uint64_t last_duration_us;
    _Atomic int64_t last_success_at;
};

/* The training itself: store → examples → train → evaluate → gate → save →
 * activate and publish when promoted → retention. */
int wf_trainer_train(wf_trainer *t, wf_train_outcome *out, wf_error *err);

/* WF_ECANCELED (with err set) once wf_trainer_cancel was called, else 0. */
int wf_trainer_check_cancel(wf_trainer *t, wf_error *err);

/* Runs with busy already set by the caller, then clears it and counts the
 * run. A run that did not fail moves the trigger baseline to its sequence
 * number (seen_seq when it read none); a failed one leaves the baseline and
 * sets retry_at (see wf_trainer_run_claimed); a cancelled one changes
 * nothing. */
int wf_trainer_run_claimed(wf_trainer *t, const char *reason, int64_t seen_seq,
                           wf_train_outcome *out, wf_error *err);

#endif
