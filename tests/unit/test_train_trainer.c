/* The trainer end to end on a store of synthetic samples whose label is
 * planted in the response's wording: skip below train.min_samples, promote a
 * first model, reject a candidate trained on shuffled labels, the trigger
 * policy with a fake clock, and the background thread. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wildfeed/metrics.h"
#include "wildfeed/registry.h"
#include "wildfeed/trainer.h"

/* Signal words per label 1..4, and neutral filler. */
static const char *const signal[4] = {"terrible wrong useless", "poor confusing incomplete",
                                      "okay reasonable fine", "excellent precise helpful"};
static const char *const filler[6] = {"the", "answer", "about", "your", "question", "here"};

static uint64_t rng_state = 12345;
static unsigned rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33);
}

static int annotation_of(int label)
{
    return label == 1 ? 1 : label == 2 ? 2 : label + 1;
}

static void put_sample(wf_store *s, int i, int label, int stored_label)
{
    char conv[32], user[16], query[64], response[160];
    snprintf(conv, sizeof conv, "c%05d", i);
    snprintf(user, sizeof user, "u%d", i % 10);
    snprintf(query, sizeof query, "question number %d about topic %d", i, i % 7);
    snprintf(response, sizeof response, "%s %s %s %s", filler[rnd() % 6], signal[label - 1],
             filler[rnd() % 6], filler[rnd() % 6]);
    wf_candidate_parts p = {.conversation_id = conv,
                            .turn = 0,
                            .response_turn = 1,
                            .user_id = user,
                            .language = "English",
                            .model = "m",
                            .created_at = 1764133200 + i,
                            .query = query,
                            .response = response,
                            .feedback = "fb"};
    wf_sample *smp = calloc(1, sizeof *smp);
    assert_non_null(smp);
    smp->cand = wf_candidate_new(&p);
    assert_non_null(smp->cand);
    smp->annotation = annotation_of(stored_label);
    smp->label = stored_label;
    smp->source = WF_SRC_RULES;
    smp->eval = i % 5 == 0;
    smp->text = strdup(response);
    wf_error err;
    if (wf_store_put_sample(s, smp, NULL, &err) < 0)
        fail_msg("put: %s", err.msg);
    wf_sample_free(smp);
}

/* Samples first..first+n-1; train labels shuffled when shuffle is set (the
 * eval split keeps the truth, so a model fit to noise is measurably worse). */
static void fill_store(const char *path, int first, int n, int shuffle)
{
    wf_store_options o;
    wf_store_options_default(&o, path);
    wf_store *s;
    wf_error err;
    assert_int_equal(wf_store_open(&o, &s, &err), 0);
    assert_int_equal(wf_store_begin(s, &err), 0);
    for (int i = first; i < first + n; i++) {
        int label = 1 + (int)(i * 7 % 4);
        int stored = shuffle && i % 5 != 0 ? 1 + (int)(rnd() % 4) : label;
        put_sample(s, i, label, stored);
    }
    assert_int_equal(wf_store_commit(s, &err), 0);
    wf_store_close(s);
}

typedef struct env {
    char dir[64], db[128], models[128];
    wf_config *cfg;
    wf_registry *reg;
    int published;
    char last_published[WF_VERSION_MAX];
    wf_trainer *t; /* for the re-entrancy check in publish */
    int reentry_rc;
    int signal_seen; /* published models that score the planted signal */
} env;

static int publish(void *ctx, const char *version, wf_model *m, wf_error *err)
{
    env *e = ctx;
    int rc = wf_registry_activate(e->reg, version, err);
    if (rc < 0) {
        wf_model_free(m);
        return rc;
    }
    e->published++;
    snprintf(e->last_published, sizeof e->last_published, "%s", version);
    if (e->t) {
        wf_train_outcome o;
        e->reentry_rc = wf_trainer_run_once(e->t, "nested", &o, NULL);
    }
    /* The model really scores: the planted signal shows. */
    const char *q = "question number 5 about topic 5";
    wf_model_input in[2] = {{.query = q, .response = "the excellent precise helpful answer"},
                            {.query = q, .response = "the terrible wrong useless answer"}};
    float z[2 * WF_LOGITS];
    /* This may run on the trainer thread: record, the test asserts later. */
    if (wf_model_score(m, in, 2, z, NULL) == 0 && wf_reward(z) > wf_reward(z + WF_LOGITS) + 0.25)
        e->signal_seen++;
    wf_model_free(m);
    return 0;
}

