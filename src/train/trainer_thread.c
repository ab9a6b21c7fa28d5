/* The trainer's background thread: it polls the store's sequence numbers and
 * wakes early on a request or a stop. Its store connection only reads. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "train/trainer_internal.h"
#include "wildfeed/log.h"

/* Fills the sample counts of st; opens the connection on first use (and
 * again after a failure, so a store that appears later is picked up). */
static int poll_store(wf_trainer *t, wf_store **s, int64_t base_seq, int64_t *last_seq,
                      wf_trigger_state *st)
{
    wf_error err;
    int rc = *s ? 0 : wf_store_open(&t->store_opts, s, &err);
    if (rc == 0)
        rc = wf_store_last_seq(*s, last_seq, &err);
    if (rc == 0)
        rc = wf_store_count_since(*s, 0, &st->total, &err);
    if (rc == 0)
        rc = wf_store_count_since(*s, base_seq, &st->new_samples, &err);
    if (rc < 0) {
        wf_log(WF_LOG_WARN, "trainer cannot read the store", "error", err.msg, NULL);
        wf_store_close(*s);
        *s = NULL;
    }
    return rc;
}

static void wait_poll(wf_trainer *t)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += t->poll_ms / 1000;
    until.tv_nsec += (long)(t->poll_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    /* A request waits while a run_once from another thread is busy: that
     * run's end wakes us. */
    while (!t->stopping && !(t->requested && !t->busy))
        if (pthread_cond_timedwait(&t->wake, &t->mu, &until) == ETIMEDOUT)
            break;
}

/* With the mutex held: the trigger due now, claiming the run if any. */
static wf_trigger due(wf_trainer *t, wf_trigger_state *st)
{
    if (atomic_load(&t->cancel)) {
        t->requested = 0;       /* else wait_poll would not wait */
        return WF_TRIGGER_NONE; /* a run now would be cancelled at once */
    }
    st->requested = t->requested;
    st->last_attempt = t->last_attempt;
    st->retry_at = t->retry_at;
    wf_trigger trig = wf_trigger_check(&t->trigger, st, (int64_t)time(NULL));
    if (trig != WF_TRIGGER_NONE && !t->busy) {
        t->requested = 0;
        t->busy = 1;
        return trig;
    }
    return WF_TRIGGER_NONE;
}

static void *trainer_main(void *arg)
{
    wf_trainer *t = arg;
    wf_store *s = NULL;
    pthread_mutex_lock(&t->mu);
    while (!t->stopping) {
        int64_t base = t->base_seq, last_seq = 0;
        pthread_mutex_unlock(&t->mu);
        wf_trigger_state st = {0};
        int ok = poll_store(t, &s, base, &last_seq, &st) == 0;
        pthread_mutex_lock(&t->mu);
        wf_trigger trig = ok || t->requested ? due(t, &st) : WF_TRIGGER_NONE;
        if (trig != WF_TRIGGER_NONE && !t->stopping) {
            pthread_mutex_unlock(&t->mu);
            wf_train_outcome out;
            wf_error err;
            wf_trainer_run_claimed(t, wf_trigger_name(trig), last_seq, &out, &err);
            pthread_mutex_lock(&t->mu);
            continue;
        }
        if (trig != WF_TRIGGER_NONE)
            t->busy = 0;
        wait_poll(t);
    }
    pthread_mutex_unlock(&t->mu);
    wf_store_close(s);
    return NULL;
}

int wf_trainer_start(wf_trainer *t, int poll_ms, wf_error *err)
{
    pthread_mutex_lock(&t->mu);
    int rc = 0;
    if (t->started) {
        rc = wf_error_set(err, WF_ESTATE, "trainer already started");
    } else {
        t->poll_ms = poll_ms > 0 ? poll_ms : 1;
        t->stopping = 0;
        atomic_store(&t->cancel, 0);
        if (pthread_create(&t->thread, NULL, trainer_main, t) != 0)
            rc = wf_error_set(err, WF_EIO, "cannot start the trainer thread");
        else
            t->started = 1;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

int wf_trainer_request(wf_trainer *t, const char *reason)
{
    pthread_mutex_lock(&t->mu);
    int started = t->started && !t->stopping && !atomic_load(&t->cancel);
    if (started) {
        t->requested = 1;
        pthread_cond_broadcast(&t->wake);
    }
    pthread_mutex_unlock(&t->mu);
    if (!started)
        return WF_ESTATE;
    wf_log(WF_LOG_INFO, "training requested", "reason", reason ? reason : "", NULL);
    return 0;
}

void wf_trainer_stop(wf_trainer *t)
{
    wf_trainer_cancel(t);
    pthread_mutex_lock(&t->mu);
    int started = t->started;
    t->stopping = 1;
    pthread_cond_broadcast(&t->wake);
    pthread_mutex_unlock(&t->mu);
    if (started)
        pthread_join(t->thread, NULL);
    pthread_mutex_lock(&t->mu);
    t->started = 0;
    pthread_mutex_unlock(&t->mu);
}
