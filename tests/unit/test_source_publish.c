/* The fleet's samples topic: committed samples reach the topic once, keyed
 * by id, as export lines; the cursor survives a restart; a replaced sample
 * goes again; failed deliveries are sent again; a sample too big for the
 * topic is given up without holding the others back, and a batch the
 * broker refuses as too large costs none of its samples. */
#include "source_harness.h"
#include "test_store_util.h"
#include "wildfeed/publisher.h"

#define TOPIC "wf.samples"
#define PRODUCE_API_KEY 0 /* the Kafka protocol's, for the mock's error injection */

typedef struct fixture {
    wf_kafka_mock *mock;
    wf_config *cfg;
    wf_store *store;
} fixture;

static void setup(fixture *f, int partitions)
{
    h_quiet_logs();
    f->mock = h_mock(1, TOPIC, partitions);
    f->cfg = h_config(f->mock, "chat", "g-publish");
    h_set(f->cfg, "sample.topic=%s", TOPIC);
    f->store = store_open_at(store_tmp_path());
}

static void teardown(fixture *f)
{
    wf_store_close(f->store);
    wf_config_free(f->cfg);
    wf_kafka_mock_stop(f->mock);
    store_cleanup();
}

static wf_publisher *publisher(fixture *f)
{
    wf_publisher *p = NULL;
    wf_error err = {0};
    if (wf_publisher_new(f->cfg, f->store, &p, &err) != 0)
        fail_msg("publisher: %s", err.msg);
    assert_non_null(p);
    return p;
}

static int64_t last_seq(fixture *f)
{
    int64_t seq = 0;
    assert_int_equal(wf_store_last_seq(f->store, &seq, NULL), 0);
    return seq;
}

/* Pumps until the cursor reaches upto or timeout_s passes; returns it. */
static int64_t pump_until(wf_publisher *p, int64_t committed, int64_t upto, double timeout_s)
{
    double until = h_now() + timeout_s;
    wf_publisher_counters c;
    wf_publisher_stats(p, &c);
    while (c.confirmed < upto && h_now() < until) {
        wf_error err = {0};
        if (wf_publisher_pump(p, committed, &err) != 0)
            fail_msg("pump: %s", err.msg);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        wf_publisher_stats(p, &c);
    }
    return c.confirmed;
}

static void put_turns(fixture *f, int from, int to)
{
    for (int t = from; t < to; t++)
        put_spec(f->store, &(sample_spec){.conv = "c1", .turn = t});
}

typedef struct topic_view {
    wf_kafka_record *recs;
    size_t n;
} topic_view;

static topic_view read_topic(fixture *f)
{
    topic_view v = {0};
    wf_error err = {0};
    if (wf_kafka_mock_read_topic(f->mock, TOPIC, 10000, &v.recs, &v.n, &err) != 0)
        fail_msg("read topic: %s", err.msg);
    return v;
}

/* The record of the sample with this id must be its export line. */
static void expect_record_is_sample(fixture *f, const wf_kafka_record *r)
{
    wf_sample *smp = NULL;
    assert_non_null(r->key);
    assert_int_equal(wf_store_get_sample(f->store, r->key, &smp, NULL), 0);
    char *line = sample_line(smp);
    line[strlen(line) - 1] = '\0';
    assert_string_equal(r->value, line);
    free(line);
    wf_sample_free(smp);
}

