/* Dead letters: the original bytes go to source.dlq_topic with headers naming
 * the reason and the origin; the source message is done only once the broker
 * has confirmed the copy, so its offset is never stored before.
 *
 * A failed delivery is sent again, and a dead letter the producer refuses
 * (a missing topic, an ACL) stays not done: its partition waits, replayed
 * from there on the next start, until an operator mends the topic (the
 * alerts on dlq_failed and the lag show it). But a record too big for the
 * topic would never pass, and would hold its partition back for good: it
 * goes again cut to WF_DLQ_TRUNCATED_BYTES with a wf-truncated header giving
 * its size, and when even the cut copy is too big it is given up: logged
 * with the record's origin, counted, and done. The producer sends one dead
 * letter per request, so that a refusal concerns that one alone. */
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

static int too_big(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           e == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

/* The value of header name in hdrs as a string, "" when absent. */
static void header_value(rd_kafka_headers_t *hdrs, const char *name, char *buf, size_t cap)
{
    const void *v = NULL;
    size_t n = 0;
    buf[0] = '\0';
    if (hdrs && rd_kafka_header_get_last(hdrs, name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR && v)
        snprintf(buf, cap, "%.*s", (int)n, (const char *)v);
}

/* Gives a dead letter up: logged with the record's origin and counted; the
 * message is done, so its partition moves on. */
static void give_up(wf_source *s, const char *topic, const char *partition, const char *offset,
                    rd_kafka_resp_err_t e, uint64_t tag)
{
    s->dlq_dropped++;
    wf_log(WF_LOG_ERROR, "dead letter given up: the bad record is dropped", "err",
           rd_kafka_err2name(e), "topic", topic, "partition", partition, "offset", offset, NULL);
    wf_source_done(s, tag);
}

/* give_up with the origin the dead letter's headers name. */
static void drop(wf_source *s, rd_kafka_headers_t *hdrs, rd_kafka_resp_err_t e, uint64_t tag)
{
    char topic[256], partition[16], offset[24];
    header_value(hdrs, "wf-topic", topic, sizeof topic);
    header_value(hdrs, "wf-partition", partition, sizeof partition);
    header_value(hdrs, "wf-offset", offset, sizeof offset);
    give_up(s, topic, partition, offset, e, tag);
}

/* Marks hdrs as those of a record of len bytes cut short. */
static void mark_cut(rd_kafka_headers_t *hdrs, size_t len)
{
    char size[24];
    snprintf(size, sizeof size, "%zu", len);
    rd_kafka_header_remove(hdrs, "wf-truncated");
    rd_kafka_header_add(hdrs, "wf-truncated", -1, size, -1);
}

/* The next try of a dead letter the broker refused: again as it was, cut
 * short when it was too big (a value cut is enough but for a huge key), or
 * given up when even that was. hdrs (a copy) is consumed; 0 when queued or
 * given up, else the producer's refusal. */
static rd_kafka_resp_err_t send_again(wf_source *s, const rd_kafka_message_t *m,
                                      rd_kafka_headers_t *hdrs, uint64_t tag)
{
    size_t len = m->len;
    if (too_big(m->err)) {
        if (len <= WF_DLQ_TRUNCATED_BYTES) {
            drop(s, hdrs, m->err, tag);
            rd_kafka_headers_destroy(hdrs);
            return RD_KAFKA_RESP_ERR_NO_ERROR;
        }
        mark_cut(hdrs, len);
        len = WF_DLQ_TRUNCATED_BYTES;
    }
    rd_kafka_resp_err_t e = produce(s, m->key, m->key_len, m->payload, len, hdrs, tag);
    if (e)
        rd_kafka_headers_destroy(hdrs);
    else if (len < m->len)
        s->dlq_truncated++;
    return e;
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
        wf_log(WF_LOG_WARN, "dead letter delivery failed", "err", rd_kafka_err2name(m->err), NULL);
    rd_kafka_headers_t *hdrs = NULL;
    if (s->closing || rd_kafka_message_headers(m, &hdrs) != 0) {
        s->dlq_pending--; /* not done: the offset stays unstored, replayed next run */
        return;
    }
    rd_kafka_resp_err_t e = send_again(s, m, rd_kafka_headers_copy(hdrs), tag);
    int dropped = too_big(m->err) && m->len <= WF_DLQ_TRUNCATED_BYTES;
    if (e || dropped)
        s->dlq_pending--;
    if (e)
        wf_log(WF_LOG_ERROR, "dead letter not requeued; its offset stays unstored", "err",
               rd_kafka_err2name(e), NULL);
}

/* The producer's message limit (librdkafka's default, 1,000,000 bytes, is
 * below input.max_record_bytes' default) is raised to hold any record the
 * source accepts, with its headers, and each request carries one dead
 * letter; kafka.message.max.bytes and kafka.batch.num.messages override. */
static int fit_records(rd_kafka_conf_t *conf, const wf_config *cfg, wf_error *err)
{
    char want[32], errstr[256];
    long long bytes = (long long)wf_config_int(cfg, "input.max_record_bytes") + 65536;
    snprintf(want, sizeof want, "%lld", bytes < 1000000000 ? bytes : 1000000000);
    if ((!wf_config_str(cfg, "kafka.message.max.bytes") && bytes > 1000000 &&
         rd_kafka_conf_set(conf, "message.max.bytes", want, errstr, sizeof errstr)) ||
        (!wf_config_str(cfg, "kafka.batch.num.messages") &&
         rd_kafka_conf_set(conf, "batch.num.messages", "1", errstr, sizeof errstr)))
        return wf_error_set(err, WF_EINVAL, "kafka dead-letter producer: %s", errstr);
    return 0;
}

int wf_src_dlq_new(wf_source *s, const wf_config *cfg, wf_error *err)
{
    const char *topic = wf_config_str(cfg, "source.dlq_topic");
    if (!topic || !*topic)
        return 0;
    s->dlq_topic = strdup(topic);
    if (!s->dlq_topic)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    return wf_src_producer_new(cfg, "dead-letter", fit_records, dr_cb, s, &s->producer, err);
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

void wf_source_dead_letter(wf_source *s, const wf_source_msg *m, const char *reason,
                           const char *error_text)
{
    if (!s->producer) {
        log_skipped(m, reason, error_text ? error_text : "");
        s->dlq_skipped++;
        wf_source_done(s, m->tag);
        return;
    }
    rd_kafka_headers_t *h = make_headers(m, reason, error_text);
    size_t len = m->len;
    rd_kafka_resp_err_t e;
    /* A full local queue drains as the broker acknowledges: wait for it. A
     * record over the producer's limit goes cut short at once. */
    while ((e = produce(s, m->key, m->key_len, m->value, len, h, m->tag)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL ||
           (too_big(e) && len > WF_DLQ_TRUNCATED_BYTES)) {
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(s->producer, 100);
        } else {
            mark_cut(h, len);
            len = WF_DLQ_TRUNCATED_BYTES;
        }
    }
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        s->dlq_truncated += len < m->len;
        s->dlq_pending++;
        return;
    }
    rd_kafka_headers_destroy(h);
    char partition[16], offset[24];
    snprintf(partition, sizeof partition, "%" PRId32, m->partition);
    snprintf(offset, sizeof offset, "%" PRId64, m->offset);
    if (too_big(e)) { /* even cut short: nothing can carry it */
        give_up(s, m->topic, partition, offset, e, m->tag);
        return;
    }
    s->dlq_failed++;
    wf_log(WF_LOG_ERROR, "dead letter refused; its offset stays unstored", "err",
           rd_kafka_err2name(e), "topic", m->topic, "partition", partition, "offset", offset, NULL);
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
