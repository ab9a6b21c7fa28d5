/* Rebalance handling, eager and cooperative: drain and store before giving
 * partitions up, so the next owner starts right after what is durable. */
#include <stdio.h>
#include <string.h>

#include "source/source_int.h"
#include "wildfeed/log.h"

static void log_parts(const char *what, const rd_kafka_topic_partition_list_t *parts)
{
    char n[16];
    snprintf(n, sizeof n, "%d", parts->cnt);
    wf_log(WF_LOG_INFO, what, "partitions", n, NULL);
}

static void report(const char *what, rd_kafka_error_t *e)
{
    if (!e)
        return;
    wf_log(WF_LOG_ERROR, what, "err", rd_kafka_error_string(e), NULL);
    rd_kafka_error_destroy(e);
}

static void on_assign(wf_source *s, rd_kafka_topic_partition_list_t *parts, int coop)
{
    log_parts("partitions assigned", parts);
    for (int i = 0; i < parts->cnt; i++)
        if (wf_src_tracker_assign(&s->tracker, parts->elems[i].topic, parts->elems[i].partition))
            wf_log(WF_LOG_ERROR, "cannot track partition", "topic", parts->elems[i].topic, NULL);
    if (coop) {
        report("incremental assign failed", rd_kafka_incremental_assign(s->rk, parts));
        s->assigned_gauge += parts->cnt;
    } else {
        rd_kafka_resp_err_t e = rd_kafka_assign(s->rk, parts);
        if (e)
            wf_log(WF_LOG_ERROR, "assign failed", "err", rd_kafka_err2name(e), NULL);
        s->assigned_gauge = parts->cnt;
    }
    /* New partitions join the current back-pressure state. */
    if (s->paused)
        rd_kafka_pause_partitions(s->rk, parts);
}

static void on_revoke(wf_source *s, rd_kafka_topic_partition_list_t *parts, int coop)
{
    int lost = rd_kafka_assignment_lost(s->rk);
    log_parts(lost ? "partitions lost" : "partitions revoked", parts);
    if (s->hooks.drain && !s->closing)
        s->hooks.drain(s->hooks.ctx);
    wf_src_dlq_settle(s, s->drain_deadline_ms);
    /* A lost assignment may already belong to another member: committing
     * would move its offsets, so only the drain happens. */
    if (!lost) {
        wf_src_store_offsets(s);
        wf_src_commit_sync(s);
    }
    for (int i = 0; i < parts->cnt; i++)
        wf_src_tracker_revoke(&s->tracker, parts->elems[i].topic, parts->elems[i].partition);
    wf_src_held_purge(s, parts);
    if (coop) {
        report("incremental unassign failed", rd_kafka_incremental_unassign(s->rk, parts));
        s->assigned_gauge -= parts->cnt;
    } else {
        rd_kafka_assign(s->rk, NULL);
        s->assigned_gauge = 0;
    }
}

void wf_src_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    wf_source *s = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    s->rebalances++;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        on_assign(s, parts, coop);
        return;
    }
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
        wf_log(WF_LOG_ERROR, "rebalance error", "err", rd_kafka_err2name(err), NULL);
    on_revoke(s, parts, coop);
}

void wf_src_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    wf_source *s = opaque;
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    if (err)
        wf_log(WF_LOG_WARN, "offset commit failed", "err", rd_kafka_err2name(err), NULL);
    if (offsets)
        wf_src_tracker_committed(&s->tracker, offsets);
}