static void test_publishes_committed_samples_once(void **state)
{
    (void)state;
    fixture f;
    setup(&f, 2);
    put_turns(&f, 0, 5);
    wf_publisher *p = publisher(&f);
    /* Only what the caller says is committed goes. */
    assert_int_equal(pump_until(p, 3, 3, 10), 3);
    assert_int_equal(pump_until(p, 5, 5, 10), 5);
    assert_int_equal(wf_publisher_save(p, NULL), 0);
    wf_publisher_counters c;
    wf_publisher_stats(p, &c);
    assert_int_equal(c.produced, 5);
    assert_int_equal(c.in_flight, 0);
    wf_publisher_free(p);
    int64_t cursor = -1;
    assert_int_equal(wf_store_cursor_get(f.store, "fleet:" TOPIC, &cursor, NULL), 0);
    assert_int_equal(cursor, 5);

    /* A restart resumes at the cursor: only the new sample goes. */
    put_turns(&f, 5, 6);
    p = publisher(&f);
    assert_int_equal(pump_until(p, last_seq(&f), 6, 10), 6);
    wf_publisher_stats(p, &c);
    assert_int_equal(c.produced, 1);
    wf_publisher_free(p);

    topic_view v = read_topic(&f);
    assert_int_equal(v.n, 6);
    int seen[6] = {0};
    for (size_t i = 0; i < v.n; i++) {
        expect_record_is_sample(&f, &v.recs[i]);
        int turn = -1;
        assert_int_equal(sscanf(v.recs[i].key, "c1_turn%d", &turn), 1);
        assert_true(turn >= 0 && turn < 6);
        seen[turn]++;
    }
    for (int t = 0; t < 6; t++)
        assert_int_equal(seen[t], 1);
    wf_kafka_records_free(v.recs, v.n);
    teardown(&f);
}

static void test_replaced_sample_goes_again(void **state)
{
    (void)state;
    fixture f;
    setup(&f, 1);
    put_turns(&f, 0, 3);
    wf_publisher *p = publisher(&f);
    assert_int_equal(pump_until(p, 3, 3, 10), 3);
    /* Explicit feedback outranks the rules' verdict: the row takes seq 4. */
    assert_int_equal(put_spec(f.store, &(sample_spec){.conv = "c1",
                                                      .turn = 1,
                                                      .annotation = 1,
                                                      .source = WF_SRC_EXPLICIT,
                                                      .reason = "thumbs down"}),
                     WF_STORE_REPLACED);
    assert_int_equal(last_seq(&f), 4);
    assert_int_equal(pump_until(p, 4, 4, 10), 4);
    wf_publisher_free(p);

    topic_view v = read_topic(&f);
    assert_int_equal(v.n, 4);
    assert_string_equal(v.recs[3].key, "c1_turn1");
    assert_non_null(
        strstr(v.recs[3].value, "\"label\":1,\"annotation\":1,\"source\":\"explicit\""));
    expect_record_is_sample(&f, &v.recs[3]);
    wf_kafka_records_free(v.recs, v.n);
    teardown(&f);
}

static void test_failed_deliveries_go_again(void **state)
{
    (void)state;
    fixture f;
    setup(&f, 1);
    h_set(f.cfg, "kafka.message.timeout.ms=%s", "300");
    put_turns(&f, 0, 20);
    rd_kafka_mock_cluster_t *mc = wf_kafka_mock_cluster(f.mock);
    assert_int_equal(rd_kafka_mock_broker_set_down(mc, 1), 0);
    wf_publisher *p = publisher(&f);
    /* With the broker away, every delivery times out: nothing is confirmed
     * and the publisher goes back to its cursor. */
    assert_int_equal(pump_until(p, 20, 20, 2.5), 0);
    wf_publisher_counters c;
    wf_publisher_stats(p, &c);
    assert_true(c.failed >= 1);
    assert_true(c.rewinds >= 1);
    assert_int_equal(c.produced, 0);
    assert_int_equal(rd_kafka_mock_broker_set_up(mc, 1), 0);
    assert_int_equal(pump_until(p, 20, 20, 20), 20);
    wf_publisher_free(p);

    topic_view v = read_topic(&f);
    int seen[20] = {0};
    for (size_t i = 0; i < v.n; i++) {
        int turn = -1;
        assert_int_equal(sscanf(v.recs[i].key, "c1_turn%d", &turn), 1);
        seen[turn]++;
    }
    for (int t = 0; t < 20; t++)
        assert_true(seen[t] >= 1);
    wf_kafka_records_free(v.recs, v.n);
    teardown(&f);
}

