/* The fleet's samples topic: committed samples walked in sequence order,
 * produced keyed by id, and a cursor that moves only over confirmed ones.
 *
 * The samples in flight sit in a ring in production order, each with its
 * sequence number and whether the broker confirmed it; the cursor is the
 * number of the last one in an unbroken run of confirmed ones from the
 * ring's head. Each message carries its production index as its opaque, so
 * a report finds its slot without a search; indices are never reused, so a
 * report can be matched even after a rewind (it cannot arrive then: a
 * rewind waits for every report). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source/source_int.h"
#include "wildfeed/log.h"
#include "wildfeed/metrics.h"
#include "wildfeed/publisher.h"

/* After a failed delivery, the publisher waits this long before sending
 * from its cursor again: librdkafka has already retried for
 * message.timeout.ms, so the broker is unlikely to be back at once. */
#define WF_PUBLISH_RETRY_S 1.0

_Static_assert(sizeof(uintptr_t) >= sizeof(uint64_t), "indices travel as message opaques");

struct wf_publisher {
    rd_kafka_t *rk;
    char *topic;
    char *cursor_name; /* "fleet:<topic>" */
    wf_store *store;
    wf_strbuf line;
    int64_t ring_seq[WF_PUBLISH_WINDOW];
    unsigned char ring_done[WF_PUBLISH_WINDOW];
    unsigned char ring_alone[WF_PUBLISH_WINDOW]; /* sent with nothing else in flight */
    uint64_t head, next;  /* production indices: oldest in flight, next to produce */
    size_t unreported;    /* produced, no report yet */
    int64_t queued;       /* every committed sample up to here has been produced */
    int64_t saved;        /* the cursor as last written to the store */
    int failing;          /* a delivery failed: go back once every report is in */
    int closing;          /* purging at free: reports no longer count */
    int64_t solo_until;   /* up to here, send one sample at a time (see dr_cb) */
    int64_t dropped_upto; /* the last sample given up, not to be counted twice */
    double retry_at;
    _Atomic int64_t confirmed, committed;
    _Atomic uint64_t produced, failed, rewinds, too_large, in_flight;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int too_big(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           e == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

/* Failures can repeat quickly while a broker is away: log the 1st, 2nd,
 * 4th, 8th, ... so the log stays readable. */
static int worth_logging(uint64_t n)
{
    return (n & (n - 1)) == 0;
}

/* Moves the cursor over the confirmed run at the ring's head; an empty ring
 * means every produced sample is confirmed, up to what was queued. */
static void advance(wf_publisher *p)
{
    while (p->head < p->next && p->ring_done[p->head % WF_PUBLISH_WINDOW]) {
        p->confirmed = p->ring_seq[p->head % WF_PUBLISH_WINDOW];
        p->head++;
    }
    if (p->head == p->next && !p->failing)
        p->confirmed = p->queued;
    p->in_flight = p->next - p->head;
}

/* A sample too big for the topic: logged with its id and counted once
 * (a rewind may meet it again), then passed over. */
static void give_up(wf_publisher *p, int64_t seq, const void *key, size_t key_len,
                    rd_kafka_resp_err_t e)
{
    char id[256];
    if (seq <= p->dropped_upto)
        return;
    p->dropped_upto = seq;
    snprintf(id, sizeof id, "%.*s", (int)(key_len < 255 ? key_len : 255),
             key ? (const char *)key : "");
    p->too_large++;
    wf_log(WF_LOG_ERROR, "sample too big for the samples topic: not published", "id", id, "err",
           rd_kafka_err2name(e), "topic", p->topic, NULL);
}

/* The broker judges its size limit on a whole batch and refuses every
 * sample in it, small ones too: a too-large report is a failure like any
 * other, after which the samples up to the last one produced go again one
 * at a time, and only a sample refused alone is given up. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    wf_publisher *p = opaque;
    uint64_t idx = (uint64_t)(uintptr_t)m->_private;
    (void)rk;
    if (p->closing)
        return;
    p->unreported--;
    int live = idx >= p->head && idx < p->next;
    int64_t seq = live ? p->ring_seq[idx % WF_PUBLISH_WINDOW] : 0;
    int alone = live && p->ring_alone[idx % WF_PUBLISH_WINDOW];
    if (m->err && !(too_big(m->err) && alone)) {
        uint64_t failed = ++p->failed;
        p->failing = 1;
        if (too_big(m->err) && p->queued > p->solo_until)
            p->solo_until = p->queued;
        if (worth_logging(failed))
            wf_log(WF_LOG_WARN, "sample delivery failed; sending again from the cursor", "err",
                   rd_kafka_err2name(m->err), "topic", p->topic, NULL);
        return;
    }
    if (m->err)
        give_up(p, seq, m->key, m->key_len, m->err);
    else
        p->produced++;
    if (live)
        p->ring_done[idx % WF_PUBLISH_WINDOW] = 1;
    advance(p);
}

/* Everything after the cursor goes again, read afresh from the store: a
 * sample replaced meanwhile goes in its new version only. */
static void rewind_to_cursor(wf_publisher *p)
{
    p->queued = p->confirmed;
    p->head = p->next;
    p->failing = 0;
    p->rewinds++;
    p->in_flight = 0;
    p->retry_at = now_s() + WF_PUBLISH_RETRY_S;
}

static void push(wf_publisher *p, int64_t seq, int done)
{
    p->ring_seq[p->next % WF_PUBLISH_WINDOW] = seq;
    p->ring_done[p->next % WF_PUBLISH_WINDOW] = (unsigned char)done;
    /* In solo mode nothing else is in flight, nor produced until it is
     * reported: its request carries it alone. */
    p->ring_alone[p->next % WF_PUBLISH_WINDOW] = p->queued < p->solo_until;
    p->next++;
    p->queued = seq;
}

/* The walk's callback: 0 to go on, 1 to stop for now (a full queue, a
 * refusal, a fatal producer error), WF_ENOMEM. */
static int send_one(void *ctx, int64_t seq, const wf_sample *smp)
{
    wf_publisher *p = ctx;
    const char *id = smp->cand->id;
    wf_strbuf_reset(&p->line);
    wf_sample_to_jsonl(smp, &p->line);
    if (p->line.oom)
        return WF_ENOMEM;
    rd_kafka_resp_err_t e =
        rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(p->topic), RD_KAFKA_V_KEY(id, strlen(id)),
                          RD_KAFKA_V_VALUE(p->line.data, p->line.len - 1), /* without the newline */
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_OPAQUE((void *)(uintptr_t)p->next), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        push(p, seq, 0);
        p->unreported++;
        return 0;
    }
    if (too_big(e)) { /* over the producer's own limit: alone, by definition */
        give_up(p, seq, id, strlen(id), e);
        push(p, seq, 1);
        return 0;
    }
    /* A full queue drains as the broker answers; a fatal error is reported
     * by the next pump. */
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL && e != RD_KAFKA_RESP_ERR__FATAL) {
        uint64_t failed = ++p->failed;
        p->retry_at = now_s() + WF_PUBLISH_RETRY_S;
        if (worth_logging(failed))
            wf_log(WF_LOG_WARN, "sample refused by the producer; trying again", "err",
                   rd_kafka_err2name(e), "topic", p->topic, NULL);
    }
    return 1;
}

