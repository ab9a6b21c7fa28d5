/* The Kafka source: creation, the poll loop with back-pressure, done, close. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source/source_int.h"
#include "wildfeed/log.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    wf_source *s = opaque;
    char fatal[512];
    s->consumer_errors++;
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
        s->fatal = 1;
        rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        wf_log(WF_LOG_ERROR, "kafka fatal error", "detail", fatal, NULL);
        return;
    }
    wf_log(WF_LOG_WARN, "kafka error", "code", rd_kafka_err2name(code), "detail", reason, NULL);
}

static int subscribe(wf_source *s, const wf_config *cfg, wf_error *err)
{
    size_t n = wf_config_list_len(cfg, "source.topics");
    if (n == 0)
        return wf_error_set(err, WF_EINVAL, "configuration key 'source.topics': no topic");
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(topics, wf_config_list_at(cfg, "source.topics", i),
                                          RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(s->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e)
        return wf_error_set(err, WF_EINVAL, "kafka subscribe: %s", rd_kafka_err2str(e));
    return 0;
}

static int consumer_new(wf_source *s, const wf_config *cfg, wf_error *err)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = wf_src_conf_fill(conf, cfg, 0, err);
    if (rc < 0) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_rebalance_cb(conf, wf_src_rebalance_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, wf_src_commit_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!s->rk) {
        rd_kafka_conf_destroy(conf);
        return wf_error_set(err, WF_EINVAL, "kafka consumer: %s", errstr);
    }
    rd_kafka_poll_set_consumer(s->rk);
    return subscribe(s, cfg, err);
}

static void source_free(wf_source *s)
{
    /* Messages hold references on their client: rd_kafka_destroy waits for
     * them, so they go first. Dead-letter reports still reach the tracker. */
    wf_src_held_free(s);
    wf_src_dlq_free(s);
    wf_src_tracker_free(&s->tracker);
    if (s->rk)
        rd_kafka_destroy(s->rk);
    free(s->dlq_topic);
    free(s);
}

wf_source *wf_source_new(const wf_config *cfg, const wf_source_hooks *hooks, wf_error *err)
{
    wf_source *s = calloc(1, sizeof *s);
    if (!s) {
        wf_error_set(err, WF_ENOMEM, "out of memory");
        return NULL;
    }
    wf_src_tracker_init(&s->tracker);
    if (hooks)
        s->hooks = *hooks;
    s->max_in_flight = (size_t)wf_config_int(cfg, "source.max_in_flight");
    s->drain_deadline_ms = (int)wf_config_int(cfg, "source.drain_deadline_ms");
    if (wf_src_held_init(s, WF_SRC_HELD_SLACK) < 0) {
        wf_error_set(err, WF_ENOMEM, "out of memory");
        source_free(s);
        return NULL;
    }
    if (consumer_new(s, cfg, err) < 0 || wf_src_dlq_new(s, cfg, err) < 0) {
        source_free(s);
        return NULL;
    }
    wf_log(WF_LOG_INFO, "kafka source started", "topics",
           wf_config_list_at(cfg, "source.topics", 0), "dlq", s->dlq_topic ? s->dlq_topic : "",
           NULL);
    return s;
}

int wf_source_has_dlq(const wf_source *s)
{
    return s->producer != NULL;
}

void wf_src_store_offsets(wf_source *s)
{
    rd_kafka_topic_partition_list_t *list = wf_src_tracker_take_dirty(&s->tracker);
    if (!list)
        return;
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(s->rk, list);
    if (e) {
        /* A partition revoked meanwhile fails with __STATE; retry the others. */
        wf_src_tracker_restore_dirty(&s->tracker, list);
        wf_log(WF_LOG_DEBUG, "offset store incomplete", "err", rd_kafka_err2name(e), NULL);
    }
    s->offsets_stored += (uint64_t)list->cnt;
    rd_kafka_topic_partition_list_destroy(list);
}

