/* Starting the daemon (store, judge, pipeline, restore, source) and stopping
 * it (settle, commit, close) in the order that keeps offsets honest. */
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_internal.h"
#include "wildfeed/log.h"
#include "wildfeed/metrics.h"

static int restore_conversation(void *ctx, const char *id, const void *blob, size_t len,
                                int64_t last_seen)
{
    wf_daemon *d = ctx;
    wf_error err;
    if (wf_pipeline_restore_conversation(d->p, blob, len, last_seen, &err) < 0)
        wf_log(WF_LOG_WARN, "stored conversation skipped", "conversation_id", id, "error", err.msg,
               NULL);
    return 0;
}

static int restore_turn(void *ctx, const char *key, const void *blob, size_t len)
{
    wf_daemon *d = ctx;
    wf_error err;
    if (wf_pipeline_restore_turn(d->p, blob, len, &err) < 0)
        wf_log(WF_LOG_WARN, "stored turn skipped", "key", key, "error", err.msg, NULL);
    return 0;
}

/* Brings back what the last committed batch left: conversations of message
 * events and turns still in flight, so no replayed message is needed. */
static int restore(wf_daemon *d, wf_error *err)
{
    int rc = wf_store_conv_foreach(d->store, restore_conversation, d, err);
    if (rc == 0)
        rc = wf_store_pending_foreach(d->store, NULL, restore_turn, d, err);
    if (rc < 0)
        return rc;
    wf_pipeline_restore_done(d->p);
    return 0;
}

static void drain(void *ctx)
{
    wf_daemon *d = ctx;
    if (d->failed)
        return; /* nothing more is committed: the offsets stay where they were */
    wf_daemon_settle(d, d->drain_deadline_ms);
    if (wf_daemon_commit(d) < 0) {
        wf_log(WF_LOG_ERROR, "commit before rebalance failed", "error", d->error.msg, NULL);
        d->failed = 1;
    }
}

static void read_settings(wf_daemon *d, const wf_config *cfg)
{
    d->cfg = cfg;
    d->batch_max = (int)wf_config_int(cfg, "store.batch_max");
    d->quota_limit = wf_config_int(cfg, "quota.per_user_per_day");
    d->commit_interval_s = (double)wf_config_int(cfg, "store.commit_interval_ms") / 1000.0;
    d->drain_deadline_ms = (int)wf_config_int(cfg, "source.drain_deadline_ms");
    d->last_commit = d->last_tick = wf_daemon_clock();
    for (int i = 0; i < 4; i++)
        d->metrics[i] = -1;
    d->serving.metrics = -1;
}

/* Relays the slot's publications to the caller with the server's port. */
static void relay_publish(void *ctx, const char *version)
{
    wf_daemon *d = ctx;
    if (d->opts->on_publish)
        d->opts->on_publish(d->opts->publish_ctx, version,
                            d->serving.server ? wf_server_port(d->serving.server) : 0);
}

int wf_daemon_start(wf_daemon *d, const wf_daemon_opts *o, wf_error *err)
{
    const wf_config *cfg = o->cfg;
    memset(d, 0, sizeof *d);
    d->opts = o;
    read_settings(d, cfg);
    wf_store_options so;
    wf_store_options_from_config(&so, cfg);
    int rc = wf_store_open(&so, &d->store, err);
    if (rc == 0 && !(d->judge = wf_judge_create(cfg, err)))
        rc = err ? err->code : WF_EINVAL;
    if (rc == 0 && !(d->p = wf_pipeline_new(cfg, d->judge, wf_daemon_sink(d), err)))
        rc = err ? err->code : WF_EINVAL;
    if (rc == 0) {
        wf_pipeline_track_changes(d->p);
        if (d->quota_limit > 0)
            wf_pipeline_set_quota(d->p, wf_daemon_quota_take, d);
        rc = restore(d, err);
    }
    if (rc == 0)
        rc = wf_publisher_new(cfg, d->store, &d->pub, err);
    wf_source_hooks hooks = {drain, d};
    if (rc == 0 && !(d->src = wf_source_new(cfg, &hooks, err)))
        rc = err ? err->code : WF_EINVAL;
    if (rc == 0 && (rc = wf_daemon_commit(d)) < 0 && err)
        *err = d->error;
    d->serving.on_publish = relay_publish;
    d->serving.on_publish_ctx = d;
    if (rc == 0)
        rc = wf_serving_start(&d->serving, cfg, err);
    if (rc < 0) {
        wf_daemon_free(d);
        return rc;
    }
    d->metrics[0] =
        wf_metrics_register(wf_pipeline_stats_collect, (void *)wf_pipeline_get_stats(d->p));
    d->metrics[1] = wf_metrics_register(wf_store_collect, d->store);
    d->metrics[2] = wf_metrics_register(wf_source_collect, d->src);
    if (d->pub)
        d->metrics[3] = wf_metrics_register(wf_publisher_collect, d->pub);
    return 0;
}

/* The samples committed last go to the samples topic before the model side
 * stops, within what is left of the stop's drain deadline (the settle and
 * the source's close took the rest), so the stop as a whole takes no longer
 * than without a samples topic; what is not confirmed in time goes at the
 * next start. After a failure the cursor is not moved (no commit follows):
 * a restart sends from the last saved one. */
static void finish_publishing(wf_daemon *d, double until)
{
    wf_error err;
    double left_ms = (until - wf_daemon_clock()) * 1000.0;
    if (d->pub && !d->failed &&
        wf_publisher_finish(d->pub, d->committed_seq, left_ms > 0 ? (int)left_ms : 0, &err) < 0)
        wf_log(WF_LOG_WARN, "samples topic: publishing left unfinished", "error", err.msg, NULL);
}

/* A training in progress is cancelled first, and the model side stops
 * last: the offsets reach Kafka as soon as the store holds the samples,
 * not after a training, and scoring answers until the end. */
int wf_daemon_stop(wf_daemon *d, int clean)
{
    int rc = 0;
    double until = wf_daemon_clock() + d->drain_deadline_ms / 1000.0;
    wf_serving_cancel_training(&d->serving);
    if (clean) {
        wf_daemon_settle(d, d->drain_deadline_ms);
        rc = wf_daemon_commit(d);
    }
    for (int i = 0; i < 4; i++) /* before the source they read is closed */
        wf_metrics_unregister(d->metrics[i]);
    wf_error err;
    /* After a failure nothing in flight can finish (no commit follows): no
     * wait for it. Dead letters still in flight are abandoned with their
     * offsets, and sent again when their messages are replayed. */
    if (wf_source_close(d->src, d->failed ? 0 : d->drain_deadline_ms, &err) < 0)
        wf_log(WF_LOG_WARN, "source closed with work in flight", "error", err.msg, NULL);
    d->src = NULL;
    finish_publishing(d, until);
    wf_serving_stop(&d->serving);
    return rc;
}

void wf_daemon_free(wf_daemon *d)
{
    if (d->src) {
        wf_error err;
        wf_source_close(d->src, 0, &err);
    }
    wf_serving_stop(&d->serving);
    wf_publisher_free(d->pub);
    wf_pipeline_free(d->p);
    wf_judge_free(d->judge);
    wf_store_close(d->store);
    free(d->tags);
    memset(d, 0, sizeof *d);
}
