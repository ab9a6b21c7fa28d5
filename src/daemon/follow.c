/* The follower thread: a timed wait on a condition variable, so that a stop
 * wakes it at once instead of after the interval. */
#include "daemon/follow.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct wf_follower {
    wf_serving *serving;
    int interval_s;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

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
        wf_serving_follow_once(f->serving);
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
