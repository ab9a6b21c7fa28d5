/* The daemon's model side (DESIGN §6-§8): the registry, the hot-swap slot
 * with the active model, the trainer thread and the scoring server, started
 * and stopped together beside the ingest loop. */
#ifndef WF_DAEMON_SERVING_H
#define WF_DAEMON_SERVING_H

#include <pthread.h>

#include "wildfeed/config.h"
#include "wildfeed/registry.h"
#include "wildfeed/server.h"
#include "wildfeed/slot.h"
#include "wildfeed/trainer.h"

typedef struct wf_serving {
    wf_registry *registry;
    wf_model_slot *slot;
    wf_trainer *trainer;
    wf_server *server;            /* NULL when server.enabled is false */
    struct wf_follower *follower; /* NULL unless model.follow_interval_s is set */
    int follows;                /* model.follow_interval_s is set; fixed before the server starts */
    int metrics;                /* the trainer's collector handle, or -1 */
    pthread_mutex_t activation; /* registry activation + slot publish as one step */
    int activation_ready;       /* the mutex is initialised */
    /* Told when a model becomes active (start-up, promotion, activation);
     * runs on the thread that published it. May be NULL. */
    void (*on_publish)(void *ctx, const char *version);
    void *on_publish_ctx;
} wf_serving;

/* Opens the registry (model.dir), publishes its active model if there is
 * one, starts the trainer thread and the server; or, with
 * model.follow_interval_s, opens the registry as a follower and starts the
 * server and the follower (daemon/follow.h), with training refused. s must
 * be zeroed (or stopped) with s->on_publish set as wanted before the call. */
int wf_serving_start(wf_serving *s, const wf_config *cfg, wf_error *err);
/* Makes a training in progress stop at its next step, and no new one
 * start: the first thing a shutdown does. Returns at once. */
void wf_serving_cancel_training(wf_serving *s);
/* Stops the follower, the trainer (cancelling a run in progress) and the
 * server, frees. */
void wf_serving_stop(wf_serving *s);

#endif
