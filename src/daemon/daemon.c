/* The daemon's main loop. One thread polls the source, feeds the pipeline,
 * pumps the judge and commits store batches; a batch commits when it is
 * full, when store.commit_interval_ms has passed, and before partitions are
 * revoked or the daemon stops. Offsets of the messages fed before a commit
 * are handed back to the source only after that commit succeeded. */
#include "daemon/daemon.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon_internal.h"
#include "wildfeed/log.h"
#include "wildfeed/metrics.h"

double wf_daemon_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int remember_tag(wf_daemon *d, uint64_t tag)
{
    if (d->n_tags == d->cap_tags) {
        size_t cap = d->cap_tags ? d->cap_tags * 2 : 1024;
        uint64_t *grown = realloc(d->tags, cap * sizeof *grown);
        if (!grown)
            return WF_ENOMEM;
        d->tags = grown;
        d->cap_tags = cap;
    }
    d->tags[d->n_tags++] = tag;
    return 0;
}

/* Bad input: dead-lettered (or logged and counted); the source marks it done
 * once the dead letter is confirmed, or given up. */
static int dead_letter(wf_daemon *d, const wf_source_msg *m, wf_bad_reason why,
                       const wf_error *perr)
{
    wf_source_dead_letter(d->src, m, wf_bad_reason_name(why), perr->msg);
    return 0;
}

static int handle_message(wf_daemon *d, const wf_source_msg *m)
{
    wf_error err;
    wf_bad_reason why = WF_BAD_NOT_JSON;
    int64_t now = (int64_t)time(NULL);
    int rc;
    if (!m->value) {
        wf_pipeline_reject(d->p, WF_BAD_NOT_JSON, 0);
        wf_error_set(&err, WF_EPARSE, "message has no value");
        return dead_letter(d, m, WF_BAD_NOT_JSON, &err);
    }
    while ((rc = wf_pipeline_feed(d->p, m->value, m->len, now, &why, &err)) == WF_EAGAIN)
        if ((rc = wf_pipeline_pump(d->p, 10, &err)) < 0)
            break;
    if (rc == WF_EPARSE)
        return dead_letter(d, m, why, &err);
    if (rc < 0) {
        d->error = err;
        return rc;
    }
    return remember_tag(d, m->tag);
}

static int due_for_commit(const wf_daemon *d, double now)
{
    if (d->n_tags == 0 && !wf_store_in_batch(d->store) && !(d->pub && wf_publisher_moved(d->pub)))
        return 0;
    return wf_store_batch_full(d->store) || d->n_tags >= (size_t)d->batch_max ||
           now - d->last_commit >= d->commit_interval_s;
}

static void maybe_tick(wf_daemon *d, double now)
{
    if (now - d->last_tick < 1.0)
        return;
    d->last_tick = now;
    wf_pipeline_tick(d->p, (int64_t)time(NULL));
}

static int step(wf_daemon *d)
{
    wf_source_msg m;
    wf_error err;
    int rc = wf_source_poll(d->src, &m, d->n_tags ? 5 : 100, &err);
    if (rc == 0)
        rc = handle_message(d, &m);
    else if (rc == WF_EAGAIN)
        rc = 0;
    else
        d->error = err;
    if (rc == 0 && (rc = wf_pipeline_pump(d->p, 0, &err)) < 0)
        d->error = err;
    double now = wf_daemon_clock();
    maybe_tick(d, now);
    if (rc == 0 && due_for_commit(d, now))
        rc = wf_daemon_commit(d);
    if (rc == 0 && d->pub && (rc = wf_publisher_pump(d->pub, d->committed_seq, &err)) < 0)
        d->error = err;
    return rc;
}

static void reload_if_asked(const wf_daemon_opts *o)
{
    if (!o->reload || !*o->reload)
        return;
    *o->reload = 0;
    if (o->on_reload)
        o->on_reload(o->reload_ctx);
    wf_log(WF_LOG_INFO, "configuration reloaded", NULL);
}

static int run_loop(wf_daemon *d, const wf_daemon_opts *o)
{
    int rc = 0;
    while (rc == 0 && !*o->stop && !d->failed) {
        reload_if_asked(o);
        rc = step(d);
        if (o->stop_after && d->committed >= o->stop_after && !d->caught_up) {
            if (!o->train_when_caught_up)
                break;
            d->caught_up = 1;
            if (d->serving.trainer)
                wf_trainer_request(d->serving.trainer, "caught up");
        }
    }
    if (rc < 0)
        d->failed = 1;
    return rc == 0 && d->failed ? WF_EIO : rc;
}

static void report(const wf_daemon *d, const wf_daemon_opts *o, double started)
{
    if (!o->report || !d->p)
        return;
    wf_pipeline_report_text(wf_pipeline_get_stats(d->p), wf_daemon_clock() - started, o->report);
    wf_store_counts c;
    wf_store_counts_get(d->store, &c);
    wf_strbuf_printf(o->report,
                     "store\n  %-26s %12llu\n  %-26s %12llu\n  %-26s %12llu\n  %-26s %12llu\n",
                     "samples stored", (unsigned long long)c.total, "train",
                     (unsigned long long)c.by_split[0], "eval", (unsigned long long)c.by_split[1],
                     "messages committed", (unsigned long long)d->committed);
}

int wf_daemon_run(const wf_daemon_opts *o, wf_error *err)
{
    wf_daemon d;
    double started = wf_daemon_clock();
    int rc = wf_daemon_start(&d, o, err);
    if (rc < 0)
        return rc;
    wf_log(WF_LOG_INFO, "daemon started", "store", wf_config_str(o->cfg, "store.path"), NULL);
    rc = run_loop(&d, o);
    if (rc < 0)
        wf_log(WF_LOG_ERROR, "daemon stopping on error", "error", d.error.msg, NULL);
    int stop_rc = wf_daemon_stop(&d, rc == 0);
    if (rc == 0)
        rc = stop_rc;
    report(&d, o, started);
    if (rc < 0 && err)
        *err = d.error;
    wf_daemon_free(&d);
    wf_log(WF_LOG_INFO, "daemon stopped", NULL);
    return rc;
}