static void env_init(env *e, int samples)
{
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "%s", wf_test_tmpdir());
    snprintf(e->db, sizeof e->db, "%s/wf.db", e->dir);
    snprintf(e->models, sizeof e->models, "%s/models", e->dir);
    e->cfg = wf_config_new();
    assert_non_null(e->cfg);
    const char *sets[] = {"model.hash_bits=14", "train.epochs=6", "train.min_samples=50",
                          "train.keep_versions=3", "train.min_new_samples=100"};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        assert_int_equal(wf_config_set(e->cfg, sets[i], NULL), 0);
    if (samples)
        fill_store(e->db, 0, samples, 0);
    wf_error err;
    assert_int_equal(wf_registry_open(e->models, e->db, &e->reg, &err), 0);
}

static void env_free(env *e)
{
    wf_registry_free(e->reg);
    wf_config_free(e->cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    assert_int_equal(system(cmd), 0);
}

static wf_trainer *new_trainer(env *e)
{
    wf_trainer *t;
    wf_error err;
    if (wf_trainer_new(e->cfg, e->db, e->reg, publish, e, &t, &err) < 0)
        fail_msg("%s", err.msg);
    return t;
}

static wf_train_outcome run(wf_trainer *t, int want_rc)
{
    wf_train_outcome o;
    wf_error err = {0};
    int rc = wf_trainer_run_once(t, "test", &o, &err);
    if (rc != want_rc)
        fail_msg("run_once: %d %s", rc, err.msg);
    return o;
}

static void test_skips_below_min_samples(void **state)
{
    (void)state;
    env e;
    env_init(&e, 30);
    wf_trainer *t = new_trainer(&e);
    wf_train_outcome o = run(t, 0);
    assert_int_equal(o.result, WF_TRAIN_SKIPPED);
    assert_string_equal(o.reason, "too few samples: 30 in the store (0 in the train split), "
                                  "train.min_samples is 50");
    assert_string_equal(o.version, "");
    assert_int_equal(e.published, 0);
    wf_model_meta latest;
    assert_int_equal(wf_registry_latest(e.reg, &latest, NULL), WF_ENOTFOUND);
    wf_trainer_free(t);
    env_free(&e);
}

static void test_promotes_then_rejects_worse(void **state)
{
    (void)state;
    env e;
    env_init(&e, 400);
    wf_trainer *t = new_trainer(&e);
    e.t = t;
    wf_train_outcome o = run(t, 0);
    assert_int_equal(o.result, WF_TRAIN_PROMOTED);
    assert_string_equal(o.reason, "no current model");
    /* train.validation_fraction 0.1 of the 320 in the train split, by the
     * id's second hash (computed independently: 31) */
    assert_int_equal(o.n_train, 289);
    assert_int_equal(o.n_valid, 31);
    assert_int_equal(o.n_eval, 80);
    assert_int_equal(o.trained_seq, 400);
    assert_int_equal(o.has_current, 0);
    assert_true(o.candidate.auc > 0.95);
    assert_int_equal(o.candidate.n, 80);
    assert_int_equal(e.published, 1);
    assert_int_equal(e.signal_seen, 1);
    assert_int_equal(e.reentry_rc, WF_ESTATE);
    assert_string_equal(e.last_published, o.version);
    char cur[WF_VERSION_MAX];
    assert_int_equal(wf_registry_current(e.reg, cur, NULL), 0);
    assert_string_equal(cur, o.version);
    wf_model_meta meta;
    assert_int_equal(wf_registry_meta(e.reg, o.version, &meta, NULL), 0);
    assert_int_equal(meta.samples, 289);
    assert_int_equal(meta.users, 8); /* eval takes i % 5 == 0: users u0 and u5 only there */
    assert_int_equal(meta.label_counts[0] + meta.label_counts[1] + meta.label_counts[2] +
                         meta.label_counts[3],
                     289);
    assert_int_equal(meta.label_counts[0], 75);
    assert_int_equal(meta.trained_seq, 400);
    assert_int_equal(meta.status, WF_STORE_MODEL_PROMOTED);
    char first[WF_VERSION_MAX];
    memcpy(first, o.version, sizeof first);

    /* The train split relabelled at random: the candidate is worse. */
    e.t = NULL;
    fill_store(e.db, 0, 400, 1);
    sleep(1); /* a new version name second, to keep the order of names plain */
    o = run(t, 0);
    assert_int_equal(o.result, WF_TRAIN_REJECTED);
    assert_int_equal(o.has_current, 1);
    assert_string_equal(o.parent, first);
    assert_true(o.current.auc > 0.95);
    assert_true(o.candidate.auc < o.current.auc - 0.01);
    assert_non_null(strstr(o.reason, "auc "));
    assert_int_equal(e.published, 1);
    assert_int_equal(wf_registry_current(e.reg, cur, NULL), 0);
    assert_string_equal(cur, first);
    assert_int_equal(wf_registry_meta(e.reg, o.version, &meta, NULL), 0);
    assert_int_equal(meta.status, WF_STORE_MODEL_REJECTED);
    assert_string_equal(meta.parent, first);
    assert_true(meta.metrics.auc == o.candidate.auc ||
                fabs(meta.metrics.auc - o.candidate.auc) < 1e-9);

    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_train_outcome_text(&o, &b);
    assert_non_null(strstr(b.data, "result:  rejected\n"));
    wf_strbuf_reset(&b);
    wf_train_outcome_json(&o, &b);
    assert_memory_equal(b.data, "{\"result\":\"rejected\",", 21);
    wf_strbuf_reset(&b);
    wf_trainer_collect(t, &b);
    assert_non_null(strstr(b.data, "wf_train_runs_total 2\n"));
    assert_non_null(strstr(b.data, "wf_train_promotions_total 1\n"));
    assert_non_null(strstr(b.data, "wf_train_rejections_total 1\n"));
    assert_non_null(strstr(b.data, "wf_train_failures_total 0\n"));
    wf_strbuf_free(&b);
    wf_trainer_free(t);
    env_free(&e);
}

static void test_trigger_policy(void **state)
{
    (void)state;
    const wf_trigger_opts o = {.min_samples = 50, .min_new_samples = 100, .interval_s = 3600};
    const int64_t t0 = 1764133200;
    struct {
        wf_trigger_state s;
        int64_t now;
        wf_trigger want;
    } cases[] = {
        /* a request always runs, even with nothing stored */
        {{.total = 0, .new_samples = 0, .last_attempt = t0, .requested = 1},
         t0,
         WF_TRIGGER_REQUEST},
        /* too few samples in all: nothing */
        {{.total = 49, .new_samples = 49, .last_attempt = 0}, t0, WF_TRIGGER_NONE},
        {{.total = 50, .new_samples = 50, .last_attempt = 0}, t0, WF_TRIGGER_INTERVAL},
        /* count */
        {{.total = 500, .new_samples = 99, .last_attempt = t0}, t0 + 10, WF_TRIGGER_NONE},
        {{.total = 500, .new_samples = 100, .last_attempt = t0}, t0 + 10, WF_TRIGGER_COUNT},
        /* interval, only with something new */
        {{.total = 500, .new_samples = 1, .last_attempt = t0}, t0 + 3599, WF_TRIGGER_NONE},
        {{.total = 500, .new_samples = 1, .last_attempt = t0}, t0 + 3600, WF_TRIGGER_INTERVAL},
        {{.total = 500, .new_samples = 0, .last_attempt = t0}, t0 + 99999, WF_TRIGGER_NONE},
        /* after a failure: nothing before the retry time, but a request */
        {{.total = 500, .new_samples = 500, .last_attempt = t0, .retry_at = t0 + 60},
         t0 + 59,
         WF_TRIGGER_NONE},
        {{.total = 500, .new_samples = 500, .last_attempt = t0, .retry_at = t0 + 60},
         t0 + 60,
         WF_TRIGGER_COUNT},
        {{.total = 500, .new_samples = 5, .last_attempt = t0, .retry_at = t0 + 60, .requested = 1},
         t0,
         WF_TRIGGER_REQUEST},
        /* a failed interval run: the back-off, not another interval */
        {{.total = 500, .new_samples = 5, .last_attempt = t0 - 3600, .retry_at = t0 + 60},
         t0 + 59,
         WF_TRIGGER_NONE},
        {{.total = 500, .new_samples = 5, .last_attempt = t0 - 3600, .retry_at = t0 + 60},
         t0 + 60,
         WF_TRIGGER_INTERVAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_trigger got = wf_trigger_check(&o, &cases[i].s, cases[i].now);
        if (got != cases[i].want)
            fail_msg("case %zu: %s, want %s", i, wf_trigger_name(got),
                     wf_trigger_name(cases[i].want));
    }
    const struct {
        int failed_before;
        int64_t want;
    } delays[] = {{0, 60}, {1, 120}, {2, 240}, {5, 1920}, {6, 3600}, {40, 3600}};
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++)
        assert_int_equal(wf_trigger_retry_delay(&o, delays[i].failed_before), delays[i].want);
    const wf_trigger_opts quick = {.interval_s = 1};
    assert_int_equal(wf_trigger_retry_delay(&quick, 0), 1);
    wf_config *cfg = wf_config_new();
    wf_trigger_opts d;
    wf_trigger_opts_from_config(&d, cfg);
    assert_int_equal(d.min_samples, 50);
    assert_int_equal(d.min_new_samples, 1000);
    assert_int_equal(d.interval_s, 3600);
    wf_config_free(cfg);
}

static uint64_t runs_total(wf_trainer *t)
{
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_trainer_collect(t, &b);
    unsigned long long n = 0;
    const char *p = strstr(b.data, "\nwf_train_runs_total ");
    if (p)
        sscanf(p, "\nwf_train_runs_total %llu", &n);
    wf_strbuf_free(&b);
    return n;
}

static void wait_runs(wf_trainer *t, uint64_t want)
{
    for (int i = 0; i < 3000 && runs_total(t) < want; i++)
        usleep(10000);
    assert_int_equal(runs_total(t), want);
    for (int i = 0; i < 3000 && wf_trainer_busy(t); i++)
        usleep(10000);
}

static void test_thread_triggers(void **state)
{
    (void)state;
    env e;
    env_init(&e, 200);
    wf_trainer *t = new_trainer(&e);
    assert_int_equal(wf_trainer_request(t, "not started"), WF_ESTATE);
    wf_error err;
    assert_int_equal(wf_trainer_start(t, 20, &err), 0);
    assert_int_equal(wf_trainer_start(t, 20, &err), WF_ESTATE);
    /* Empty registry, 200 >= min_new_samples: the count trigger fires. */
    wait_runs(t, 1);
    assert_int_equal(e.published, 1);
    assert_int_equal(e.signal_seen, 1);
    /* Nothing new: no further run by itself. */
    usleep(150000);
    assert_int_equal(runs_total(t), 1);
    /* A request runs at once. */
    assert_int_equal(wf_trainer_request(t, "admin"), 0);
    wait_runs(t, 2);
    /* 99 new samples are below the count, 100 reach it. */
    fill_store(e.db, 1000, 99, 0);
    usleep(150000);
    assert_int_equal(runs_total(t), 2);
    fill_store(e.db, 2000, 1, 0);
    wait_runs(t, 3);
    wf_trainer_stop(t);
    assert_int_equal(wf_trainer_request(t, "stopped"), WF_ESTATE);
    /* keep_versions = 3 */
    wf_model_meta *all;
    size_t n;
    assert_int_equal(wf_registry_list(e.reg, &all, &n, &err), 0);
    assert_int_equal(n, 3);
    free(all);
    wf_trainer_free(t);
    env_free(&e);
}

static uint64_t counter(wf_trainer *t, const char *name)
{
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_trainer_collect(t, &b);
    char key[64];
    snprintf(key, sizeof key, "\n%s ", name);
    unsigned long long n = 0;
    const char *p = strstr(b.data, key);
    if (p)
        sscanf(p + strlen(key), "%llu", &n);
    wf_strbuf_free(&b);
    return n;
}

/* A cancelled trainer runs nothing more: no version, no run counted. */
static void test_cancelled_run_saves_nothing(void **state)
{
    (void)state;
    env e;
    env_init(&e, 200);
    wf_trainer *t = new_trainer(&e);
    wf_trainer_cancel(t);
    wf_train_outcome o = run(t, WF_ECANCELED);
    assert_string_equal(o.version, "");
    assert_int_equal(e.published, 0);
    wf_model_meta latest;
    assert_int_equal(wf_registry_latest(e.reg, &latest, NULL), WF_ENOTFOUND);
    assert_int_equal(counter(t, "wf_train_runs_total"), 0);
    assert_int_equal(counter(t, "wf_train_failures_total"), 0);
    assert_int_equal(wf_trainer_busy(t), 0);
    /* A running thread, once cancelled, takes no more requests. */
    wf_error err;
    assert_int_equal(wf_trainer_start(t, 20, &err), 0);
    assert_int_equal(wf_trainer_request(t, "before"), 0);
    wf_trainer_cancel(t);
    assert_int_equal(wf_trainer_request(t, "after"), WF_ESTATE);
    wf_trainer_free(t);
    env_free(&e);
}

/* Stopping the thread in the middle of a long run (1000 epochs over 4000
 * samples, no early stopping: seconds) cancels it: nothing saved, nothing
 * counted. Without the cancellation the stop would wait for the run and
 * find a version saved. */
static void test_stop_cancels_a_run(void **state)
{
    (void)state;
    env e;
    env_init(&e, 4000);
    assert_int_equal(wf_config_set(e.cfg, "train.epochs=1000", NULL), 0);
    assert_int_equal(wf_config_set(e.cfg, "train.validation_fraction=0", NULL), 0);
    wf_trainer *t = new_trainer(&e);
    wf_error err;
    assert_int_equal(wf_trainer_start(t, 20, &err), 0);
    for (int i = 0; i < 3000 && !wf_trainer_busy(t); i++)
        usleep(1000);
    assert_int_equal(wf_trainer_busy(t), 1);
    usleep(100000); /* into the epochs */
    wf_trainer_stop(t);
    assert_int_equal(wf_trainer_busy(t), 0);
    wf_model_meta latest;
    assert_int_equal(wf_registry_latest(e.reg, &latest, NULL), WF_ENOTFOUND);
    assert_int_equal(e.published, 0);
    assert_int_equal(counter(t, "wf_train_runs_total"), 0);
    assert_int_equal(counter(t, "wf_train_failures_total"), 0);
    wf_trainer_free(t);
    env_free(&e);
}

static void wait_counter(wf_trainer *t, const char *name, uint64_t want)
{
    for (int i = 0; i < 3000 && counter(t, name) < want; i++)
        usleep(10000);
    assert_true(counter(t, name) >= want);
}

/* Points train.preference_file at a file that is not there yet (runs fail
 * until the test creates it at prefs). */
static void missing_preferences(env *e, char prefs[160])
{
    char set[200];
    snprintf(prefs, 160, "%s/prefs.jsonl", e->dir);
    snprintf(set, sizeof set, "train.preference_file=%s", prefs);
    assert_int_equal(wf_config_set(e->cfg, set, NULL), 0);
}

/* A failed run leaves its samples new: the thread retries it after the
 * back-off (here train.interval_s, 1 s) with nothing new arriving, and
 * trains once the fault is gone. */
static void test_failed_run_is_retried(void **state)
{
    (void)state;
    env e;
    env_init(&e, 200);
    char prefs[160];
    missing_preferences(&e, prefs);
    assert_int_equal(wf_config_set(e.cfg, "train.interval_s=1", NULL), 0);
    wf_trainer *t = new_trainer(&e);
    wf_error err;
    assert_int_equal(wf_trainer_start(t, 20, &err), 0);
    wait_counter(t, "wf_train_failures_total", 2);
    assert_int_equal(e.published, 0);
    FILE *f = fopen(prefs, "w");
    assert_non_null(f);
    fclose(f);
    wait_counter(t, "wf_train_promotions_total", 1);
    wf_trainer_stop(t);
    /* A retry may have failed again before the file appeared. */
    uint64_t failures = counter(t, "wf_train_failures_total");
    assert_true(failures >= 2);
    assert_int_equal(counter(t, "wf_train_runs_total"), failures + 1);
    assert_int_equal(counter(t, "wf_train_promotions_total"), 1);
    assert_int_equal(e.published, 1);
    wf_trainer_free(t);
    env_free(&e);
}

static wf_train_attempts attempts_of(env *e)
{
    wf_train_attempts a;
    wf_error err;
    if (wf_registry_attempts_read(e->reg, &a, &err) < 0)
        fail_msg("%s", err.msg);
    return a;
}

/* The back-off survives a restart, and a run the process died in counts as
 * failed: the next process waits before training again instead of dying
 * the same way at once. */
static void test_backoff_survives_a_restart(void **state)
{
    (void)state;
    env e;
    env_init(&e, 200);
    char prefs[160];
    missing_preferences(&e, prefs);
    wf_trainer *t = new_trainer(&e);
    int64_t t0 = (int64_t)time(NULL);
    run(t, WF_EIO); /* the preference file is missing */
    wf_train_attempts a = attempts_of(&e);
    assert_int_equal(a.failed_in_a_row, 1);
    assert_true(a.retry_at >= t0 + 60 && a.retry_at <= t0 + 62);
    assert_int_equal(a.running_since, 0);
    wf_trainer_free(t);

    t = new_trainer(&e);
    int failed;
    int64_t retry_at;
    wf_trainer_backoff(t, &failed, &retry_at);
    assert_int_equal(failed, 1);
    assert_int_equal(retry_at, a.retry_at);
    wf_trainer_free(t);

    /* The process died during a run. */
    a.running_since = t0;
    wf_error err;
    assert_int_equal(wf_registry_attempts_write(e.reg, &a, &err), 0);
    t = new_trainer(&e);
    wf_trainer_backoff(t, &failed, &retry_at);
    assert_int_equal(failed, 2);
    int64_t now = (int64_t)time(NULL);
    assert_true(retry_at >= now + 119 && retry_at <= now + 121);
    /* Counted once: a restart during the back-off does not count it again. */
    wf_trainer_free(t);
    t = new_trainer(&e);
    int64_t first_retry = retry_at;
    wf_trainer_backoff(t, &failed, &retry_at);
    assert_int_equal(failed, 2);
    assert_int_equal(retry_at, first_retry);
    FILE *f = fopen(prefs, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(run(t, 0).result, WF_TRAIN_PROMOTED);
    a = attempts_of(&e);
    assert_int_equal(a.failed_in_a_row, 0);
    assert_int_equal(a.retry_at, 0);
    assert_int_equal(a.running_since, 0);
    wf_trainer_free(t);
    env_free(&e);
}

/* One trainer per model.dir: a second registry handle (another process's,
 * as far as the lock is concerned) cannot start one while the first holds
 * its claim. */
static void test_one_trainer_per_registry(void **state)
{
    (void)state;
    env e;
    env_init(&e, 10);
    wf_trainer *t = new_trainer(&e);
    wf_registry *other;
    wf_error err;
    assert_int_equal(wf_registry_open(e.models, NULL, &other, &err), 0);
    wf_trainer *second = (wf_trainer *)1;
    assert_int_equal(wf_trainer_new(e.cfg, e.db, other, NULL, NULL, &second, &err), WF_ESTATE);
    assert_null(second);
    assert_non_null(strstr(err.msg, "another process trains into it"));
    wf_trainer_free(t);
    wf_registry_free(other);
    env_free(&e);
}

/* A current model whose files fail their checksums cannot be evaluated,
 * and never will be: the candidate is judged against none and replaces
 * it. */
static void test_corrupt_current_is_replaced(void **state)
{
    (void)state;
    env e;
    env_init(&e, 400);
    wf_trainer *t = new_trainer(&e);
    wf_train_outcome first = run(t, 0);
    assert_int_equal(first.result, WF_TRAIN_PROMOTED);
    char path[256];
    snprintf(path, sizeof path, "%s/%s/model.safetensors", e.models, first.version);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fputs("garbage", f);
    fclose(f);
    fill_store(e.db, 1000, 10, 0);
    sleep(1); /* a new version name second */
    wf_train_outcome o = run(t, 0);
    assert_int_equal(o.result, WF_TRAIN_PROMOTED);
    assert_int_equal(o.has_current, 0);
    assert_string_equal(o.parent, first.version);
    assert_string_equal(o.reason, "no current model");
    char cur[WF_VERSION_MAX];
    assert_int_equal(wf_registry_current(e.reg, cur, NULL), 0);
    assert_string_equal(cur, o.version);
    assert_int_equal(e.published, 2);
    wf_trainer_free(t);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skips_below_min_samples),
        cmocka_unit_test(test_promotes_then_rejects_worse),
        cmocka_unit_test(test_trigger_policy),
        cmocka_unit_test(test_thread_triggers),
        cmocka_unit_test(test_cancelled_run_saves_nothing),
        cmocka_unit_test(test_stop_cancels_a_run),
        cmocka_unit_test(test_failed_run_is_retried),
        cmocka_unit_test(test_backoff_survives_a_restart),
        cmocka_unit_test(test_one_trainer_per_registry),
        cmocka_unit_test(test_corrupt_current_is_replaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
