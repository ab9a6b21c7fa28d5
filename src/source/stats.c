/* Prometheus rendering of the source's counters and per-partition offsets. */
#include <stdio.h>

#include "source/source_int.h"
#include "wildfeed/metrics.h"

static void counter(wf_strbuf *out, const char *name, const char *help, uint64_t v)
{
    wf_metrics_header(out, name, "counter", help);
    wf_metrics_line_u64(out, name, NULL, v);
}

static void gauge(wf_strbuf *out, const char *name, const char *help, uint64_t v)
{
    wf_metrics_header(out, name, "gauge", help);
    wf_metrics_line_u64(out, name, NULL, v);
}

static void totals(const wf_source_counters *c, wf_strbuf *out)
{
    counter(out, "wildfeed_source_messages_total", "Messages delivered by the Kafka source.",
            c->consumed);
    counter(out, "wildfeed_source_bytes_total", "Value bytes delivered.", c->bytes);
    counter(out, "wildfeed_source_done_total", "Messages marked done.", c->done);
    counter(out, "wildfeed_source_stale_done_total", "Done calls for revoked or repeated tags.",
            c->stale_done);
    counter(out, "wildfeed_source_forgotten_total",
            "Not-done messages of revoked partitions (redelivered to the next owner).",
            c->forgotten);
    counter(out, "wildfeed_source_offset_stores_total", "Partition offsets stored.",
            c->offsets_stored);
    counter(out, "wildfeed_source_pauses_total", "Times the in-flight limit paused fetching.",
            c->pauses);
    counter(out, "wildfeed_source_errors_total", "Kafka client errors.", c->consumer_errors);
    counter(out, "wildfeed_source_rebalances_total", "Rebalance callbacks.", c->rebalances);
    counter(out, "wildfeed_source_dlq_produced_total", "Dead letters confirmed by the broker.",
            c->dlq_produced);
    counter(out, "wildfeed_source_dlq_failed_total", "Dead-letter deliveries that failed.",
            c->dlq_failed);
    counter(out, "wildfeed_source_dlq_skipped_total",
            "Bad messages logged and dropped (no dead-letter topic).", c->dlq_skipped);
    counter(out, "wildfeed_source_dlq_truncated_total",
            "Dead letters sent cut short: the record was too big for the topic.", c->dlq_truncated);
    counter(out, "wildfeed_source_dlq_dropped_total",
            "Dead letters given up, too big even cut short: logged and dropped.", c->dlq_dropped);
    gauge(out, "wildfeed_source_in_flight", "Messages delivered and not done.", c->in_flight);
    gauge(out, "wildfeed_source_held", "Messages fetched while paused, not yet delivered.",
          c->held);
    gauge(out, "wildfeed_source_paused", "1 while fetching is paused.", (uint64_t)c->paused);
    gauge(out, "wildfeed_source_assigned_partitions", "Partitions assigned to this instance.",
          (uint64_t)c->assigned);
}

/* Lag comes from librdkafka's cached high watermark (no network call). */
static void partitions(wf_source *s, wf_strbuf *out)
{
    wf_src_tracker *t = &s->tracker;
    wf_metrics_header(out, "wildfeed_source_offset", "gauge",
                      "Per partition: stored (done watermark) and committed offsets, and lag.");
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->nslots; i++) {
        const wf_src_slot *sl = &t->slots[i];
        if (!sl->assigned)
            continue;
        char labels[512];
        snprintf(labels, sizeof labels, "topic=\"%s\",partition=\"%d\",kind=\"stored\"", sl->topic,
                 (int)sl->partition);
        wf_metrics_line_f64(out, "wildfeed_source_offset", labels, (double)sl->watermark);
        snprintf(labels, sizeof labels, "topic=\"%s\",partition=\"%d\",kind=\"committed\"",
                 sl->topic, (int)sl->partition);
        wf_metrics_line_f64(out, "wildfeed_source_offset", labels, (double)sl->committed);
        int64_t lo, hi, pos = sl->watermark >= 0 ? sl->watermark : sl->committed;
        if (pos < 0 || rd_kafka_get_watermark_offsets(s->rk, sl->topic, sl->partition, &lo, &hi) ||
            hi < 0)
            continue;
        snprintf(labels, sizeof labels, "topic=\"%s\",partition=\"%d\",kind=\"lag\"", sl->topic,
                 (int)sl->partition);
        wf_metrics_line_f64(out, "wildfeed_source_offset", labels,
                            (double)(hi > pos ? hi - pos : 0));
    }
    pthread_mutex_unlock(&t->lock);
}

void wf_source_collect(void *ctx, wf_strbuf *out)
{
    wf_source *s = ctx;
    wf_source_counters c;
    wf_source_stats(s, &c);
    totals(&c, out);
    partitions(s, out);
}
