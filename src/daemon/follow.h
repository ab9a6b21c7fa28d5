/* Following a registry that another process writes (model.follow_interval_s):
 * the version CURRENT names is served, checked again every interval by a
 * thread. A fleet's scoring replicas share the trainer's model.dir this way
 * and swap its promotions in without a restart. Nothing is written to the
 * registry: its writer is another process, and model.dir may be mounted
 * read-only.
 *
 * The follower is owned by its starter and freed by wf_follower_stop; the
 * serving it follows must outlive it. */
#ifndef WF_DAEMON_FOLLOW_H
#define WF_DAEMON_FOLLOW_H

#include "daemon/serving.h"

typedef struct wf_follower wf_follower;

/* Serves what CURRENT names now (a load, on this thread), then starts the
 * thread that checks again every interval_s (>= 1). */
int wf_follower_start(wf_serving *s, int interval_s, wf_follower **out, wf_error *err);
/* Wakes the thread, waits for it to end (a load in progress finishes
 * first) and frees f. NULL is a no-op. */
void wf_follower_stop(wf_follower *f);

#endif
