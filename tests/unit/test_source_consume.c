/* The Kafka source against an in-process mock cluster: delivery exactly once,
 * the contiguous done watermark, and back-pressure. */
#include "source_harness.h"

/* The collector's text: totals, and per partition the stored offsets (which
 * add up to the message count, every partition starting at 0) and a lag of 0
 * once everything is consumed. */
static void check_metrics(wf_source *s, int n)
{
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_source_collect(s, &b);
    assert_false(b.oom);
    char want[64];
    snprintf(want, sizeof want, "\nwildfeed_source_messages_total %d\n", n);
    assert_non_null(strstr(b.data, want));
    assert_non_null(strstr(b.data, "\nwildfeed_source_in_flight 0\n"));
    assert_non_null(strstr(b.data, "\nwildfeed_source_assigned_partitions 4\n"));
    long stored = 0;
    int stored_lines = 0, lag_lines = 0;
    for (char *line = strtok(b.data, "\n"); line; line = strtok(NULL, "\n")) {
        char *val = strrchr(line, ' ');
        if (strstr(line, "kind=\"stored\"")) {
            stored += atol(val + 1);
            stored_lines++;
        } else if (strstr(line, "kind=\"lag\"")) {
            assert_string_equal(val + 1, "0");
            lag_lines++;
        }
    }
    assert_int_equal(stored_lines, 4);
    assert_int_equal(stored, n);
    assert_true(lag_lines <= 4);
    wf_strbuf_free(&b);
}

/* Every produced message arrives once; after close the group's offsets are
 * committed, so a new member of the group gets nothing. */
static void test_exactly_once(void **state)
{
    (void)state;
    enum { N = 2000 };
    wf_kafka_mock *m = h_mock(1, "t", 4);
    h_produce(m, "t", 0, N);
    wf_config *c = h_config(m, "t", "g");
    wf_source *s = h_source(c, NULL);
    static int seen[N];
    memset(seen, 0, sizeof seen);
    assert_int_equal(h_drain_all(s, seen, N, N, 15), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    wf_source_counters k;
    wf_source_stats(s, &k);
    assert_int_equal(k.consumed, N);
    assert_int_equal(k.done, N);
    assert_int_equal(k.in_flight, 0);
    assert_int_equal(k.assigned, 4);
    assert_int_equal(k.stale_done, 0);
    check_metrics(s, N);
    assert_int_equal(wf_source_close(s, 5000, NULL), 0);
    assert_int_equal(h_leftover(m, "t", "g", 2), 0);
    wf_config_free(c);
    wf_kafka_mock_stop(m);
}

/* Done out of order with two gaps: the committed offset is the first gap, so
 * the next member of the group starts exactly there. */
static void test_watermark(void **state)
{
    (void)state;
    enum { N = 100, GAP1 = 40, GAP2 = 70 };
    wf_kafka_mock *m = h_mock(1, "w", 1);
    h_produce(m, "w", 0, N);
    wf_config *c = h_config(m, "w", "gw");
    wf_source *s = h_source(c, NULL);
    uint64_t tags[N];
    int got = 0;
    double until = h_now() + 15;
    while (got < N && h_now() < until) {
        wf_source_msg msg;
        if (wf_source_poll(s, &msg, 100, NULL) != 0)
            continue;
        assert_int_equal(msg.offset, got);
        assert_int_equal(h_number(&msg), got);
        tags[got++] = msg.tag;
    }
    assert_int_equal(got, N);
    for (int i = N - 1; i >= 0; i--)
        if (i != GAP1 && i != GAP2)
            wf_source_done(s, tags[i]);
    wf_source_done(s, tags[N - 1]); /* repeated: ignored */
    wf_source_counters k;
    wf_source_stats(s, &k);
    assert_int_equal(k.in_flight, 2);
    assert_int_equal(k.done, N - 2);
    assert_int_equal(k.stale_done, 1);
    assert_int_equal(wf_source_close(s, 300, NULL), WF_ETIMEOUT);

    s = h_source(c, NULL);
    int next = GAP1;
    until = h_now() + 15;
    while (next < N && h_now() < until) {
        wf_source_msg msg;
        if (wf_source_poll(s, &msg, 100, NULL) != 0)
            continue;
        assert_int_equal(msg.offset, next);
        next++;
        wf_source_done(s, msg.tag);
    }
    assert_int_equal(next, N);
    assert_int_equal(wf_source_close(s, 5000, NULL), 0);
    assert_int_equal(h_leftover(m, "w", "gw", 2), 0);
    wf_config_free(c);
    wf_kafka_mock_stop(m);
}

/* With max_in_flight 10 the source never has more than 10 messages out,
 * pauses when a stall lasts, and delivers every message once as work
 * completes in shuffled order. */
static void test_pause_resume(void **state)
{
    (void)state;
    enum { N = 300, MAX = 10 };
    wf_kafka_mock *m = h_mock(1, "p", 2);
    h_produce(m, "p", 0, N);
    wf_config *c = h_config(m, "p", "gp");
    h_set(c, "source.max_in_flight=%s", "10");
    wf_source *s = h_source(c, NULL);
    static int seen[N];
    memset(seen, 0, sizeof seen);
    uint64_t pending[MAX];
    int npending = 0, got = 0, stalls = 0;
    unsigned rnd = 7;
    double until = h_now() + 18;
    while (got < N && h_now() < until) {
        wf_source_msg msg;
        int rc = wf_source_poll(s, &msg, 20, NULL);
        wf_source_counters k;
        wf_source_stats(s, &k);
        assert_true(k.in_flight <= MAX);
        assert_true(k.held <= MAX + 1024);
        if (rc == 0) {
            assert_true(npending < MAX);
            seen[h_number(&msg)]++;
            got++;
            pending[npending++] = msg.tag;
            continue;
        }
        assert_int_equal(rc, WF_EAGAIN);
        if (npending < MAX)
            continue;
        /* Full. The first two stalls last until the source pauses; later
         * ones are short and resolved without a pause. */
        if (stalls < 2 && !k.paused)
            continue;
        stalls++;
        for (int done = 0; done < MAX / 2 + 1; done++) {
            rnd = rnd * 1103515245u + 12345u;
            int j = (int)(rnd % (unsigned)npending);
            wf_source_done(s, pending[j]);
            pending[j] = pending[--npending];
        }
    }
    assert_int_equal(got, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    for (int j = 0; j < npending; j++)
        wf_source_done(s, pending[j]);
    wf_source_counters k;
    wf_source_stats(s, &k);
    assert_true(stalls > 2);
    assert_true(k.pauses >= 2);
    assert_int_equal(k.in_flight, 0);
    assert_int_equal(k.held, 0);
    assert_int_equal(wf_source_close(s, 5000, NULL), 0);
    assert_int_equal(h_leftover(m, "p", "gp", 2), 0);
    wf_config_free(c);
    wf_kafka_mock_stop(m);
}

int main(void)
{
    h_quiet_logs();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exactly_once),
        cmocka_unit_test(test_watermark),
        cmocka_unit_test(test_pause_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
