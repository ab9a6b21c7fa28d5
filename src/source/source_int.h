/* The wf_source struct, shared by the files of src/source. */
#ifndef WF_SOURCE_INT_H
#define WF_SOURCE_INT_H

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>

#include "source/tracker.h"
#include "wildfeed/source.h"

/* A full source waits this long for work to complete before it pauses. */
#define WF_SRC_PAUSE_AFTER_MS 1000
/* While full, how often the poll checks for completed work. */
#define WF_SRC_FULL_SLICE_MS 5
/* Initial room for the messages already on their way when a pause takes
 * effect (librdkafka drops the rest of its prefetch). */
#define WF_SRC_HELD_SLACK 1024

struct wf_source {
    rd_kafka_t *rk;
    rd_kafka_t *producer; /* dead letters; NULL without source.dlq_topic */
    char *dlq_topic;
    wf_source_hooks hooks;
    wf_src_tracker tracker;
    size_t max_in_flight;
    int drain_deadline_ms;     /* revocation: wait for dead-letter reports */
    rd_kafka_message_t **held; /* ring of held_cap */
    size_t held_cap, held_head, held_count;
    int paused;
    int64_t full_since; /* ms, 0 while below the in-flight limit */
    _Atomic int closing;
    _Atomic int fatal;
    _Atomic uint64_t consumed, bytes, offsets_stored, pauses, consumer_errors, rebalances;
    _Atomic uint64_t dlq_produced, dlq_failed, dlq_skipped, dlq_truncated, dlq_dropped;
    _Atomic int64_t dlq_pending; /* produced, delivery not yet reported */
    _Atomic size_t held_gauge;
    _Atomic int paused_gauge, assigned_gauge;
};

/* rebalance.c */
void wf_src_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque);
void wf_src_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque);

/* source.c: shared with rebalance.c and dlq.c */
void wf_src_store_offsets(wf_source *s);
int wf_src_commit_sync(wf_source *s);
void wf_src_set_paused(wf_source *s, int pause);

/* held.c: messages fetched beyond the in-flight limit, in fetch order. */
int wf_src_held_init(wf_source *s, size_t cap);
void wf_src_held_free(wf_source *s);
int wf_src_held_push(wf_source *s, rd_kafka_message_t *m);
rd_kafka_message_t *wf_src_held_pop(wf_source *s);
/* Drops the held messages of revoked partitions (refetched by their owner). */
void wf_src_held_purge(wf_source *s, const rd_kafka_topic_partition_list_t *parts);

/* dlq.c */
int wf_src_dlq_new(wf_source *s, const wf_config *cfg, wf_error *err);
/* Serves delivery reports; waits up to timeout_ms for all to arrive. */
void wf_src_dlq_settle(wf_source *s, int timeout_ms);
/* Drops what was not delivered (never marked done) and frees the producer. */
void wf_src_dlq_free(wf_source *s);

/* conf.c */
/* Fills conf from the kafka.* keys; producer skips consumer-only properties. */
int wf_src_conf_fill(rd_kafka_conf_t *conf, const wf_config *cfg, int producer, wf_error *err);
/* A producer (dead letters, the samples topic) in *out: the kafka.* keys,
 * then tune's own settings (may be NULL), then the delivery-report callback
 * with its opaque. what names it in error messages. */
typedef int (*wf_src_tune_fn)(rd_kafka_conf_t *conf, const wf_config *cfg, wf_error *err);
typedef void (*wf_src_dr_fn)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
int wf_src_producer_new(const wf_config *cfg, const char *what, wf_src_tune_fn tune,
                        wf_src_dr_fn dr, void *opaque, rd_kafka_t **out, wf_error *err);
void wf_src_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

#endif
