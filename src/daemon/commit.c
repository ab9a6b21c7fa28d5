/* The store side of the daemon: samples go into the open batch as they are
 * emitted; at commit the pipeline's changed state and the samples topic's
 * cursor join them, the batch commits, and only then are the fed messages'
 * offsets released and the new samples offered to the samples topic. */
#include <string.h>

#include "daemon/daemon_internal.h"
#include "wildfeed/log.h"

static int ensure_batch(wf_daemon *d, wf_error *err)
{
    return wf_store_in_batch(d->store) ? 0 : wf_store_begin(d->store, err);
}

static int put_sample(void *ctx, wf_sample *s, wf_error *err)
{
    wf_daemon *d = ctx;
    int rc = ensure_batch(d, err);
    if (rc == 0)
        rc = wf_store_put_sample(d->store, s, NULL, err);
    wf_sample_free(s);
    return rc;
}

wf_sample_sink wf_daemon_sink(wf_daemon *d)
{
    return (wf_sample_sink){put_sample, d};
}

/* The per-user daily quota, counted in the store so a restart does not reset
 * it. A sample already stored is a replay and is not charged again. Store
 * errors allow the sample: the commit that follows reports them. */
int wf_daemon_quota_take(void *ctx, const wf_candidate *c)
{
    wf_daemon *d = ctx;
    if (!c->user_id[0])
        return 1;
    int stored = 0;
    int64_t count = 0;
    if (ensure_batch(d, &d->error) < 0 ||
        wf_store_has_sample(d->store, c->id, &stored, &d->error) < 0 || stored)
        return 1;
    if (wf_store_user_count_incr(d->store, c->user_id, wf_store_day(c->created_at), &count,
                                 &d->error) < 0)
        return 1;
    return count <= d->quota_limit;
}

static int write_change(void *ctx, const wf_change *c)
{
    wf_daemon *d = ctx;
    wf_error *err = &d->error;
    if (c->kind == WF_CHANGE_CONVERSATION)
        return c->state
                   ? wf_store_conv_put(d->store, c->key, c->state->data, c->state->len, c->at, err)
                   : wf_store_conv_delete(d->store, c->key, err);
    return c->state ? wf_store_pending_put(d->store, c->key, c->conversation_id, c->state->data,
                                           c->state->len, c->at, err)
                    : wf_store_pending_delete(d->store, c->key, err);
}

int wf_daemon_commit(wf_daemon *d)
{
    if (d->failed)
        return WF_ESTATE;
    int rc = ensure_batch(d, &d->error);
    if (rc == 0)
        rc = wf_pipeline_take_changes(d->p, write_change, d);
    if (rc == 0 && d->pub)
        rc = wf_publisher_save(d->pub, &d->error);
    if (rc == 0)
        rc = wf_store_commit(d->store, &d->error);
    else
        wf_store_rollback(d->store);
    if (rc == 0 && d->pub)
        rc = wf_store_last_seq(d->store, &d->committed_seq, &d->error);
    d->last_commit = wf_daemon_clock();
    if (rc < 0) {
        d->failed = 1;
        return rc;
    }
    for (size_t i = 0; i < d->n_tags; i++)
        wf_source_done(d->src, d->tags[i]);
    d->committed += d->n_tags;
    d->n_tags = 0;
    return 0;
}

void wf_daemon_settle(wf_daemon *d, int deadline_ms)
{
    double until = wf_daemon_clock() + deadline_ms / 1000.0;
    wf_error err;
    while (wf_judge_in_flight(d->judge) > 0 && wf_daemon_clock() < until)
        if (wf_pipeline_pump(d->p, 50, &err) < 0)
            break;
}