int wf_src_commit_sync(wf_source *s)
{
    rd_kafka_resp_err_t e = rd_kafka_commit(s->rk, NULL, 0);
    if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        wf_log(WF_LOG_WARN, "offset commit failed", "err", rd_kafka_err2name(e), NULL);
        return WF_EREMOTE;
    }
    return 0;
}

void wf_src_set_paused(wf_source *s, int pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(s->rk, &parts) == 0 && parts) {
        if (pause)
            rd_kafka_pause_partitions(s->rk, parts);
        else
            rd_kafka_resume_partitions(s->rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
    }
    if (pause && !s->paused)
        s->pauses++;
    if (pause != s->paused)
        wf_log(WF_LOG_DEBUG, pause ? "source paused" : "source resumed", NULL);
    s->paused = pause;
    s->paused_gauge = pause;
}

/* A short stall is waited out without polling the consumer: librdkafka stops
 * fetching once its own bounded queue is full, and resuming a paused
 * partition costs up to a second in 2.0.2 (fetching restarts at the broker
 * thread's next wake-up). A stall that lasts is met with a pause, so the
 * consumer can be polled again (heartbeats aside, rebalances need it). */
static void regulate(wf_source *s)
{
    size_t in_flight = wf_src_tracker_in_flight(&s->tracker);
    int64_t now = now_ms();
    if (in_flight < s->max_in_flight)
        s->full_since = 0;
    else if (!s->full_since)
        s->full_since = now;
    if (!s->paused && s->full_since && now - s->full_since >= WF_SRC_PAUSE_AFTER_MS)
        wf_src_set_paused(s, 1);
    else if (s->paused && in_flight + s->held_count <= s->max_in_flight / 2)
        wf_src_set_paused(s, 0);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int deliver(wf_source *s, rd_kafka_message_t *m, wf_source_msg *out, wf_error *err)
{
    uint64_t tag;
    int rc = wf_src_tracker_push(&s->tracker, m, &tag);
    if (rc < 0) {
        int partition = (int)m->partition;
        rd_kafka_message_destroy(m);
        return wf_error_set(err, rc, "kafka source: cannot track partition %d (%s)", partition,
                            wf_err_name(rc));
    }
    s->consumed++;
    s->bytes += m->len;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    *out = (wf_source_msg){.tag = tag,
                           .topic = rd_kafka_topic_name(m->rkt),
                           .partition = m->partition,
                           .offset = m->offset,
                           .key = m->key,
                           .key_len = m->key_len,
                           .value = m->payload,
                           .len = m->len,
                           .timestamp_ms = tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts};
    return 0;
}

/* Handles a consumer error event; returns a negative code when fatal. */
static int consumer_error(wf_source *s, rd_kafka_message_t *m, wf_error *err)
{
    rd_kafka_resp_err_t code = m->err;
    if (code != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        s->consumer_errors++;
        wf_log(WF_LOG_WARN, "kafka consumer error", "code", rd_kafka_err2name(code), "detail",
               rd_kafka_message_errstr(m), NULL);
    }
    rd_kafka_message_destroy(m);
    if (code == RD_KAFKA_RESP_ERR__FATAL || s->fatal) {
        char detail[512];
        rd_kafka_fatal_error(s->rk, detail, sizeof detail);
        return wf_error_set(err, WF_EREMOTE, "kafka fatal error: %s", detail);
    }
    return 0;
}

/* Sorts one polled message: 0 delivered into *out, 1 consumed otherwise (an
 * error event, or held because the in-flight limit is reached), <0 fatal. */
static int take(wf_source *s, rd_kafka_message_t *m, wf_source_msg *out, wf_error *err)
{
    if (m->err) {
        int rc = consumer_error(s, m, err);
        return rc < 0 ? rc : 1;
    }
    /* Order within a partition: nothing overtakes what is already held. */
    if (!s->held_count && wf_src_tracker_in_flight(&s->tracker) < s->max_in_flight)
        return deliver(s, m, out, err);
    if (wf_src_held_push(s, m) < 0) {
        rd_kafka_message_destroy(m);
        return wf_error_set(err, WF_ENOMEM, "kafka source: out of memory");
    }
    return 1;
}

static void serve(wf_source *s)
{
    wf_src_store_offsets(s);
    if (s->producer)
        rd_kafka_poll(s->producer, 0);
}

int wf_source_poll(wf_source *s, wf_source_msg *out, int timeout_ms, wf_error *err)
{
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        serve(s);
        regulate(s);
        if (s->fatal)
            return wf_error_set(err, WF_EREMOTE, "kafka source: fatal error (see log)");
        int full = wf_src_tracker_in_flight(&s->tracker) >= s->max_in_flight;
        if (s->held_count && !full)
            return deliver(s, wf_src_held_pop(s), out, err);
        int64_t left = deadline - now_ms();
        int wait = left > 0 ? (int)left : 0;
        if (full && wait > WF_SRC_FULL_SLICE_MS)
            wait = WF_SRC_FULL_SLICE_MS;
        if (full && !s->paused) {
            sleep_ms(wait);
        } else {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, wait);
            int rc = m ? take(s, m, out, err) : 1;
            if (rc <= 0)
                return rc;
        }
        if (now_ms() >= deadline)
            return wf_error_set(err, WF_EAGAIN, "no message within %d ms", timeout_ms);
    }
}

