/* The mock cluster and its producer helpers. */
#include "source/mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/source_int.h"

struct wf_kafka_mock {
    rd_kafka_t *host; /* handle whose threads run the cluster */
    rd_kafka_mock_cluster_t *cluster;
    rd_kafka_t *producer; /* created on first produce */
    _Atomic uint64_t failed;
};

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf, wf_error *err)
{
    char errstr[512];
    rd_kafka_conf_set_log_cb(conf, wf_src_log_cb);
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        wf_error_set(err, WF_EINVAL, "kafka client: %s", errstr);
    }
    return rk;
}

wf_kafka_mock *wf_kafka_mock_start(int brokers, wf_error *err)
{
    wf_kafka_mock *m = calloc(1, sizeof *m);
    if (!m) {
        wf_error_set(err, WF_ENOMEM, "out of memory");
        return NULL;
    }
    /* The host handle never connects anywhere: spare the log its warning. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    m->host = new_client(RD_KAFKA_PRODUCER, conf, err);
    if (m->host)
        m->cluster = rd_kafka_mock_cluster_new(m->host, brokers);
    if (!m->cluster) {
        if (m->host)
            wf_error_set(err, WF_EIO, "cannot start a mock cluster of %d brokers", brokers);
        wf_kafka_mock_stop(m);
        return NULL;
    }
    return m;
}

const char *wf_kafka_mock_bootstrap(const wf_kafka_mock *m)
{
    return rd_kafka_mock_cluster_bootstraps(m->cluster);
}

rd_kafka_mock_cluster_t *wf_kafka_mock_cluster(wf_kafka_mock *m)
{
    return m->cluster;
}

void wf_kafka_mock_stop(wf_kafka_mock *m)
{
    if (!m)
        return;
    if (m->producer)
        rd_kafka_destroy(m->producer);
    if (m->cluster)
        rd_kafka_mock_cluster_destroy(m->cluster);
    if (m->host)
        rd_kafka_destroy(m->host);
    free(m);
}

int wf_kafka_mock_create_topic(wf_kafka_mock *m, const char *topic, int partitions, wf_error *err)
{
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(m->cluster, topic, partitions, 1);
    if (e)
        return wf_error_set(err, WF_EREMOTE, "mock topic '%s': %s", topic, rd_kafka_err2str(e));
    return 0;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    wf_kafka_mock *m = opaque;
    (void)rk;
    if (msg->err)
        m->failed++;
}

static int ensure_producer(wf_kafka_mock *m, wf_error *err)
{
    if (m->producer)
        return 0;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", wf_kafka_mock_bootstrap(m), errstr,
                          sizeof errstr) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof errstr)) {
        rd_kafka_conf_destroy(conf);
        return wf_error_set(err, WF_EINVAL, "mock producer: %s", errstr);
    }
    rd_kafka_conf_set_opaque(conf, m);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    m->producer = new_client(RD_KAFKA_PRODUCER, conf, err);
    return m->producer ? 0 : WF_EINVAL;
}

int wf_kafka_mock_produce(wf_kafka_mock *m, const char *topic, const void *key, size_t key_len,
                          const void *value, size_t len, wf_error *err)
{
    int rc = ensure_producer(m, err);
    if (rc < 0)
        return rc;
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(
                m->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
                RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(m->producer, 50);
    if (e)
        return wf_error_set(err, WF_EREMOTE, "mock produce to '%s': %s", topic,
                            rd_kafka_err2str(e));
    rd_kafka_poll(m->producer, 0);
    return 0;
}

int wf_kafka_mock_flush(wf_kafka_mock *m, int timeout_ms, wf_error *err)
{
    if (!m->producer)
        return 0;
    if (rd_kafka_flush(m->producer, timeout_ms))
        return wf_error_set(err, WF_ETIMEOUT, "mock producer: not flushed in %d ms", timeout_ms);
    if (m->failed)
        return wf_error_set(err, WF_EREMOTE, "mock producer: %llu deliveries failed",
                            (unsigned long long)m->failed);
    return 0;
}

int wf_kafka_mock_produce_lines(wf_kafka_mock *m, const char *topic, const char *path,
                                wf_kafka_mock_key_fn key_fn, void *ctx, size_t *count,
                                wf_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return wf_error_set(err, WF_EIO, "cannot open '%s'", path);
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            got--;
        if (got == 0)
            continue;
        const char *key = NULL;
        size_t key_len = 0;
        if (key_fn && (rc = key_fn(ctx, line, (size_t)got, &key, &key_len)) < 0)
            rc = wf_error_set(err, rc, "'%s' line %zu: no key", path, n + 1);
        else
            rc = wf_kafka_mock_produce(m, topic, key, key_len, line, (size_t)got, err);
        n += rc == 0;
    }
    free(line);
    fclose(f);
    if (count)
        *count = n;
    return rc < 0 ? rc : wf_kafka_mock_flush(m, 30000, err);
}
