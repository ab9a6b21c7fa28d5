/* Reading a topic of the mock cluster back, headers included (for the
 * dead-letter assertions of the tests). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source/mock.h"
#include "source/source_int.h"

typedef struct reader {
    rd_kafka_t *rk;
    int nparts;
    int64_t *want; /* per partition: the end offset to reach */
    int64_t *next; /* per partition: the next offset expected */
    wf_kafka_record *recs;
    size_t n, cap;
} reader;

static char *dup_bytes(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static void record_free(wf_kafka_record *r)
{
    free(r->key);
    free(r->value);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->header_names[i]);
        free(r->header_values[i]);
    }
    free(r->header_names);
    free(r->header_values);
}

void wf_kafka_records_free(wf_kafka_record *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        record_free(&recs[i]);
    free(recs);
}

const char *wf_kafka_record_header(const wf_kafka_record *r, const char *name)
{
    for (size_t i = r->nheaders; i-- > 0;)
        if (strcmp(r->header_names[i], name) == 0)
            return r->header_values[i];
    return NULL;
}

static int copy_headers(wf_kafka_record *r, rd_kafka_message_t *msg)
{
    rd_kafka_headers_t *hdrs;
    if (rd_kafka_message_headers(msg, &hdrs))
        return 0;
    size_t cnt = rd_kafka_header_cnt(hdrs);
    r->header_names = calloc(cnt ? cnt : 1, sizeof(char *));
    r->header_values = calloc(cnt ? cnt : 1, sizeof(char *));
    if (!r->header_names || !r->header_values)
        return WF_ENOMEM;
    const char *name;
    const void *val;
    size_t len;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &len) == 0; i++) {
        r->header_names[i] = strdup(name);
        r->header_values[i] = dup_bytes(val ? val : "", val ? len : 0);
        r->nheaders++;
        if (!r->header_names[i] || !r->header_values[i])
            return WF_ENOMEM;
    }
    return 0;
}

static int keep(reader *rd, rd_kafka_message_t *msg)
{
    if (rd->n == rd->cap) {
        size_t cap = rd->cap ? rd->cap * 2 : 64;
        wf_kafka_record *bigger = realloc(rd->recs, cap * sizeof *bigger);
        if (!bigger)
            return WF_ENOMEM;
        rd->recs = bigger;
        rd->cap = cap;
    }
    wf_kafka_record *r = &rd->recs[rd->n++];
    memset(r, 0, sizeof *r);
    r->partition = msg->partition;
    r->offset = msg->offset;
    if (msg->key) {
        r->key = dup_bytes(msg->key, msg->key_len);
        r->key_len = msg->key_len;
    }
    if (msg->payload) {
        r->value = dup_bytes(msg->payload, msg->len);
        r->len = msg->len;
    }
    if ((msg->key && !r->key) || (msg->payload && !r->value))
        return WF_ENOMEM;
    return copy_headers(r, msg);
}

static int reader_open(reader *rd, wf_kafka_mock *m, const char *topic, int timeout_ms,
                       wf_error *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", wf_kafka_mock_bootstrap(m), errstr,
                          sizeof errstr) ||
        rd_kafka_conf_set(conf, "group.id", "wf-mock-reader", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr)) {
        rd_kafka_conf_destroy(conf);
        return wf_error_set(err, WF_EINVAL, "mock reader: %s", errstr);
    }
    rd_kafka_conf_set_log_cb(conf, wf_src_log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return wf_error_set(err, WF_EINVAL, "mock reader: %s", errstr);
    }
    rd->rk = rk;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    rd_kafka_topic_destroy(rkt);
    if (!e && md->topic_cnt == 1 && !md->topics[0].err)
        rd->nparts = md->topics[0].partition_cnt;
    else if (!e)
        e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (md)
        rd_kafka_metadata_destroy(md);
    if (e)
        return wf_error_set(err, WF_EREMOTE, "mock reader: topic '%s': %s", topic,
                            rd_kafka_err2str(e));
    return 0;
}

/* Fixes the end of each partition and assigns them all from the start. */
static int reader_assign(reader *rd, const char *topic, int timeout_ms, wf_error *err)
{
    rd->want = calloc((size_t)rd->nparts + 1, sizeof(int64_t));
    rd->next = calloc((size_t)rd->nparts + 1, sizeof(int64_t));
    if (!rd->want || !rd->next)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(rd->nparts);
    for (int p = 0; p < rd->nparts; p++) {
        int64_t lo;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rd->rk, topic, p, &lo, &rd->want[p], timeout_ms);
        if (e) {
            rd_kafka_topic_partition_list_destroy(parts);
            return wf_error_set(err, WF_EREMOTE, "mock reader: watermarks: %s",
                                rd_kafka_err2str(e));
        }
        rd->next[p] = lo;
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rd->rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    return 0;
}

static int reader_done(const reader *rd)
{
    for (int p = 0; p < rd->nparts; p++)
        if (rd->next[p] < rd->want[p])
            return 0;
    return 1;
}

static int by_partition_offset(const void *a, const void *b)
{
    const wf_kafka_record *x = a, *y = b;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static int reader_run(reader *rd, int timeout_ms, wf_error *err)
{
    time_t until = time(NULL) + (timeout_ms + 999) / 1000;
    while (!reader_done(rd)) {
        if (time(NULL) > until)
            return wf_error_set(err, WF_ETIMEOUT, "mock reader: topic not read in %d ms",
                                timeout_ms);
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rd->rk, 100);
        if (!msg)
            continue;
        int rc = 0;
        if (!msg->err && msg->partition < rd->nparts && msg->offset < rd->want[msg->partition]) {
            rc = keep(rd, msg);
            rd->next[msg->partition] = msg->offset + 1;
        }
        rd_kafka_message_destroy(msg);
        if (rc < 0)
            return wf_error_set(err, rc, "out of memory");
    }
    qsort(rd->recs, rd->n, sizeof *rd->recs, by_partition_offset);
    return 0;
}

int wf_kafka_mock_read_topic(wf_kafka_mock *m, const char *topic, int timeout_ms,
                             wf_kafka_record **out, size_t *n, wf_error *err)
{
    reader rd = {0};
    int rc = reader_open(&rd, m, topic, timeout_ms, err);
    if (rc == 0)
        rc = reader_assign(&rd, topic, timeout_ms, err);
    if (rc == 0)
        rc = reader_run(&rd, timeout_ms, err);
    if (rd.rk) {
        rd_kafka_consumer_close(rd.rk);
        rd_kafka_destroy(rd.rk);
    }
    free(rd.want);
    free(rd.next);
    if (rc < 0) {
        wf_kafka_records_free(rd.recs, rd.n);
        return rc;
    }
    *out = rd.recs;
    *n = rd.n;
    return 0;
}
