/* The Kafka source: librdkafka's high-level consumer with at-least-once
 * offset tracking, bounded in-flight work, and a dead-letter producer.
 *
 * Offsets. enable.auto.offset.store is forced off; enable.auto.commit stays as
 * configured (on by default), so librdkafka commits in the background whatever
 * the source has stored. The source stores an offset only when every message
 * it delivered from that partition up to it has been marked done: completions
 * may arrive in any order, and per partition the source keeps the contiguous
 * done watermark (stored offset = offset of the last contiguous done message
 * + 1).
 *
 * Back-pressure. At most source.max_in_flight messages are delivered and not
 * yet done. At the limit the source stops taking messages from librdkafka
 * (whose own prefetch queue is bounded by queued.max.messages.kbytes); if the
 * limit is still reached a second later, it pauses every assigned partition
 * and goes on calling the consumer poll (rebalances need it) while delivering
 * nothing, and resumes once in-flight falls to half the limit. Pausing makes
 * librdkafka drop its prefetched messages and restart, on resume, right after
 * the last message it handed over, so nothing is lost; the few messages
 * already on their way when the pause takes effect are held locally and
 * delivered first. The second of grace exists because librdkafka 2.0.2
 * restarts fetching a resumed partition only at its broker thread's next
 * wake-up, up to a second later: pausing for short stalls would cost more
 * than it saves.
 *
 * Rebalances, eager and cooperative alike: before partitions are given up the
 * hook drain(ctx) runs (the daemon drains its pipeline and commits its store,
 * calling wf_source_done for what became durable); pending dead letters get
 * up to source.drain_deadline_ms to be confirmed; then the watermarks are
 * stored and committed synchronously, and the partitions are released (a
 * lost assignment is not committed: another member may own it already).
 * Messages of revoked partitions still not done are forgotten: the next owner
 * gets them again from the watermark on (replays must be harmless).
 *
 * Threads. wf_source_poll, wf_source_dead_letter and wf_source_close belong
 * to one thread (the consumer thread); drain runs on that thread, inside
 * wf_source_poll or wf_source_close, and must not call wf_source_poll.
 * wf_source_done, wf_source_stats and wf_source_collect may be called from any
 * thread until wf_source_close.
 *
 * Ownership: a wf_source is owned by its creator and released by
 * wf_source_close. A delivered message's bytes belong to the source and stay
 * valid until wf_source_done is called with its tag or wf_source_close,
 * whichever comes first; this holds for messages of revoked partitions too,
 * so a drain that abandons work should still call done on its tags later. */
#ifndef WILDFEED_SOURCE_H
#define WILDFEED_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/config.h"
#include "wildfeed/err.h"
#include "wildfeed/strbuf.h"

typedef struct wf_source wf_source;

typedef struct wf_source_hooks {
    /* Called before partitions are revoked: bring every delivered message to
     * done or abandon it, and return when what is durable has been marked done.
     * May be NULL. */
    void (*drain)(void *ctx);
    void *ctx;
} wf_source_hooks;

/* One delivered message; every pointer is borrowed from the source. */
typedef struct wf_source_msg {
    uint64_t tag; /* pass to wf_source_done */
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key; /* NULL when the message has none */
    size_t key_len;
    const void *value; /* NULL for a tombstone */
    size_t len;
    int64_t timestamp_ms; /* -1 when unknown */
} wf_source_msg;

/* Counters, a snapshot (wf_source_stats). */
typedef struct wf_source_counters {
    uint64_t consumed;       /* messages delivered to the caller */
    uint64_t bytes;          /* their value bytes */
    uint64_t done;           /* tags marked done (current assignments) */
    uint64_t stale_done;     /* tags of revoked partitions, or repeated */
    uint64_t forgotten;      /* not-done messages dropped at revocation */
    uint64_t offsets_stored; /* rd_kafka_offsets_store calls that advanced */
    uint64_t pauses;         /* times the source paused */
    uint64_t consumer_errors;
    uint64_t rebalances;
    uint64_t dlq_produced;  /* dead letters confirmed by the broker */
    uint64_t dlq_failed;    /* failed deliveries and refusals (retried, or waiting) */
    uint64_t dlq_skipped;   /* dead letters without a topic: logged and done */
    uint64_t dlq_truncated; /* sent cut to WF_DLQ_TRUNCATED_BYTES: too big for the topic */
    uint64_t dlq_dropped;   /* given up, too big even cut short: logged and done */
    uint64_t in_flight;     /* delivered, not done (gauge) */
    uint64_t held;          /* fetched while paused, not yet delivered (gauge) */
    int paused;             /* gauge */
    int assigned;           /* assigned partitions (gauge) */
} wf_source_counters;

/* Creates the consumer and subscribes to source.topics; also creates the
 * dead-letter producer when source.dlq_topic is set. kafka.* keys go to
 * librdkafka verbatim (to the producer as well); setting
 * kafka.enable.auto.offset.store to true is an error. hooks is copied; hooks
 * and hooks->ctx may be NULL. Returns NULL with err filled on failure. */
wf_source *wf_source_new(const wf_config *cfg, const wf_source_hooks *hooks, wf_error *err);

/* Waits up to timeout_ms for the next message. Returns 0 with *out filled,
 * WF_EAGAIN when none came in time (also while paused), or another negative
 * code on a fatal consumer error. Transient errors (broker down, ...) are
 * logged and counted, not returned. Also serves dead-letter delivery reports
 * and stores advanced watermarks. */
int wf_source_poll(wf_source *s, wf_source_msg *out, int timeout_ms, wf_error *err);

/* Marks the work of a message complete (thread-safe, any order). Unknown,
 * repeated and stale tags are counted and otherwise ignored. */
void wf_source_done(wf_source *s, uint64_t tag);

/* A dead letter sent cut to this many bytes (with the header wf-truncated
 * giving the record's size) when the whole is too big for the topic: it
 * fits a broker's default message limit, headers included. */
#define WF_DLQ_TRUNCATED_BYTES 65536

/* Sends m's value (and key) to source.dlq_topic with the headers wf-reason,
 * wf-error, wf-topic, wf-partition, wf-offset. m counts as done only once the
 * broker confirms the delivery. A failed delivery is retried, and one the
 * producer refuses (a missing topic, an ACL) stays not done, its partition
 * waiting; but a record too big for the topic goes cut to
 * WF_DLQ_TRUNCATED_BYTES, and one too big even cut is logged with its
 * origin, counted (dlq_dropped) and marked done, so that its partition's
 * offset can move on. Without a dead-letter topic the message is logged (its
 * content only at debug level), counted and marked done at once. */
void wf_source_dead_letter(wf_source *s, const wf_source_msg *m, const char *reason,
                           const char *error_text);

/* 1 when source.dlq_topic is set. */
int wf_source_has_dlq(const wf_source *s);

void wf_source_stats(wf_source *s, wf_source_counters *out);

/* Renders the counters and per-partition gauges (stored offset, committed
 * offset, lag from librdkafka's cached high watermark) in Prometheus text.
 * Signature of wf_metrics_collect_fn; ctx is the wf_source. */
void wf_source_collect(void *ctx, wf_strbuf *out);

/* Stops fetching, calls drain, waits up to deadline_ms for in-flight messages
 * and dead-letter deliveries to complete, stores the watermarks, commits
 * synchronously, closes the consumer (leaving the group) and frees s. Returns
 * WF_ETIMEOUT when work was still in flight at the deadline (what was done is
 * committed all the same), 0 otherwise. s is freed in every case; NULL is a
 * no-op. */
int wf_source_close(wf_source *s, int deadline_ms, wf_error *err);

#endif
