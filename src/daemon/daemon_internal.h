/* The daemon's state, shared by daemon.c (the loop), lifecycle.c (start,
 * restore, stop) and commit.c (the store sink and batch commits). */
#ifndef WF_DAEMON_DAEMON_INTERNAL_H
#define WF_DAEMON_DAEMON_INTERNAL_H

#include "daemon/daemon.h"
#include "daemon/serving.h"
#include "wildfeed/judge.h"
#include "wildfeed/pipeline.h"
#include "wildfeed/publisher.h"
#include "wildfeed/source.h"
#include "wildfeed/store.h"

typedef struct wf_daemon {
    const wf_daemon_opts *opts;
    const wf_config *cfg;
    wf_store *store;
    wf_judge *judge;
    wf_pipeline *p;
    wf_source *src;
    wf_publisher *pub;     /* the fleet's samples topic; NULL without sample.topic */
    int64_t committed_seq; /* the store's last committed sample number (with pub) */
    wf_serving serving;
    int caught_up;  /* stop_after reached and a training requested */
    int metrics[4]; /* collector handles: pipeline, store, source, publisher */

    uint64_t *tags; /* messages fed since the last commit */
    size_t n_tags, cap_tags;
    uint64_t committed; /* messages whose consequences are committed */

    int batch_max;
    int64_t quota_limit; /* quota.per_user_per_day; 0 = off */
    double commit_interval_s;
    int drain_deadline_ms;
    double last_commit, last_tick;
    wf_error error; /* why the loop stopped */
    /* A commit, the sink or the pipeline failed: nothing is committed any
     * more (not even by the source's drain on close), so no offset moves
     * past work that was rolled back; a restart replays from the last
     * commit. */
    int failed;
} wf_daemon;

double wf_daemon_clock(void);

/* lifecycle.c */
int wf_daemon_start(wf_daemon *d, const wf_daemon_opts *o, wf_error *err);
/* Waits (bounded) for verdicts in flight, commits, closes the source. */
int wf_daemon_stop(wf_daemon *d, int clean);
void wf_daemon_free(wf_daemon *d);

/* commit.c */
wf_sample_sink wf_daemon_sink(wf_daemon *d);
int wf_daemon_quota_take(void *ctx, const wf_candidate *c);
/* Writes the pipeline's changes, commits the batch, then hands the offsets
 * of the messages fed before it back to the source. After a failure it
 * commits nothing and returns WF_ESTATE. */
int wf_daemon_commit(wf_daemon *d);
/* Pumps the judge until nothing is in flight or deadline_ms passes. */
void wf_daemon_settle(wf_daemon *d, int deadline_ms);

#endif
