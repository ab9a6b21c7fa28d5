/* One training run (DESIGN §7). It opens its own store connection, so the
 * daemon's ingestion keeps writing beside it (SQLite WAL: one writer, many
 * readers), and serving goes on with the old model until the new one is
 * published. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/examples.h"
#include "train/trainer_internal.h"
#include "wildfeed/log.h"

/* The train split less its validation part fits the candidate, the
 * validation part chooses its epoch, and the eval split, which neither
 * touched, judges it against the current model. */
typedef struct run_data {
    wf_examples train, valid, eval;
    wf_pref_set *prefs;
    wf_model *cand;
    int64_t total;
} run_data;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load_samples(wf_trainer *t, run_data *d, wf_train_outcome *out, wf_error *err)
{
    wf_store *s;
    int rc = wf_store_open(&t->store_opts, &s, err);
    if (rc < 0)
        return rc;
    rc = wf_store_last_seq(s, &out->trained_seq, err);
    if (rc == 0)
        rc = wf_store_count_since(s, 0, &d->total, err);
    if (rc == 0 && d->total >= t->trigger.min_samples) {
        rc = wf_examples_from_store(s, WF_STORE_TRAIN, 0, &d->train, err);
        if (rc == 0)
            rc = wf_examples_from_store(s, WF_STORE_EVAL, 0, &d->eval, err);
    }
    wf_store_close(s);
    if (rc == 0)
        rc = wf_examples_take_validation(&d->train, t->valid_fraction, &d->valid, err);
    out->n_train = d->train.n;
    out->n_valid = d->valid.n;
    out->n_eval = d->eval.n;
    return rc;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct non-empty user ids among the training examples. */
static int64_t count_users(const wf_examples *e)
{
    const char **ids = malloc((e->n ? e->n : 1) * sizeof *ids);
    if (!ids)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        if (e->cands[i]->user_id && e->cands[i]->user_id[0])
            ids[n++] = e->cands[i]->user_id;
    qsort(ids, n, sizeof *ids, by_str);
    int64_t users = 0;
    for (size_t i = 0; i < n; i++)
        users += i == 0 || strcmp(ids[i], ids[i - 1]) != 0;
    free(ids);
    return users;
}

/* Scores the active model on the same data as the candidate. It is loaded
 * like the candidate, so a transformer over the same base shares the
 * candidate's instead of reading it again. */
static int eval_current(wf_trainer *t, const run_data *d, wf_train_outcome *out, wf_error *err)
{
    wf_error e = {0};
    int rc = wf_registry_current(t->reg, out->parent, &e);
    wf_model *cur = NULL;
    if (rc == 0)
        rc = wf_registry_load_like(t->reg, out->parent, d->cand, &cur, NULL, &e);
    if (rc == 0) {
        rc = wf_eval_run_until(cur, d->eval.items, d->eval.n, d->prefs, t->train_opts.cancelled, t,
                               &out->current, &e);
        wf_model_free(cur);
    }
    if (rc == 0) {
        out->has_current = 1;
        return 0;
    }
    if (rc == WF_ENOTFOUND && !out->parent[0])
        return 0; /* no model was ever activated */
    if (!wf_gate_current_unusable(rc))
        return wf_error_set(err, rc,
                            "current model %s not evaluated, the candidate is not judged: %s",
                            out->parent, e.msg);
    wf_log(WF_LOG_WARN, "current model unusable, gate compares against none", "version",
           out->parent, "error", e.msg, NULL);
    return 0;
}

static void fill_meta(const run_data *d, const wf_train_outcome *out, wf_store_model_status st,
                      wf_model_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    snprintf(meta->parent, sizeof meta->parent, "%s", out->parent);
    meta->created_at = (int64_t)time(NULL);
    meta->samples = (int64_t)d->train.n;
    meta->users = count_users(&d->train);
    for (size_t i = 0; i < d->train.n; i++)
        meta->label_counts[d->train.items[i].label - 1]++;
    meta->trained_seq = out->trained_seq;
    meta->metrics = out->candidate;
    meta->status = st;
}

/* Saves the verdict; a promoted version is read back from disk (checksums
 * and all) before it becomes CURRENT, so what serves is what was stored.
 * Only its own files are read back: a transformer shares the candidate's
 * base (weights and GPU copy), which outlives the candidate by reference
 * count. */
static int store_and_publish(wf_trainer *t, const run_data *d, int promote, wf_train_outcome *out,
                             wf_error *err)
{
    wf_model_meta meta;
    fill_meta(d, out, promote ? WF_STORE_MODEL_PROMOTED : WF_STORE_MODEL_REJECTED, &meta);
    int rc = wf_registry_save(t->reg, d->cand, &meta, err);
    if (rc < 0)
        return rc;
    memcpy(out->version, meta.version, sizeof out->version);
    if (!promote)
        return 0;
    wf_model *loaded;
    rc = wf_registry_load_like(t->reg, meta.version, d->cand, &loaded, NULL, err);
    if (rc < 0) {
        wf_registry_drop_pending(t->reg, meta.version);
        return rc;
    }
    if (t->publish)
        return t->publish(t->publish_ctx, meta.version, loaded, err);
    wf_model_free(loaded);
    return wf_registry_activate(t->reg, meta.version, err);
}

static int train_and_judge(wf_trainer *t, run_data *d, wf_train_outcome *out, wf_error *err)
{
    const void *hold = NULL;
    const wf_model *served = t->served.acquire ? t->served.acquire(t->served.ctx, &hold) : NULL;
    int rc = wf_model_train_like(t->kind, served, d->train.items, d->train.n, d->valid.items,
                                 d->valid.n, &t->train_opts, &d->cand, &out->report, err);
    if (served)
        t->served.release(t->served.ctx, hold);
    if (rc == 0)
        rc = wf_trainer_check_cancel(t, err);
    if (rc == 0 && t->pref_file[0]) {
        size_t bad = 0;
        rc = wf_pref_load(t->pref_file, &d->prefs, &bad, err);
        if (bad)
            wf_log(WF_LOG_WARN, "preference file: bad lines skipped", "path", t->pref_file, NULL);
    }
    if (rc == 0)
        rc = wf_eval_run_until(d->cand, d->eval.items, d->eval.n, d->prefs, t->train_opts.cancelled,
                               t, &out->candidate, err);
    if (rc == 0)
        rc = wf_trainer_check_cancel(t, err);
    if (rc == 0)
        rc = eval_current(t, d, out, err);
    if (rc == 0)
        rc = wf_trainer_check_cancel(t, err);
    if (rc < 0)
        return rc;
    wf_gate_decision g;
    wf_gate_decide(&t->gate, &out->candidate, out->has_current ? &out->current : NULL, &g);
    memcpy(out->reason, g.reason, sizeof out->reason);
    out->result = g.promote ? WF_TRAIN_PROMOTED : WF_TRAIN_REJECTED;
    rc = store_and_publish(t, d, g.promote, out, err);
    size_t removed;
    wf_error perr;
    if (rc == 0 && wf_registry_prune(t->reg, t->keep_versions, &removed, &perr) < 0)
        wf_log(WF_LOG_WARN, "model retention failed", "error", perr.msg, NULL);
    return rc;
}

int wf_trainer_train(wf_trainer *t, wf_train_outcome *out, wf_error *err)
{
    memset(out, 0, sizeof *out);
    double start = now_s();
    run_data d = {0};
    wf_examples_init(&d.train);
    wf_examples_init(&d.valid);
    wf_examples_init(&d.eval);
    int rc = wf_trainer_check_cancel(t, err);
    if (rc == 0)
        rc = load_samples(t, &d, out, err);
    if (rc == 0 && (d.total < t->trigger.min_samples || d.train.n == 0)) {
        out->result = WF_TRAIN_SKIPPED;
        snprintf(out->reason, sizeof out->reason,
                 "too few samples: %lld in the store (%zu in the train split), "
                 "train.min_samples is %lld",
                 (long long)d.total, d.train.n, (long long)t->trigger.min_samples);
    } else if (rc == 0) {
        rc = train_and_judge(t, &d, out, err);
    }
    wf_model_free(d.cand);
    wf_pref_free(d.prefs);
    wf_examples_free(&d.train);
    wf_examples_free(&d.valid);
    wf_examples_free(&d.eval);
    out->seconds = now_s() - start;
    return rc;
}
