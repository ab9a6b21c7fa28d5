/* The trainer: one run at a time, on demand (CLI, admin endpoint) or from a
 * background thread that watches the store for the triggers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/trainer_internal.h"
#include "wildfeed/log.h"
#include "wildfeed/metrics.h"

const char *wf_train_result_name(wf_train_result r)
{
    switch (r) {
    case WF_TRAIN_PROMOTED: return "promoted";
    case WF_TRAIN_REJECTED: return "rejected";
    case WF_TRAIN_SKIPPED: break;
    }
    return "skipped";
}

static int copy_config(wf_trainer *t, const wf_config *cfg, const char *store_path)
{
    t->kind = strdup(wf_config_str(cfg, "model.kind"));
    t->pref_file = strdup(wf_config_str(cfg, "train.preference_file"));
    t->store_path = strdup(store_path);
    if (!t->kind || !t->pref_file || !t->store_path)
        return WF_ENOMEM;
    wf_store_options_from_config(&t->store_opts, cfg);
    t->store_opts.path = t->store_path;
    t->store_opts.quick_check = 0;
    wf_train_opts_from_config(&t->train_opts, cfg);
    wf_gate_opts_from_config(&t->gate, cfg);
    wf_trigger_opts_from_config(&t->trigger, cfg);
    t->keep_versions = (int)wf_config_int(cfg, "train.keep_versions");
    t->valid_fraction = wf_config_double(cfg, "train.validation_fraction");
    return 0;
}

static int cancel_raised(void *trainer)
{
    return atomic_load(&((wf_trainer *)trainer)->cancel);
}

int wf_trainer_check_cancel(wf_trainer *t, wf_error *err)
{
    return cancel_raised(t) ? wf_error_set(err, WF_ECANCELED, "training cancelled: shutting down")
                            : 0;
}

/* Records the attempts for the next process; running_since is the start of
 * the run now going, or 0. A failed write only costs the record. */
static void save_attempts(wf_trainer *t, int64_t running_since)
{
    pthread_mutex_lock(&t->mu);
    wf_train_attempts a = {t->failed_in_a_row, t->retry_at, running_since};
    pthread_mutex_unlock(&t->mu);
    wf_error err;
    if (wf_registry_attempts_write(t->reg, &a, &err) < 0)
        wf_log(WF_LOG_WARN, "training attempts not recorded", "error", err.msg, NULL);
}

/* Brings back the back-off of the last process. A run it died in (out of
 * memory, a kill) counts as failed, so that such a run is not retried at
 * every start, each time taking the process and its ingestion down. */
static void restore_attempts(wf_trainer *t)
{
    wf_train_attempts a;
    wf_error err;
    if (wf_registry_attempts_read(t->reg, &a, &err) < 0) {
        wf_log(WF_LOG_WARN, "training attempts unreadable; back-off reset", "error", err.msg, NULL);
        return;
    }
    t->failed_in_a_row = a.failed_in_a_row;
    t->retry_at = a.retry_at;
    if (a.running_since == 0)
        return;
    int64_t now = (int64_t)time(NULL);
    t->retry_at = now + wf_trigger_retry_delay(&t->trigger, t->failed_in_a_row++);
    char delay[24];
    snprintf(delay, sizeof delay, "%lld", (long long)(t->retry_at - now));
    wf_log(WF_LOG_WARN,
           "the last training did not finish (the process ended during it); "
           "counted as failed",
           "retry_in_s", delay, NULL);
    save_attempts(t, 0); /* counted once: a restart during the back-off does not count it again */
}

int wf_trainer_new(const wf_config *cfg, const char *store_path, wf_registry *reg,
                   wf_trainer_publish_fn publish, void *publish_ctx, wf_trainer **out,
                   wf_error *err)
{
    *out = NULL;
    wf_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->wake, NULL);
    if (copy_config(t, cfg, store_path) < 0) {
        wf_trainer_free(t);
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    }
    t->train_opts.cancelled = cancel_raised;
    t->train_opts.cancel_ctx = t;
    t->reg = reg;
    int rc = wf_registry_claim_training(reg, err);
    if (rc < 0) {
        wf_trainer_free(t);
        return rc;
    }
    t->publish = publish;
    t->publish_ctx = publish_ctx;
    /* The newest version, whatever its verdict, tells what was already
     * trained on: a restart does not retrain on the same samples. */
    wf_model_meta latest;
    if (wf_registry_latest(reg, &latest, NULL) == 0) {
        t->base_seq = latest.trained_seq;
        t->last_attempt = latest.created_at;
    }
    restore_attempts(t);
    *out = t;
    return 0;
}

void wf_trainer_set_served(wf_trainer *t, const wf_trainer_served *s)
{
    t->served = *s;
}

void wf_trainer_free(wf_trainer *t)
{
    if (!t)
        return;
    wf_trainer_stop(t);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->mu);
    free(t->kind);
    free(t->pref_file);
    free(t->store_path);
    free(t);
}

/* A cancelled run is not counted: it was neither a success nor a fault. */
static void count_run(wf_trainer *t, int rc, const wf_train_outcome *o)
{
    if (rc == WF_ECANCELED)
        return;
    t->runs++;
    t->last_duration_us = (uint64_t)(o->seconds * 1e6);
    if (rc < 0) {
        t->failures++;
        return;
    }
    t->last_success_at = (int64_t)time(NULL);
    if (o->result == WF_TRAIN_PROMOTED)
        t->promotions++;
    else if (o->result == WF_TRAIN_REJECTED)
        t->rejections++;
    else
        t->skips++;
}

