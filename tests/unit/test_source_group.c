/* Two sources in one consumer group on a 4-partition topic: they split the
 * partitions, and a rebalance in the middle (the second joins while the first
 * consumes) loses nothing, with eager and with cooperative assignment. */
#include "source_harness.h"

enum { N1 = 1500, N = 3000, PARTS = 4, MAXP = 64 };

/* One member: the tags it holds back (work not yet durable), the lowest
 * offset per partition it ever abandoned at a revocation, and its drain
 * policy. */
typedef struct member {
    wf_source *s;
    uint64_t pending[MAXP];
    int32_t pending_part[MAXP];
    int64_t pending_off[MAXP];
    int npending;
    int drains;
    int abandon; /* drain gives the held work up instead of completing it */
    int64_t abandoned_min[PARTS];
} member;

static void drain(void *ctx)
{
    member *mb = ctx;
    mb->drains++;
    for (int i = 0; i < mb->npending; i++) {
        if (!mb->abandon) {
            wf_source_done(mb->s, mb->pending[i]);
            continue;
        }
        int32_t p = mb->pending_part[i];
        if (mb->abandoned_min[p] < 0 || mb->pending_off[i] < mb->abandoned_min[p])
            mb->abandoned_min[p] = mb->pending_off[i];
        /* The pipeline finishes abandoned work later: the stale tag only
         * frees the bytes. */
        wf_source_done(mb->s, mb->pending[i]);
    }
    mb->npending = 0;
}

static void member_init(member *mb, int abandon)
{
    memset(mb, 0, sizeof *mb);
    mb->abandon = abandon;
    for (int p = 0; p < PARTS; p++)
        mb->abandoned_min[p] = -1;
}

/* Every 10th message is held back until the next drain or until MAXP are
 * held; the rest are done at once. */
static int step(member *mb, int *seen, int32_t *part_of, int64_t *off_of)
{
    wf_source_msg msg;
    int rc = wf_source_poll(mb->s, &msg, 20, NULL);
    if (rc == WF_EAGAIN)
        return 0;
    assert_int_equal(rc, 0);
    int i = h_number(&msg);
    assert_true(i >= 0 && i < N);
    seen[i]++;
    part_of[i] = msg.partition;
    off_of[i] = msg.offset;
    if (i % 10 == 0 && mb->npending < MAXP) {
        mb->pending[mb->npending] = msg.tag;
        mb->pending_part[mb->npending] = msg.partition;
        mb->pending_off[mb->npending++] = msg.offset;
    } else {
        wf_source_done(mb->s, msg.tag);
    }
    return 1;
}

static int total(const int *seen)
{
    int n = 0;
    for (int i = 0; i < N; i++)
        n += seen[i] > 0;
    return n;
}

static void run_group(const char *strategy, int abandon)
{
    wf_kafka_mock *m = h_mock(1, "g", PARTS);
    h_produce(m, "g", 0, N1);
    wf_config *c = h_config(m, "g", "grp");
    h_set(c, "kafka.partition.assignment.strategy=%s", strategy);
    static int seen[N];
    static int32_t part_of[N];
    static int64_t off_of[N];
    memset(seen, 0, sizeof seen);
    member a, b;
    member_init(&a, abandon);
    member_init(&b, abandon);
    wf_source_hooks ha = {drain, &a}, hb = {drain, &b};
    a.s = h_source(c, &ha);
    double until = h_now() + 15;
    int got_a = 0;
    while (got_a < 300 && h_now() < until)
        got_a += step(&a, seen, part_of, off_of);
    assert_int_equal(got_a, 300);

    b.s = h_source(c, &hb);
    h_produce(m, "g", N1, N);
    int got_b = 0;
    until = h_now() + 20;
    while (total(seen) < N && h_now() < until) {
        got_a += step(&a, seen, part_of, off_of);
        got_b += step(&b, seen, part_of, off_of);
    }
    if (total(seen) != N) {
        int shown = 0;
        for (int i = 0; i < N && shown < 20; i++)
            if (!seen[i]) { fprintf(stderr, "missing m%d key k%d\n", i, i % 37); shown++; }
        wf_source_counters x, y; wf_source_stats(a.s, &x); wf_source_stats(b.s, &y);
        fprintf(stderr, "a: consumed %llu assigned %d inflight %llu paused %d; b: consumed %llu assigned %d inflight %llu paused %d\n",
          (unsigned long long)x.consumed, x.assigned, (unsigned long long)x.in_flight, x.paused,
          (unsigned long long)y.consumed, y.assigned, (unsigned long long)y.in_flight, y.paused);
    }
    assert_int_equal(total(seen), N);
    assert_true(got_b > 0);
    assert_true(a.drains >= 1);
    /* Both members ended with a share of the partitions. */
    wf_source_counters ka, kb;
    wf_source_stats(a.s, &ka);
    wf_source_stats(b.s, &kb);
    assert_int_equal(ka.assigned + kb.assigned, PARTS);
    assert_true(ka.assigned >= 1 && kb.assigned >= 1);
    assert_true(ka.rebalances >= 2);
    /* Duplicates only where work was abandoned: at or after the first
     * abandoned offset of the partition. */
    for (int i = 0; i < N; i++) {
        if (seen[i] == 1)
            continue;
        int64_t la = a.abandoned_min[part_of[i]], lb = b.abandoned_min[part_of[i]];
        int64_t lo = la < 0 ? lb : lb < 0 ? la : la < lb ? la : lb;
        if (lo < 0 || off_of[i] < lo)
            fail_msg("m%d (partition %d offset %lld) delivered %d times", i, part_of[i],
                     (long long)off_of[i], seen[i]);
    }
    drain(&a);
    drain(&b);
    assert_int_equal(wf_source_close(a.s, 5000, NULL), 0);
    assert_int_equal(wf_source_close(b.s, 5000, NULL), 0);
    assert_int_equal(h_leftover(m, "g", "grp", 2), 0);
    wf_config_free(c);
    wf_kafka_mock_stop(m);
}

/* Drain completes the held work: nothing at all is delivered twice. */
static void test_eager_rebalance(void **state)
{
    (void)state;
    run_group("range", 0);
}

/* Drain abandons the held work: it is redelivered, nothing is lost. */
static void test_cooperative_rebalance(void **state)
{
    (void)state;
    run_group("cooperative-sticky", 1);
}

int main(void)
{
    if (!getenv("WF_TEST_LOGS"))
        h_quiet_logs();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eager_rebalance),
        cmocka_unit_test(test_cooperative_rebalance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
