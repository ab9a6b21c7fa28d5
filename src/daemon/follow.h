/* Following a registry that another process writes: a thread that checks
 * CURRENT every model.follow_interval_s and serves the version it names
 * (wf_serving_follow_once). A fleet's scoring replicas share the trainer's
 * model.dir this way and swap its promotions in without a restart.
 *
 * The follower is owned by its starter and freed by wf_follower_stop; the
 * serving it follows must outlive it. */
#ifndef WF_DAEMON_FOLLOW_H
#define WF_DAEMON_FOLLOW_H

#include "daemon/serving.h"

typedef struct wf_follower wf_follower;

/* Starts the thread; interval_s >= 1. */
int wf_follower_start(wf_serving *s, int interval_s, wf_follower **out, wf_error *err);
/* Wakes the thread, waits for it to end (a load in progress finishes
 * first) and frees f. NULL is a no-op. */
void wf_follower_stop(wf_follower *f);

#endif
