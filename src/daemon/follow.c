/* The follower: one step serves the version CURRENT names when it is not the
 * one served; a thread repeats the step, waiting on a condition variable so
 * that a stop wakes it at once.
 *
 * A version that fails to load is logged once and tried again after a
 * back-off (30 s, doubling up to 10 min): a copy of model.dir may still be
 * arriving, but a damaged one must not be read in full every interval. A
 * new CURRENT is tried at once. */
#include "daemon/follow.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wildfeed/log.h"

#define WF_FOLLOW_RETRY_MIN_S 30
#define WF_FOLLOW_RETRY_MAX_S 600

struct wf_follower {
    wf_serving *serving;
    int interval_s;
    char current_error[WF_ERROR_MSG_MAX]; /* the last CURRENT error logged, or "" */
    char failed[WF_VERSION_MAX];          /* the version that did not load, "" if none */
    int backoff_s;
    double retry_at;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1 when version is the one being served. */
static int served(wf_serving *s, const char *version)
{
    const wf_model_ref *cur = wf_model_slot_acquire(s->slot);
    int same = cur && strcmp(cur->version, version) == 0;
    if (cur)
        wf_model_slot_release(s->slot, cur);
    return same;
}

/* Under the activation mutex, and only while CURRENT still names version
 * and nobody served it meanwhile (an admin activation): a newer change is
 * the next step's. Returns 1 when superseded (m freed). */
static int swap_in(wf_serving *s, const char *version, wf_model *m, wf_error *err)
{
    char now[WF_VERSION_MAX];
    pthread_mutex_lock(&s->activation);
    int rc = 1;
    if (wf_registry_current(s->registry, now, NULL) == 0 && strcmp(now, version) == 0 &&
        !served(s, version))
        rc = wf_model_slot_publish(s->slot, m, version, err);
    else
        wf_model_free(m);
    pthread_mutex_unlock(&s->activation);
    return rc;
}

static int load_and_swap(wf_serving *s, const char *version, wf_error *err)
{
    wf_model *m = NULL;
    const wf_model_ref *cur = wf_model_slot_acquire(s->slot);
    int rc = wf_registry_load_like(s->registry, version, cur ? cur->model : NULL, &m, NULL, err);
    if (cur)
        wf_model_slot_release(s->slot, cur);
    return rc < 0 ? rc : swap_in(s, version, m, err);
}

static void note_failure(wf_follower *f, const char *version, const wf_error *err)
{
    int again = strcmp(f->failed, version) == 0;
    f->backoff_s = !again                                      ? WF_FOLLOW_RETRY_MIN_S
                   : f->backoff_s >= WF_FOLLOW_RETRY_MAX_S / 2 ? WF_FOLLOW_RETRY_MAX_S
                                                               : f->backoff_s * 2;
    f->retry_at = now_s() + f->backoff_s;
    if (!again)
        wf_log(WF_LOG_ERROR, "followed model not loaded; the served one stays", "version", version,
               "error", err->msg, NULL);
    snprintf(f->failed, sizeof f->failed, "%s", version);
}

/* CURRENT names the version to serve; one that cannot be read (a mount
 * gone, a damaged file) is logged once per distinct error, and what is
 * served stays. No CURRENT yet is no error: nothing was trained. */
static int read_current(wf_follower *f, char version[WF_VERSION_MAX])
{
    wf_error err;
    int rc = wf_registry_current(f->serving->registry, version, &err);
    if (rc == 0 || rc == WF_ENOTFOUND) {
        f->current_error[0] = '\0';
        return rc;
    }
    if (strcmp(f->current_error, err.msg) != 0) {
        memcpy(f->current_error, err.msg, sizeof f->current_error);
        wf_log(WF_LOG_ERROR, "followed registry: CURRENT unreadable; the served model stays",
               "error", err.msg, NULL);
    }
    return rc;
}

static void step(wf_follower *f)
{
    wf_serving *s = f->serving;
    char version[WF_VERSION_MAX];
    wf_error err;
    if (read_current(f, version) < 0)
        return;
    if (strcmp(version, f->failed) != 0)
        f->failed[0] = '\0'; /* CURRENT moved: a later return to it is tried at once */
    if (served(s, version) || (f->failed[0] && now_s() < f->retry_at))
        return;
    int rc = load_and_swap(s, version, &err);
    if (rc < 0) {
        note_failure(f, version, &err);
        return;
    }
    f->failed[0] = '\0';
    if (rc == 1)
        return;
    wf_log(WF_LOG_INFO, "model active (followed from the registry)", "version", version, NULL);
    if (s->on_publish)
        s->on_publish(s->on_publish_ctx, version);
}

static void *follow_main(void *arg)
{
    wf_follower *f = arg;
    pthread_mutex_lock(&f->mu);
    while (!f->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += f->interval_s;
        while (!f->stop && pthread_cond_timedwait(&f->cv, &f->mu, &until) != ETIMEDOUT)
            ;
        if (f->stop)
            break;
        pthread_mutex_unlock(&f->mu);
        step(f);
        pthread_mutex_lock(&f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

int wf_follower_start(wf_serving *s, int interval_s, wf_follower **out, wf_error *err)
{
    *out = NULL;
    wf_follower *f = calloc(1, sizeof *f);
    if (!f)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    f->serving = s;
    f->interval_s = interval_s;
    step(f);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&f->mu, NULL);
    if (pthread_create(&f->thread, NULL, follow_main, f) != 0) {
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
        free(f);
        return wf_error_set(err, WF_ENOMEM, "cannot start the registry follower thread");
    }
    *out = f;
    return 0;
}

void wf_follower_stop(wf_follower *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