void wf_source_done(wf_source *s, uint64_t tag)
{
    wf_src_tracker_done(&s->tracker, tag);
}

void wf_source_stats(wf_source *s, wf_source_counters *out)
{
    wf_src_tracker *t = &s->tracker;
    pthread_mutex_lock(&t->lock);
    *out = (wf_source_counters){.done = t->done,
                                .stale_done = t->stale_done,
                                .forgotten = t->forgotten,
                                .in_flight = t->in_flight};
    pthread_mutex_unlock(&t->lock);
    out->consumed = s->consumed;
    out->bytes = s->bytes;
    out->offsets_stored = s->offsets_stored;
    out->pauses = s->pauses;
    out->consumer_errors = s->consumer_errors;
    out->rebalances = s->rebalances;
    out->dlq_produced = s->dlq_produced;
    out->dlq_failed = s->dlq_failed;
    out->dlq_skipped = s->dlq_skipped;
    out->dlq_truncated = s->dlq_truncated;
    out->dlq_dropped = s->dlq_dropped;
    out->held = s->held_gauge;
    out->paused = s->paused_gauge;
    out->assigned = s->assigned_gauge;
}

/* In-flight messages whose completion still matters: orphans do not. */
static size_t live_in_flight(wf_source *s)
{
    pthread_mutex_lock(&s->tracker.lock);
    size_t n = s->tracker.in_flight - s->tracker.norphans;
    pthread_mutex_unlock(&s->tracker.lock);
    return n;
}

/* Keeps the group session alive while the caller's work completes. */
static int wait_in_flight(wf_source *s, int64_t deadline)
{
    while (live_in_flight(s) > 0 || s->dlq_pending > 0) {
        if (now_ms() >= deadline)
            return WF_ETIMEOUT;
        serve(s);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 10);
        if (m)
            rd_kafka_message_destroy(m); /* paused: only stragglers; refetched next run */
    }
    return 0;
}

int wf_source_close(wf_source *s, int deadline_ms, wf_error *err)
{
    if (!s)
        return 0;
    int64_t deadline = now_ms() + (deadline_ms > 0 ? deadline_ms : 0);
    wf_src_set_paused(s, 1);
    if (s->hooks.drain)
        s->hooks.drain(s->hooks.ctx);
    s->closing = 1;
    int rc = wait_in_flight(s, deadline);
    size_t left = live_in_flight(s);
    wf_src_store_offsets(s);
    wf_src_commit_sync(s);
    rd_kafka_resp_err_t e = rd_kafka_consumer_close(s->rk);
    if (e)
        wf_log(WF_LOG_WARN, "kafka consumer close", "err", rd_kafka_err2name(e), NULL);
    source_free(s);
    if (rc < 0)
        return wf_error_set(err, rc, "kafka source closed with %zu messages still in flight", left);
    return 0;
}