static void test_too_large_sample_is_given_up(void **state)
{
    (void)state;
    fixture f;
    setup(&f, 1);
    h_set(f.cfg, "kafka.message.max.bytes=%s", "2000");
    char big[4001];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    put_turns(&f, 0, 1);
    put_spec(f.store, &(sample_spec){.conv = "c1", .turn = 1, .response = big});
    put_turns(&f, 2, 3);
    wf_publisher *p = publisher(&f);
    assert_int_equal(pump_until(p, 3, 3, 10), 3);
    wf_publisher_counters c;
    wf_publisher_stats(p, &c);
    assert_int_equal(c.too_large, 1);
    assert_int_equal(c.produced, 2);
    wf_publisher_free(p);
    topic_view v = read_topic(&f);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.recs[0].key, "c1_turn0");
    assert_string_equal(v.recs[1].key, "c1_turn2");
    wf_kafka_records_free(v.recs, v.n);
    teardown(&f);
}

/* The broker refuses a whole batch as too large: its samples go again one
 * at a time, and only one refused alone is given up. */
static void test_batch_refused_as_too_large(void **state)
{
    (void)state;
    fixture f;
    setup(&f, 1);
    put_turns(&f, 0, 20);
    rd_kafka_mock_push_request_errors(wf_kafka_mock_cluster(f.mock), PRODUCE_API_KEY, 1,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    wf_publisher *p = publisher(&f);
    assert_int_equal(pump_until(p, 20, 20, 20), 20);
    wf_publisher_counters c;
    wf_publisher_stats(p, &c);
    assert_int_equal(c.too_large, 0);
    assert_int_equal(c.produced, 20);
    assert_true(c.failed >= 1);
    assert_int_equal(c.rewinds, 1);
    wf_publisher_free(p);
    topic_view v = read_topic(&f);
    assert_int_equal(v.n, 20);
    wf_kafka_records_free(v.recs, v.n);
    teardown(&f);
}

static void test_sample_refused_alone_is_given_up(void **state)
{
    (void)state;
    fixture f;
    setup(&f, 1);
    put_turns(&f, 0, 1);
    rd_kafka_mock_push_request_errors(wf_kafka_mock_cluster(f.mock), PRODUCE_API_KEY, 2,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    wf_publisher *p = publisher(&f);
    assert_int_equal(pump_until(p, 1, 1, 20), 1);
    put_turns(&f, 1, 2);
    assert_int_equal(pump_until(p, 2, 2, 20), 2);
    wf_publisher_counters c;
    wf_publisher_stats(p, &c);
    assert_int_equal(c.too_large, 1);
    assert_int_equal(c.produced, 1);
    wf_publisher_free(p);
    topic_view v = read_topic(&f);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.recs[0].key, "c1_turn1");
    wf_kafka_records_free(v.recs, v.n);
    teardown(&f);
}

/* A trainer sharing its labellers' configuration must not feed the topic it
 * reads. */
static void test_topic_it_reads_is_refused(void **state)
{
    (void)state;
    fixture f;
    setup(&f, 1);
    h_set(f.cfg, "source.topics=%s", TOPIC);
    wf_publisher *p = (wf_publisher *)1;
    wf_error err = {0};
    assert_int_equal(wf_publisher_new(f.cfg, f.store, &p, &err), WF_EINVAL);
    assert_null(p);
    assert_non_null(strstr(err.msg, "sample.topic"));
    teardown(&f);
}

static void test_no_topic_no_publisher(void **state)
{
    (void)state;
    wf_config *cfg = wf_config_new();
    wf_publisher *p = (wf_publisher *)1;
    assert_int_equal(wf_publisher_new(cfg, NULL, &p, NULL), 0);
    assert_null(p);
    wf_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publishes_committed_samples_once),
        cmocka_unit_test(test_replaced_sample_goes_again),
        cmocka_unit_test(test_failed_deliveries_go_again),
        cmocka_unit_test(test_too_large_sample_is_given_up),
        cmocka_unit_test(test_batch_refused_as_too_large),
        cmocka_unit_test(test_sample_refused_alone_is_given_up),
        cmocka_unit_test(test_topic_it_reads_is_refused),
        cmocka_unit_test(test_no_topic_no_publisher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
