/* Shared pieces of the Kafka source tests: a configuration pointing at a mock
 * cluster, numbered test messages ("m<i>"), and a record of which numbers a
 * consumer has seen. Header-only (static inline) so each test file takes what
 * it uses. */
#ifndef WF_TEST_SOURCE_HARNESS_H
#define WF_TEST_SOURCE_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source/mock.h"
#include "testutil.h"
#include "wildfeed/config.h"
#include "wildfeed/log.h"
#include "wildfeed/source.h"

static inline void h_set(wf_config *c, const char *fmt, const char *value)
{
    char kv[512];
    wf_error err = {0};
    snprintf(kv, sizeof kv, fmt, value);
    if (wf_config_set(c, kv, &err) != 0)
        fail_msg("config %s: %s", kv, err.msg);
}

/* A configuration for group `group` reading `topic` from the mock, tuned for
 * quick group joins. */
static inline wf_config *h_config(wf_kafka_mock *m, const char *topic, const char *group)
{
    wf_config *c = wf_config_new();
    assert_non_null(c);
    h_set(c, "kafka.bootstrap.servers=%s", wf_kafka_mock_bootstrap(m));
    h_set(c, "source.topics=%s", topic);
    h_set(c, "kafka.group.id=%s", group);
    h_set(c, "kafka.auto.offset.reset=%s", "earliest");
    h_set(c, "kafka.heartbeat.interval.ms=%s", "300");
    h_set(c, "kafka.session.timeout.ms=%s", "6000");
    h_set(c, "kafka.auto.commit.interval.ms=%s", "500");
    return c;
}

static inline wf_kafka_mock *h_mock(int brokers, const char *topic, int partitions)
{
    wf_error err = {0};
    wf_kafka_mock *m = wf_kafka_mock_start(brokers, &err);
    if (!m)
        fail_msg("mock: %s", err.msg);
    if (wf_kafka_mock_create_topic(m, topic, partitions, &err))
        fail_msg("topic: %s", err.msg);
    return m;
}

/* Produces messages "m<from>".."m<to-1>" keyed "k<i % 37>", then flushes. */
static inline void h_produce(wf_kafka_mock *m, const char *topic, int from, int to)
{
    wf_error err = {0};
    for (int i = from; i < to; i++) {
        char key[32], value[64];
        int kl = snprintf(key, sizeof key, "k%d", i % 37);
        int vl = snprintf(value, sizeof value, "m%d", i);
        if (wf_kafka_mock_produce(m, topic, key, (size_t)kl, value, (size_t)vl, &err))
            fail_msg("produce: %s", err.msg);
    }
    if (wf_kafka_mock_flush(m, 20000, &err))
        fail_msg("flush: %s", err.msg);
}

/* The number in a test message's value, -1 when it is not one. */
static inline int h_number(const wf_source_msg *msg)
{
    char buf[32];
    if (!msg->value || msg->len < 2 || msg->len >= sizeof buf)
        return -1;
    memcpy(buf, msg->value, msg->len);
    buf[msg->len] = '\0';
    return buf[0] == 'm' ? atoi(buf + 1) : -1;
}

static inline wf_source *h_source(const wf_config *c, const wf_source_hooks *hooks)
{
    wf_error err = {0};
    wf_source *s = wf_source_new(c, hooks, &err);
    if (!s)
        fail_msg("source: %s", err.msg);
    return s;
}

static inline double h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls until `want` messages came or timeout_s passed, marking each done at
 * once and counting it in seen[number]. Returns how many came. */
static inline int h_drain_all(wf_source *s, int *seen, int n, int want, double timeout_s)
{
    int got = 0;
    double until = h_now() + timeout_s;
    while (got < want && h_now() < until) {
        wf_source_msg msg;
        wf_error err = {0};
        int rc = wf_source_poll(s, &msg, 100, &err);
        if (rc == WF_EAGAIN)
            continue;
        assert_int_equal(rc, 0);
        int i = h_number(&msg);
        assert_true(i >= 0 && i < n);
        seen[i]++;
        got++;
        wf_source_done(s, msg.tag);
    }
    return got;
}

/* A fresh consumer in `group` must get nothing within a few seconds: every
 * offset was committed. */
static inline int h_leftover(wf_kafka_mock *m, const char *topic, const char *group, double wait_s)
{
    wf_config *c = h_config(m, topic, group);
    wf_source *s = h_source(c, NULL);
    int n = 0;
    double until = h_now() + wait_s;
    while (h_now() < until) {
        wf_source_msg msg;
        if (wf_source_poll(s, &msg, 100, NULL) == 0) {
            n++;
            wf_source_done(s, msg.tag);
        }
    }
    assert_int_equal(wf_source_close(s, 5000, NULL), 0);
    wf_config_free(c);
    return n;
}

static inline void h_quiet_logs(void)
{
    wf_log_setup(WF_LOG_ERROR, WF_LOG_LOGFMT, NULL);
}

#endif
