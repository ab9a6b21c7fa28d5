/* Dead letters: the original bytes go to source.dlq_topic with headers naming
 * the reason and the origin; the source message is done only once the broker
 * has confirmed the copy, so its offset is never stored before. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/source_int.h"
#include "wildfeed/log.h"

_Static_assert(sizeof(uintptr_t) >= sizeof(uint64_t), "tags travel as message opaques");

static void *tag_ptr(uint64_t tag)
{
    return (void *)(uintptr_t)tag;
}

static rd_kafka_resp_err_t produce(wf_source *s, const void *key, size_t key_len, const void *value,
                                   size_t len, rd_kafka_headers_t *hdrs, uint64_t tag)
{
    return rd_kafka_producev(s->producer, RD_KAFKA_V_TOPIC(s->dlq_topic),
                             RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
                             RD_KAFKA_V_OPAQUE(tag_ptr(tag)), RD_KAFKA_V_END);
}

/* Failures can repeat quickly (a non-retriable broker error): log the 1st,
 * 2nd, 4th, 8th, ... so the log stays readable. */
static int worth_logging(uint64_t n)
{
    return (n & (n - 1)) == 0;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    wf_source *s = opaque;
    uint64_t tag = (uint64_t)(uintptr_t)m->_private;
    (void)rk;
    if (!m->err) {
        s->dlq_produced++;
        s->dlq_pending--;
        wf_source_done(s, tag);
        return;
    }
    uint64_t failed = ++s->dlq_failed;
    if (worth_logging(failed))
        wf_log(WF_LOG_WARN, "dead letter delivery failed; retrying", "err",
               rd_kafka_err2name(m->err), NULL);
    rd_kafka_headers_t *hdrs = NULL;
    if (s->closing || rd_kafka_message_headers(m, &hdrs) != 0) {
        s->dlq_pending--; /* not done: the offset stays unstored, replayed next run */
        return;
    }
    hdrs = rd_kafka_headers_copy(hdrs);
    if (produce(s, m->key, m->key_len, m->payload, m->len, hdrs, tag) != 0) {
        rd_kafka_headers_destroy(hdrs);
        s->dlq_pending--;
        wf_log(WF_LOG_ERROR, "dead letter not requeued; its offset stays unstored", NULL);
    }
}

int wf_src_dlq_new(wf_source *s, const wf_config *cfg, wf_error *err)
{
    const char *topic = wf_config_str(cfg, "source.dlq_topic");
    char errstr[512];
    if (!topic || !*topic)
        return 0;
    s->dlq_topic = strdup(topic);
    if (!s->dlq_topic)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = wf_src_conf_fill(conf, cfg, 1, err);
    if (rc < 0) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    s->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!s->producer) {
        rd_kafka_conf_destroy(conf);
        return wf_error_set(err, WF_EINVAL, "kafka dead-letter producer: %s", errstr);
    }
    return 0;
}

static void log_skipped(const wf_source_msg *m, const char *reason, const char *error_text)
{
    char partition[16], offset[24];
    snprintf(partition, sizeof partition, "%" PRId32, m->partition);
    snprintf(offset, sizeof offset, "%" PRId64, m->offset);
    wf_log(WF_LOG_WARN, "bad message dropped", "reason", reason, "error", error_text, "topic",
           m->topic, "partition", partition, "offset", offset, NULL);
    if (wf_log_enabled(WF_LOG_DEBUG)) {
        char *copy = strndup(m->value ? (const char *)m->value : "", m->len);
        if (copy)
            wf_log(WF_LOG_DEBUG, "bad message content", "offset", offset, "content", copy, NULL);
        free(copy);
    }
}

static rd_kafka_headers_t *make_headers(const wf_source_msg *m, const char *reason,
                                        const char *error_text)
{
    char partition[16], offset[24];
    snprintf(partition, sizeof partition, "%" PRId32, m->partition);
    snprintf(offset, sizeof offset, "%" PRId64, m->offset);
    rd_kafka_headers_t *h = rd_kafka_headers_new(5);
    rd_kafka_header_add(h, "wf-reason", -1, reason, -1);
    rd_kafka_header_add(h, "wf-error", -1, error_text ? error_text : "", -1);
    rd_kafka_header_add(h, "wf-topic", -1, m->topic, -1);
    rd_kafka_header_add(h, "wf-partition", -1, partition, -1);
    rd_kafka_header_add(h, "wf-offset", -1, offset, -1);
    return h;
}

int wf_source_dead_letter(wf_source *s, const wf_source_msg *m, const char *reason,
                          const char *error_text, wf_error *err)
{
    if (!s->producer) {
        log_skipped(m, reason, error_text ? error_text : "");
        s->dlq_skipped++;
        wf_source_done(s, m->tag);
        return 0;
    }
    rd_kafka_headers_t *h = make_headers(m, reason, error_text);
    rd_kafka_resp_err_t e;
    /* A full local queue drains as the broker acknowledges: wait for it. */
    while ((e = produce(s, m->key, m->key_len, m->value, m->len, h, m->tag)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(s->producer, 100);
    if (e) {
        rd_kafka_headers_destroy(h);
        return wf_error_set(err, WF_EREMOTE, "dead letter to '%s': %s", s->dlq_topic,
                            rd_kafka_err2str(e));
    }
    s->dlq_pending++;
    return 0;
}

void wf_src_dlq_settle(wf_source *s, int timeout_ms)
{
    if (s->producer)
        rd_kafka_flush(s->producer, timeout_ms);
}

void wf_src_dlq_free(wf_source *s)
{
    if (!s->producer)
        return;
    s->closing = 1;
    rd_kafka_purge(s->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(s->producer, 0);
    rd_kafka_destroy(s->producer);
    s->producer = NULL;
}
