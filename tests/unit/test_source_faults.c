/* Broker faults: a partition leader down for a few seconds, and injected
 * request errors on fetches and commits. The source keeps going and loses
 * nothing. */
#include "source_harness.h"

#include <librdkafka/rdkafka_mock.h>

enum { N = 2000, HALF = 1000, PARTS = 4 };

/* Three brokers: broker 1 coordinates the group, brokers 2 and 3 lead two
 * partitions each, so taking broker 2 down stalls half the topic. */
static wf_kafka_mock *faulty_cluster(void)
{
    wf_kafka_mock *m = h_mock(3, "f", PARTS);
    rd_kafka_mock_cluster_t *mc = wf_kafka_mock_cluster(m);
    assert_int_equal(rd_kafka_mock_coordinator_set(mc, "group", "gf", 1), 0);
    for (int p = 0; p < PARTS; p++)
        assert_int_equal(rd_kafka_mock_partition_set_leader(mc, "f", p, p < 2 ? 2 : 3), 0);
    return m;
}

static void test_broker_down_and_errors(void **state)
{
    (void)state;
    wf_kafka_mock *m = faulty_cluster();
    rd_kafka_mock_cluster_t *mc = wf_kafka_mock_cluster(m);
    h_produce(m, "f", 0, HALF);
    wf_config *c = h_config(m, "f", "gf");
    wf_source *s = h_source(c, NULL);
    static int seen[N];
    memset(seen, 0, sizeof seen);
    assert_int_equal(h_drain_all(s, seen, N, 300, 15), 300);

    /* Broker 2 goes away for 3 s while the consumer keeps polling. */
    assert_int_equal(rd_kafka_mock_broker_set_down(mc, 2), 0);
    int got = 300 + h_drain_all(s, seen, N, N, 3);
    assert_int_equal(rd_kafka_mock_broker_set_up(mc, 2), 0);

    /* Then fetches and commits fail a few times each. */
    rd_kafka_mock_push_request_errors(
        mc, 1 /* Fetch */, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
    rd_kafka_mock_push_request_errors(mc, 8 /* OffsetCommit */, 2,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
    h_produce(m, "f", HALF, N);
    got += h_drain_all(s, seen, N, N - got, 15);
    assert_int_equal(got, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    /* Let the auto-commit go through the injected errors. */
    wf_source_msg msg;
    for (double until = h_now() + 2; h_now() < until;)
        assert_int_equal(wf_source_poll(s, &msg, 100, NULL), WF_EAGAIN);
    wf_source_counters k;
    wf_source_stats(s, &k);
    assert_int_equal(k.consumed, N);
    assert_int_equal(k.in_flight, 0);
    assert_true(k.consumer_errors > 0); /* the outage was noticed */
    assert_int_equal(wf_source_close(s, 5000, NULL), 0);
    assert_int_equal(h_leftover(m, "f", "gf", 2), 0);
    wf_config_free(c);
    wf_kafka_mock_stop(m);
}

int main(void)
{
    h_quiet_logs();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker_down_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