typedef struct walk_count {
    wf_publisher *p;
    size_t seen;
} walk_count;

static int count_and_send(void *ctx, int64_t seq, const wf_sample *smp)
{
    walk_count *w = ctx;
    int rc = send_one(w->p, seq, smp);
    w->seen += rc == 0;
    return rc;
}

static int produce_more(wf_publisher *p, int64_t committed_seq, wf_error *err)
{
    size_t in_flight = (size_t)(p->next - p->head);
    size_t room = WF_PUBLISH_WINDOW - in_flight;
    if (p->queued < p->solo_until)
        room = in_flight ? 0 : 1;
    if (room == 0 || p->queued >= committed_seq || now_s() < p->retry_at)
        return 0;
    walk_count w = {p, 0};
    int rc = wf_store_walk_seq(p->store, p->queued, committed_seq, room, count_and_send, &w, err);
    if (rc == WF_ENOMEM)
        return wf_error_set(err, WF_ENOMEM, "samples topic: out of memory");
    if (rc < 0)
        return rc;
    if (rc == 0 && w.seen < room) /* nothing else is committed up to committed_seq */
        p->queued = committed_seq;
    advance(p);
    return 0;
}

int wf_publisher_pump(wf_publisher *p, int64_t committed_seq, wf_error *err)
{
    char why[256];
    p->committed = committed_seq;
    if (rd_kafka_fatal_error(p->rk, why, sizeof why))
        return wf_error_set(err, WF_EIO, "samples topic %s: the producer failed for good: %s",
                            p->topic, why);
    rd_kafka_poll(p->rk, 0);
    if (p->failing && p->unreported == 0)
        rewind_to_cursor(p);
    if (p->failing)
        return 0;
    return produce_more(p, committed_seq, err);
}

int wf_publisher_save(wf_publisher *p, wf_error *err)
{
    int64_t at = p->confirmed;
    if (at == p->saved)
        return 0;
    int rc = wf_store_cursor_put(p->store, p->cursor_name, at, err);
    if (rc == 0)
        p->saved = at;
    return rc;
}

int wf_publisher_moved(const wf_publisher *p)
{
    return p->confirmed != p->saved;
}

