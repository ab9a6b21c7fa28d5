/* librdkafka configuration from the kafka.* keys, and its log routing. */
#include <stdio.h>
#include <string.h>

#include "source/source_int.h"
#include "wildfeed/log.h"

struct fill_ctx {
    rd_kafka_conf_t *conf;
    int producer;
    int rc;
    wf_error *err;
};

/* Properties librdkafka only honours in a consumer; on the dead-letter
 * producer they would only produce warnings. */
static int consumer_only(const char *prop)
{
    static const char *const prefixes[] = {"group.",
                                           "enable.auto.",
                                           "auto.",
                                           "partition.assignment.strategy",
                                           "session.timeout.ms",
                                           "heartbeat.interval.ms",
                                           "max.poll.interval.ms",
                                           "enable.partition.eof",
                                           "isolation.level",
                                           "fetch.",
                                           "queued.",
                                           "check.crcs",
                                           "consume.callback.max.messages",
                                           "offset.store.",
                                           "allow.auto.create.topics",
                                           NULL};
    for (int i = 0; prefixes[i]; i++)
        if (strncmp(prop, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

static int is_true(const char *v)
{
    return strcmp(v, "false") != 0 && strcmp(v, "0") != 0;
}

static void put(void *ctx, const char *prop, const char *value)
{
    struct fill_ctx *c = ctx;
    char errstr[512];
    if (c->rc < 0)
        return;
    if (strcmp(prop, "enable.auto.offset.store") == 0) {
        if (is_true(value))
            c->rc = wf_error_set(c->err, WF_EINVAL,
                                 "configuration key 'kafka.enable.auto.offset.store': must be "
                                 "false (offsets are stored once work is durable)");
        return;
    }
    if (c->producer && consumer_only(prop))
        return;
    if (rd_kafka_conf_set(c->conf, prop, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        c->rc = wf_error_set(c->err, WF_EINVAL, "configuration key 'kafka.%s': %s", prop, errstr);
}

int wf_src_conf_fill(rd_kafka_conf_t *conf, const wf_config *cfg, int producer, wf_error *err)
{
    struct fill_ctx c = {conf, producer, 0, err};
    char errstr[512];
    if (!producer && rd_kafka_conf_set(conf, "group.id", "wildfeed", errstr, sizeof errstr))
        return wf_error_set(err, WF_EINVAL, "kafka: %s", errstr);
    wf_config_foreach_kafka(cfg, put, &c);
    if (c.rc < 0)
        return c.rc;
    if (!producer &&
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, sizeof errstr))
        return wf_error_set(err, WF_EINVAL, "kafka: %s", errstr);
    rd_kafka_conf_set_log_cb(conf, wf_src_log_cb);
    return 0;
}

int wf_src_producer_new(const wf_config *cfg, const char *what, wf_src_tune_fn tune,
                        wf_src_dr_fn dr, void *opaque, rd_kafka_t **out, wf_error *err)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = wf_src_conf_fill(conf, cfg, 1, err);
    if (rc == 0 && tune)
        rc = tune(conf, cfg, err);
    if (rc < 0) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_conf_set_dr_msg_cb(conf, dr);
    *out = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (*out)
        return 0;
    rd_kafka_conf_destroy(conf);
    return wf_error_set(err, WF_EINVAL, "kafka %s producer: %s", what, errstr);
}

void wf_src_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* syslog levels: 0..3 errors, 4 warning, 5..6 notice/info, 7 debug. */
    int lv = level <= 3   ? WF_LOG_ERROR
             : level == 4 ? WF_LOG_WARN
             : level <= 6 ? WF_LOG_INFO
                          : WF_LOG_DEBUG;
    wf_log(lv, "librdkafka", "client", rk ? rd_kafka_name(rk) : "", "fac", fac, "detail", buf,
           NULL);
}
