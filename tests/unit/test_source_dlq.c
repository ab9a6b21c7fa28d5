/* Dead letters: the copy lands on the dead-letter topic with its headers, the
 * source offset moves only after the broker confirmed it, failed deliveries
 * are retried; without a topic a dead letter is done at once. Also the
 * configuration errors of the source. */
#include "source_harness.h"

#include <librdkafka/rdkafka_mock.h>

enum { N = 12 };

/* Consumes N messages, dead-lettering every third one; returns when all are
 * done (dead letters confirmed) or the time is up. */
static void run_with_dead_letters(wf_source *s)
{
    int got = 0;
    double until = h_now() + 15;
    wf_source_counters k = {0};
    while ((got < N || k.in_flight > 0) && h_now() < until) {
        wf_source_msg msg;
        wf_error err = {0};
        int rc = wf_source_poll(s, &msg, 50, &err);
        wf_source_stats(s, &k);
        if (rc == WF_EAGAIN)
            continue;
        assert_int_equal(rc, 0);
        got++;
        if (h_number(&msg) % 3 == 0)
            wf_source_dead_letter(s, &msg, "not_json", "unexpected 'm' at 1");
        else
            wf_source_done(s, msg.tag);
    }
    assert_int_equal(got, N);
    assert_int_equal(k.in_flight, 0);
}

static void check_dead_letters(wf_kafka_mock *m)
{
    wf_kafka_record *recs = NULL;
    size_t n = 0;
    wf_error err = {0};
    assert_int_equal(wf_kafka_mock_read_topic(m, "in.dlq", 10000, &recs, &n, &err), 0);
    assert_int_equal(n, N / 3);
    for (size_t i = 0; i < n; i++) {
        const wf_kafka_record *r = &recs[i];
        int num = atoi(r->value + 1);
        char key[16], offset[24];
        snprintf(key, sizeof key, "k%d", num % 37);
        assert_int_equal(num % 3, 0);
        assert_string_equal(r->key, key);
        assert_int_equal(r->nheaders, 5);
        assert_string_equal(wf_kafka_record_header(r, "wf-reason"), "not_json");
        assert_string_equal(wf_kafka_record_header(r, "wf-error"), "unexpected 'm' at 1");
        assert_string_equal(wf_kafka_record_header(r, "wf-topic"), "in");
        assert_string_equal(wf_kafka_record_header(r, "wf-partition"), "0");
        /* One source partition: message m<i> sits at offset i. */
        snprintf(offset, sizeof offset, "%d", num);
        assert_string_equal(wf_kafka_record_header(r, "wf-offset"), offset);
    }
    wf_kafka_records_free(recs, n);
}

static wf_kafka_mock *dlq_cluster(void)
{
    wf_error err = {0};
    wf_kafka_mock *m = h_mock(1, "in", 1);
    assert_int_equal(wf_kafka_mock_create_topic(m, "in.dlq", 1, &err), 0);
    h_produce(m, "in", 0, N);
    return m;
}

static void test_dead_letter_headers(void **state)
{
    (void)state;
    wf_kafka_mock *m = dlq_cluster();
    wf_config *c = h_config(m, "in", "gd");
    h_set(c, "source.dlq_topic=%s", "in.dlq");
    wf_source *s = h_source(c, NULL);
    assert_true(wf_source_has_dlq(s));
    run_with_dead_letters(s);
    wf_source_counters k;
    wf_source_stats(s, &k);
    assert_int_equal(k.dlq_produced, N / 3);
    assert_int_equal(k.dlq_failed, 0);
    assert_int_equal(k.done, N);
    assert_int_equal(wf_source_close(s, 5000, NULL), 0);
    check_dead_letters(m);
    assert_int_equal(h_leftover(m, "in", "gd", 2), 0);
    wf_config_free(c);
    wf_kafka_mock_stop(m);
}

/* Produce requests fail with a non-retriable error twice: the source retries
 * and the dead-letter topic still ends with exactly one copy of each. */
static void test_dead_letter_retry(void **state)
{
    (void)state;
    wf_kafka_mock *m = dlq_cluster();
    wf_config *c = h_config(m, "in", "gr");
    h_set(c, "source.dlq_topic=%s", "in.dlq");
    wf_source *s = h_source(c, NULL);
    rd_kafka_mock_push_request_errors(wf_kafka_mock_cluster(m), 0 /* Produce */, 2,
                                      RD_KAFKA_RESP_ERR_INVALID_RECORD,
                                      RD_KAFKA_RESP_ERR_INVALID_RECORD);
    run_with_dead_letters(s);
    wf_source_counters k;
    wf_source_stats(s, &k);
    assert_int_equal(k.dlq_produced, N / 3);
    assert_true(k.dlq_failed >= 2);
    assert_int_equal(wf_source_close(s, 5000, NULL), 0);
    check_dead_letters(m);
    wf_config_free(c);
    wf_kafka_mock_stop(m);
}

/* Counts the lines of the log holding `needle`; fails on a line that shows
 * message content at a level above debug. */
static int log_lines(FILE *f, const char *needle)
{
    char line[2048];
    int n = 0;
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "content=") && !strstr(line, "level=debug"))
            fail_msg("content logged above debug: %s", line);
        n += strstr(line, needle) != NULL;
    }
    return n;
}

/* Without a topic: logged (content at debug only), counted, done at once. */
static void test_without_dlq_topic(void **state)
{
    (void)state;
    wf_kafka_mock *m = dlq_cluster();
    wf_config *c = h_config(m, "in", "gn");
    wf_source *s = h_source(c, NULL);
    assert_false(wf_source_has_dlq(s));
    FILE *log = tmpfile();
    assert_non_null(log);
    wf_log_setup(WF_LOG_DEBUG, WF_LOG_LOGFMT, log);
    run_with_dead_letters(s);
    h_quiet_logs();
    fflush(log);
    assert_int_equal(log_lines(log, "msg=\"bad message dropped\" reason=not_json"), N / 3);
    assert_int_equal(log_lines(log, "msg=\"bad message content\""), N / 3);
    assert_int_equal(log_lines(log, "content=m3"), 1);
    fclose(log);
    wf_source_counters k;
    wf_source_stats(s, &k);
    assert_int_equal(k.dlq_skipped, N / 3);
    assert_int_equal(k.dlq_produced, 0);
    assert_int_equal(k.done, N);
    assert_int_equal(wf_source_close(s, 5000, NULL), 0);
    wf_config_free(c);
    wf_kafka_mock_stop(m);
}

static void expect_config_error(const char *assignment, const char *needle)
{
    wf_config *c = wf_config_new();
    wf_error err = {0};
    assert_int_equal(wf_config_set(c, assignment, &err), 0);
    assert_null(wf_source_new(c, NULL, &err));
    assert_int_equal(err.code, WF_EINVAL);
    if (!strstr(err.msg, needle))
        fail_msg("'%s' not in '%s'", needle, err.msg);
    wf_config_free(c);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_config_error("kafka.enable.auto.offset.store=true", "kafka.enable.auto.offset.store");
    expect_config_error("kafka.no.such.property=1", "kafka.no.such.property");
    expect_config_error("source.topics=[]", "source.topics");
}

int main(void)
{
    h_quiet_logs();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_dead_letter_headers),
        cmocka_unit_test(test_dead_letter_retry),
        cmocka_unit_test(test_without_dlq_topic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
