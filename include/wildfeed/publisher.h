/* The fleet's samples topic (DESIGN §11): every sample this instance stores
 * is also produced to sample.topic, keyed by its id, as the record
 * wf_sample_to_jsonl writes, so that one trainer can consume the samples of
 * every labelling instance.
 *
 * Delivery is at least once and survives restarts. The store gives each
 * inserted or replaced sample the next sequence number; the publisher walks
 * the committed samples in that order and keeps, as a named cursor in the
 * same store ("fleet:<topic>"), the number up to which the broker has
 * confirmed every one. A restart resumes from the cursor, so a sample
 * committed just before a crash is sent then; one confirmed but not yet
 * recorded is sent again, which the trainer's store absorbs (an identical
 * sample changes nothing). A replaced sample is sent again at its new
 * number with its new content. The producer is idempotent, so retries keep
 * each partition's order, and the later version of a sample lands last.
 *
 * When the broker reports a delivery failed (librdkafka has retried until
 * message.timeout.ms), the publisher waits for the other reports, goes back
 * to the cursor and sends from there again, re-reading each sample. The
 * samples waiting meanwhile stay in the store, not in memory: at most
 * WF_PUBLISH_WINDOW are in flight. A sample too big for the topic is given
 * up (logged with its id, counted), or it would hold every later one back;
 * since a broker refuses a whole batch as too large, the samples of such a
 * batch go again one at a time, and only one refused alone is given up.
 *
 * Threads: every function but wf_publisher_collect belongs to the thread
 * that owns the store (the daemon's loop). Ownership: the publisher is its
 * creator's (wf_publisher_free); the store is borrowed and must outlive it. */
#ifndef WILDFEED_PUBLISHER_H
#define WILDFEED_PUBLISHER_H

#include <stdint.h>

#include "wildfeed/config.h"
#include "wildfeed/err.h"
#include "wildfeed/store.h"
#include "wildfeed/strbuf.h"

/* Samples produced and not yet confirmed, at most. */
#define WF_PUBLISH_WINDOW 1024

typedef struct wf_publisher wf_publisher;

/* Counters, a snapshot (wf_publisher_stats). */
typedef struct wf_publisher_counters {
    uint64_t produced;  /* samples the broker confirmed */
    uint64_t failed;    /* deliveries reported failed (sent again) */
    uint64_t rewinds;   /* times the publisher went back to its cursor */
    uint64_t too_large; /* samples given up: too big for the topic */
    uint64_t in_flight; /* gauge */
    int64_t confirmed;  /* gauge: every sample up to this number is confirmed */
    int64_t committed;  /* gauge: the store's committed samples end here */
} wf_publisher_counters;

/* Creates the producer (kafka.* keys as for the source) and reads the
 * cursor; *out is NULL, and 0 returned, when sample.topic is empty. */
int wf_publisher_new(const wf_config *cfg, wf_store *store, wf_publisher **out, wf_error *err);

/* Serves delivery reports and produces committed samples (those numbered up
 * to committed_seq, which the caller reads after each commit) while the
 * window has room. Never blocks. Returns 0; a store error; WF_ENOMEM; or
 * WF_EIO when the idempotent producer failed for good (its broker-side
 * state was lost: the caller stops, and a restart sends from the cursor). */
int wf_publisher_pump(wf_publisher *p, int64_t committed_seq, wf_error *err);

/* Writes the cursor into the store's open batch (or as a transaction of its
 * own outside one) when it moved since the last save. */
int wf_publisher_save(wf_publisher *p, wf_error *err);
/* 1 when the cursor moved since the last save. */
int wf_publisher_moved(const wf_publisher *p);

/* On shutdown: pumps until every committed sample is confirmed or
 * deadline_ms passed, then saves the cursor. Returns WF_ETIMEOUT when
 * samples were left unconfirmed (they go at the next start). */
int wf_publisher_finish(wf_publisher *p, int64_t committed_seq, int deadline_ms, wf_error *err);

void wf_publisher_stats(const wf_publisher *p, wf_publisher_counters *out);

/* Prometheus collector (wf_metrics_register(wf_publisher_collect, p)); safe
 * on any thread. */
void wf_publisher_collect(void *ctx, wf_strbuf *out);

/* Drops what is still in flight (sent again at the next start) and frees p.
 * NULL is a no-op. */
void wf_publisher_free(wf_publisher *p);

#endif