static void log_run(const char *reason, int rc, const wf_train_outcome *o, const wf_error *err)
{
    if (rc == WF_ECANCELED) {
        wf_log(WF_LOG_WARN, "training cancelled, nothing saved", "trigger", reason, "error",
               err->msg, NULL);
        return;
    }
    if (rc < 0) {
        wf_log(WF_LOG_ERROR, "training failed", "trigger", reason, "error", err->msg, NULL);
        return;
    }
    wf_log(WF_LOG_INFO, "training finished", "trigger", reason, "result",
           wf_train_result_name(o->result), "version", o->version, "reason", o->reason, NULL);
}

/* With the mutex held. */
static void note_success(wf_trainer *t, int64_t seq)
{
    if (seq > t->base_seq)
        t->base_seq = seq;
    t->last_attempt = (int64_t)time(NULL);
    t->failed_in_a_row = 0;
    t->retry_at = 0;
}

/* With the mutex held. The samples of a failed run stay new, so the
 * triggers would retry it at the next poll without the back-off. The last
 * attempt stays the last that did not fail, or the interval trigger would
 * wait train.interval_s again rather than the back-off. */
static void note_failure(wf_trainer *t)
{
    int64_t now = (int64_t)time(NULL);
    t->retry_at = now + wf_trigger_retry_delay(&t->trigger, t->failed_in_a_row++);
}

int wf_trainer_run_claimed(wf_trainer *t, const char *reason, int64_t seen_seq,
                           wf_train_outcome *out, wf_error *err)
{
    wf_log(WF_LOG_INFO, "training started", "trigger", reason, NULL);
    save_attempts(t, (int64_t)time(NULL));
    int rc = wf_trainer_train(t, out, err);
    count_run(t, rc, out);
    log_run(reason, rc, out, err);
    pthread_mutex_lock(&t->mu);
    if (rc == 0)
        note_success(t, out->trained_seq ? out->trained_seq : seen_seq);
    else if (rc != WF_ECANCELED)
        note_failure(t);
    t->busy = 0;
    pthread_cond_broadcast(&t->wake);
    pthread_mutex_unlock(&t->mu);
    save_attempts(t, 0);
    return rc;
}

void wf_trainer_backoff(wf_trainer *t, int *failed_in_a_row, int64_t *retry_at)
{
    pthread_mutex_lock(&t->mu);
    *failed_in_a_row = t->failed_in_a_row;
    *retry_at = t->retry_at;
    pthread_mutex_unlock(&t->mu);
}

int wf_trainer_run_once(wf_trainer *t, const char *reason, wf_train_outcome *out, wf_error *err)
{
    pthread_mutex_lock(&t->mu);
    int busy = t->busy;
    t->busy = 1;
    pthread_mutex_unlock(&t->mu);
    if (busy)
        return wf_error_set(err, WF_ESTATE, "a training is already running");
    return wf_trainer_run_claimed(t, reason ? reason : "manual", 0, out, err);
}

void wf_trainer_cancel(wf_trainer *t)
{
    atomic_store(&t->cancel, 1);
}

int wf_trainer_busy(wf_trainer *t)
{
    pthread_mutex_lock(&t->mu);
    int busy = t->busy;
    pthread_mutex_unlock(&t->mu);
    return busy;
}

void wf_trainer_collect(void *trainer, wf_strbuf *out)
{
    wf_trainer *t = trainer;
    wf_metrics_header(out, "wf_train_runs_total", "counter", "Training runs finished.");
    wf_metrics_line_u64(out, "wf_train_runs_total", NULL, t->runs);
    wf_metrics_header(out, "wf_train_failures_total", "counter", "Training runs that failed.");
    wf_metrics_line_u64(out, "wf_train_failures_total", NULL, t->failures);
    wf_metrics_header(out, "wf_train_promotions_total", "counter", "Candidates the gate promoted.");
    wf_metrics_line_u64(out, "wf_train_promotions_total", NULL, t->promotions);
    wf_metrics_header(out, "wf_train_rejections_total", "counter", "Candidates the gate rejected.");
    wf_metrics_line_u64(out, "wf_train_rejections_total", NULL, t->rejections);
    wf_metrics_header(out, "wf_train_skips_total", "counter", "Runs skipped for too few samples.");
    wf_metrics_line_u64(out, "wf_train_skips_total", NULL, t->skips);
    wf_metrics_header(out, "wf_train_running", "gauge", "1 while a training runs.");
    wf_metrics_line_u64(out, "wf_train_running", NULL, (uint64_t)wf_trainer_busy(t));
    wf_metrics_header(out, "wf_train_last_duration_seconds", "gauge",
                      "Duration of the last training run.");
    wf_metrics_line_f64(out, "wf_train_last_duration_seconds", NULL,
                        (double)t->last_duration_us / 1e6);
    int failed;
    int64_t retry_at;
    wf_trainer_backoff(t, &failed, &retry_at);
    wf_metrics_header(out, "wf_train_failed_in_a_row", "gauge",
                      "Runs that failed since the last one that did not (the back-off grows).");
    wf_metrics_line_u64(out, "wf_train_failed_in_a_row", NULL, (uint64_t)failed);
    wf_metrics_header(out, "wf_train_retry_at_timestamp_seconds", "gauge",
                      "Unix time before which no triggered run retries a failed one (0: none).");
    wf_metrics_line_f64(out, "wf_train_retry_at_timestamp_seconds", NULL, (double)retry_at);
    wf_metrics_header(out, "wf_train_last_success_timestamp_seconds", "gauge",
                      "Unix time of the last run that did not fail.");
    wf_metrics_line_f64(out, "wf_train_last_success_timestamp_seconds", NULL,
                        (double)t->last_success_at);
}