int wf_publisher_finish(wf_publisher *p, int64_t committed_seq, int deadline_ms, wf_error *err)
{
    double until = now_s() + deadline_ms / 1000.0;
    int rc = 0;
    while (rc == 0 && p->confirmed < committed_seq) {
        rc = wf_publisher_pump(p, committed_seq, err);
        if (now_s() >= until)
            break;
        rd_kafka_poll(p->rk, 50);
    }
    int saved = wf_publisher_save(p, rc < 0 ? NULL : err);
    if (rc == 0)
        rc = saved;
    if (rc == 0 && p->confirmed < committed_seq)
        rc = wf_error_set(err, WF_ETIMEOUT,
                          "samples topic %s: samples after %" PRId64 " not confirmed in %d ms;"
                          " they go at the next start",
                          p->topic, (int64_t)p->confirmed, deadline_ms);
    return rc;
}

/* Idempotence keeps each partition's order through retries, so a sample's
 * later version is not overtaken by its earlier one. */
static int idempotent(rd_kafka_conf_t *conf, const wf_config *cfg, wf_error *err)
{
    char errstr[512];
    if (!wf_config_str(cfg, "kafka.enable.idempotence") &&
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof errstr))
        return wf_error_set(err, WF_EINVAL, "kafka samples producer: %s", errstr);
    return 0;
}

static int read_cursor(wf_publisher *p, wf_error *err)
{
    int64_t at = 0;
    int rc = wf_store_cursor_get(p->store, p->cursor_name, &at, err);
    if (rc < 0)
        return rc;
    p->queued = p->saved = at;
    p->confirmed = at;
    return 0;
}

int wf_publisher_new(const wf_config *cfg, wf_store *store, wf_publisher **out, wf_error *err)
{
    const char *topic = wf_config_str(cfg, "sample.topic");
    *out = NULL;
    if (!topic || !*topic)
        return 0;
    /* A trainer that shares its labellers' configuration would send each
     * sample it takes from the topic back to it. */
    for (size_t i = 0; i < wf_config_list_len(cfg, "source.topics"); i++)
        if (strcmp(wf_config_list_at(cfg, "source.topics", i), topic) == 0)
            return wf_error_set(err, WF_EINVAL,
                                "configuration key 'sample.topic': %s is also in source.topics; "
                                "an instance does not publish to the topic it reads",
                                topic);
    wf_publisher *p = calloc(1, sizeof *p);
    size_t name_len = strlen(topic) + sizeof "fleet:";
    if (p) {
        p->topic = strdup(topic);
        p->cursor_name = malloc(name_len);
    }
    if (!p || !p->topic || !p->cursor_name) {
        wf_publisher_free(p);
        return wf_error_set(err, WF_ENOMEM, "samples topic: out of memory");
    }
    snprintf(p->cursor_name, name_len, "fleet:%s", topic);
    p->store = store;
    wf_strbuf_init(&p->line);
    int rc = read_cursor(p, err);
    if (rc == 0)
        rc = wf_src_producer_new(cfg, "samples", idempotent, dr_cb, p, &p->rk, err);
    if (rc < 0) {
        wf_publisher_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void wf_publisher_stats(const wf_publisher *p, wf_publisher_counters *out)
{
    *out = (wf_publisher_counters){
        .produced = p->produced,
        .failed = p->failed,
        .rewinds = p->rewinds,
        .too_large = p->too_large,
        .in_flight = p->in_flight,
        .confirmed = p->confirmed,
        .committed = p->committed,
    };
}

static void metric(wf_strbuf *out, const char *name, const char *type, const char *help, double v)
{
    wf_metrics_header(out, name, type, help);
    wf_metrics_line_f64(out, name, NULL, v);
}

void wf_publisher_collect(void *ctx, wf_strbuf *out)
{
    wf_publisher_counters c;
    wf_publisher_stats(ctx, &c);
    metric(out, "wildfeed_fleet_samples_produced_total", "counter",
           "Samples the broker confirmed on the samples topic.", (double)c.produced);
    metric(out, "wildfeed_fleet_delivery_failures_total", "counter",
           "Sample deliveries that failed (sent again from the cursor).", (double)c.failed);
    metric(out, "wildfeed_fleet_rewinds_total", "counter",
           "Times the publisher went back to its cursor after a failure.", (double)c.rewinds);
    metric(out, "wildfeed_fleet_samples_too_large_total", "counter",
           "Samples too big for the samples topic: logged and not published.", (double)c.too_large);
    metric(out, "wildfeed_fleet_in_flight", "gauge", "Samples produced and not yet confirmed.",
           (double)c.in_flight);
    metric(out, "wildfeed_fleet_confirmed_seq", "gauge",
           "Sequence number up to which every sample is confirmed.", (double)c.confirmed);
    metric(out, "wildfeed_fleet_committed_seq", "gauge",
           "Sequence number of the last committed sample (minus confirmed: the backlog).",
           (double)c.committed);
}

void wf_publisher_free(wf_publisher *p)
{
    if (!p)
        return;
    if (p->rk) {
        p->closing = 1;
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(p->rk, 0);
        rd_kafka_destroy(p->rk);
    }
    wf_strbuf_free(&p->line);
    free(p->cursor_name);
    free(p->topic);
    free(p);
}
