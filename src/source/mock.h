/* An in-process Kafka cluster (librdkafka's mock cluster, real TCP on
 * loopback) for the demo, the tests and the benchmarks, with helpers to
 * produce lines of a file and to read a topic back with its headers.
 *
 * A wf_kafka_mock is owned by its starter and freed by wf_kafka_mock_stop.
 * Its functions belong to one thread, except the fault-injection calls on the
 * cluster handle, which librdkafka makes thread-safe. */
#ifndef WF_SOURCE_MOCK_H
#define WF_SOURCE_MOCK_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stddef.h>
#include <stdint.h>

#include "wildfeed/err.h"

typedef struct wf_kafka_mock wf_kafka_mock;

wf_kafka_mock *wf_kafka_mock_start(int brokers, wf_error *err);
/* "127.0.0.1:port,..." (borrowed, valid until stop). */
const char *wf_kafka_mock_bootstrap(const wf_kafka_mock *m);
/* For fault injection (rd_kafka_mock_broker_set_down, ...); borrowed. */
rd_kafka_mock_cluster_t *wf_kafka_mock_cluster(wf_kafka_mock *m);
void wf_kafka_mock_stop(wf_kafka_mock *m);

int wf_kafka_mock_create_topic(wf_kafka_mock *m, const char *topic, int partitions, wf_error *err);

/* Queues one message on the mock's own producer (key may be NULL). */
int wf_kafka_mock_produce(wf_kafka_mock *m, const char *topic, const void *key, size_t key_len,
                          const void *value, size_t len, wf_error *err);
/* Waits until every queued message is acknowledged. */
int wf_kafka_mock_flush(wf_kafka_mock *m, int timeout_ms, wf_error *err);

/* Chooses the key of one line (the conversation id); *key borrowed from line
 * or ctx until the next call. Returns 0, or <0 to stop with that code. */
typedef int (*wf_kafka_mock_key_fn)(void *ctx, const char *line, size_t len, const char **key,
                                    size_t *key_len);

/* Produces every non-empty line of path (without its newline) as one
 * message keyed by key_fn (unkeyed when key_fn is NULL), then flushes.
 * *count receives the number of messages. */
int wf_kafka_mock_produce_lines(wf_kafka_mock *m, const char *topic, const char *path,
                                wf_kafka_mock_key_fn key_fn, void *ctx, size_t *count,
                                wf_error *err);

/* One message read back; every buffer is owned by the record. */
typedef struct wf_kafka_record {
    int32_t partition;
    int64_t offset;
    char *key; /* NUL-terminated copies; NULL when absent */
    size_t key_len;
    char *value;
    size_t len;
    size_t nheaders;
    char **header_names;
    char **header_values; /* NUL-terminated; "" for a NULL value */
} wf_kafka_record;

/* Reads every message of topic from the beginning to the end it has now,
 * ordered by partition then offset. The array is the caller's
 * (wf_kafka_records_free). */
int wf_kafka_mock_read_topic(wf_kafka_mock *m, const char *topic, int timeout_ms,
                             wf_kafka_record **out, size_t *n, wf_error *err);
/* The value of the last header called name, or NULL. */
const char *wf_kafka_record_header(const wf_kafka_record *r, const char *name);
void wf_kafka_records_free(wf_kafka_record *recs, size_t n);

#endif
