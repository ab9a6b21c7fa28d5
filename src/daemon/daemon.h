/* The daemon (DESIGN §2): Kafka source -> pipeline -> store, with offsets
 * stored only after the batch holding every consequence of a message is
 * committed; beside it the trainer thread and the scoring server
 * (daemon/serving.h). */
#ifndef WF_DAEMON_DAEMON_H
#define WF_DAEMON_DAEMON_H

#include <signal.h>
#include <stdint.h>

#include "wildfeed/config.h"
#include "wildfeed/err.h"
#include "wildfeed/strbuf.h"

typedef struct wf_daemon_opts {
    const wf_config *cfg;
    volatile sig_atomic_t *stop;   /* set to stop (SIGTERM, SIGINT) */
    volatile sig_atomic_t *reload; /* set to reload (SIGHUP); cleared by the loop */
    /* Re-reads the configuration on reload and applies what can change at
     * run time (log level and format). May be NULL. */
    void (*on_reload)(void *ctx);
    void *reload_ctx;
    /* Once this many source messages are committed (the demo): stop, or with
     * train_when_caught_up ask the trainer for a run and go on serving until
     * stop is set. 0: run until stop is set. */
    uint64_t stop_after;
    int train_when_caught_up;
    /* Told when a model becomes active, with the scoring server's port (0
     * when the server is off); runs on the publishing thread. May be NULL. */
    void (*on_publish)(void *ctx, const char *version, int port);
    void *publish_ctx;
    wf_strbuf *report; /* when non-NULL, receives the per-stage report at exit */
} wf_daemon_opts;

/* Runs until stopped. Returns 0 after a clean shutdown, or a negative wf_err
 * with err filled when start-up fails (store, source, judge) or the store
 * cannot commit (the daemon stops rather than lose accepted work: a restart
 * replays from the last committed offsets). */
int wf_daemon_run(const wf_daemon_opts *o, wf_error *err);

#endif
