/* Batching of concurrent score calls (src/models/tf_batcher.c), with a fake
 * forward pass whose logits encode each sequence, so every caller can check
 * it got its own. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "models/tf_batcher.h"
#include "testutil.h"

typedef struct fake {
    atomic_int calls;
    atomic_size_t most_tokens; /* of any one call */
    atomic_int hold;           /* the first call waits while this is set */
    atomic_int fail_next;
} fake;

/* logits of sequence s: first id, length, 7. */
static int fake_forward(void *ctx, const int32_t *const *ids, const size_t *lens, size_t n,
                        float *logits, wf_error *err)
{
    fake *f = ctx;
    size_t tokens = 0;
    for (size_t s = 0; s < n; s++) {
        tokens += lens[s];
        logits[3 * s] = (float)ids[s][0];
        logits[3 * s + 1] = (float)lens[s];
        logits[3 * s + 2] = 7.0f;
    }
    size_t seen = atomic_load(&f->most_tokens);
    while (tokens > seen && !atomic_compare_exchange_weak(&f->most_tokens, &seen, tokens))
        ;
    if (atomic_fetch_add(&f->calls, 1) == 0)
        while (atomic_load(&f->hold))
            nanosleep(&(struct timespec){0, 1000000}, NULL);
    if (atomic_exchange(&f->fail_next, 0))
        return wf_error_set(err, WF_EIO, "fake: device lost");
    return 0;
}

typedef struct caller {
    wf_tfb_batcher *b;
    fake *f;
    int32_t ids[2][4];
    size_t lens[2];
    int rounds, rc, wrong;
    wf_error err;
} caller;

static void *call(void *arg)
{
    caller *c = arg;
    const int32_t *seqs[2] = {c->ids[0], c->ids[1]};
    for (int r = 0; r < c->rounds; r++) {
        float z[6];
        c->rc = wf_tfb_batcher_score(c->b, fake_forward, c->f, seqs, c->lens, 2, z, &c->err);
        if (c->rc)
            return NULL;
        for (int s = 0; s < 2; s++)
            c->wrong += z[3 * s] != (float)c->ids[s][0] || z[3 * s + 1] != (float)c->lens[s] ||
                        z[3 * s + 2] != 7.0f;
    }
    return NULL;
}

static void caller_init(caller *c, wf_tfb_batcher *b, fake *f, int who, int rounds)
{
    memset(c, 0, sizeof *c);
    c->b = b, c->f = f, c->rounds = rounds;
    c->ids[0][0] = 100 + who, c->ids[1][0] = 200 + who;
    c->lens[0] = 1 + (size_t)who % 3, c->lens[1] = 1;
}

static size_t queued(wf_tfb_batcher *b)
{
    pthread_mutex_lock(&b->mu);
    size_t n = b->queued;
    pthread_mutex_unlock(&b->mu);
    return n;
}

/* Callers arriving while a batch runs are served together by the next. */
static void test_waiting_callers_share_a_batch(void **state)
{
    (void)state;
    wf_tfb_batcher b;
    wf_tfb_batcher_init(&b, 1000);
    fake f = {0};
    atomic_store(&f.hold, 1);
    caller c[4];
    pthread_t th[4];
    caller_init(&c[0], &b, &f, 0, 1);
    pthread_create(&th[0], NULL, call, &c[0]);
    while (atomic_load(&f.calls) == 0) /* the first batch is running */
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    for (int i = 1; i < 4; i++) {
        caller_init(&c[i], &b, &f, i, 1);
        pthread_create(&th[i], NULL, call, &c[i]);
    }
    for (int spins = 0; queued(&b) < 3 && spins < 10000; spins++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    assert_int_equal(queued(&b), 3);
    atomic_store(&f.hold, 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].rc, 0);
        assert_int_equal(c[i].wrong, 0);
    }
    assert_int_equal(atomic_load(&f.calls), 2);
    assert_int_equal(b.batches, 2);
    assert_int_equal(b.requests, 4);
    assert_int_equal(queued(&b), 0);
    wf_tfb_batcher_destroy(&b);
}

/* Requests are gathered only up to the budget; one larger than the budget
 * still runs, alone. */
static void test_budget_bounds_batches(void **state)
{
    (void)state;
    wf_tfb_batcher b;
    wf_tfb_batcher_init(&b, 5);
    fake f = {0};
    atomic_store(&f.hold, 1);
    caller c[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) /* 2, 3, 4 and 2 tokens (1 + i % 3, and 1) */
        caller_init(&c[i], &b, &f, i, 1);
    pthread_create(&th[0], NULL, call, &c[0]);
    while (atomic_load(&f.calls) == 0)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    for (int i = 1; i < 4; i++) {
        pthread_create(&th[i], NULL, call, &c[i]);
        for (int spins = 0; queued(&b) < (size_t)i && spins < 10000; spins++)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    atomic_store(&f.hold, 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].wrong, 0);
    }
    /* [2] running, then [3] (3 + 4 > 5), then [4] (4 + 2 > 5), then [2] */
    assert_int_equal(b.batches, 4);
    assert_true(atomic_load(&f.most_tokens) <= 5);
    wf_tfb_batcher tiny;
    wf_tfb_batcher_init(&tiny, 1);
    caller big;
    caller_init(&big, &tiny, &f, 2, 1); /* 4 tokens, budget 1 */
    call(&big);
    assert_int_equal(big.rc, 0);
    assert_int_equal(big.wrong, 0);
    wf_tfb_batcher_destroy(&tiny);
    wf_tfb_batcher_destroy(&b);
}

/* A failing forward fails the requests of its batch only. */
static void test_failure_reaches_its_batch(void **state)
{
    (void)state;
    wf_tfb_batcher b;
    wf_tfb_batcher_init(&b, 1000);
    fake f = {0};
    atomic_store(&f.calls, 1); /* no holding */
    atomic_store(&f.fail_next, 1);
    caller c;
    caller_init(&c, &b, &f, 1, 1);
    call(&c);
    assert_int_equal(c.rc, WF_EIO);
    assert_string_equal(c.err.msg, "fake: device lost");
    caller_init(&c, &b, &f, 1, 3);
    call(&c);
    assert_int_equal(c.rc, 0);
    assert_int_equal(c.wrong, 0);
    wf_tfb_batcher_destroy(&b);
}

/* Many callers at once: each always gets its own logits, and nothing is
 * left queued. */
static void test_concurrent_callers(void **state)
{
    (void)state;
    wf_tfb_batcher b;
    wf_tfb_batcher_init(&b, 12);
    fake f = {0};
    atomic_store(&f.calls, 1);
    enum { THREADS = 8, ROUNDS = 300 };
    caller c[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        caller_init(&c[i], &b, &f, i, ROUNDS);
        pthread_create(&th[i], NULL, call, &c[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].rc, 0);
        assert_int_equal(c[i].wrong, 0);
    }
    assert_int_equal(b.requests, THREADS * ROUNDS);
    assert_true(b.batches <= b.requests);
    assert_true(atomic_load(&f.most_tokens) <= 12);
    assert_int_equal(queued(&b), 0);
    print_message("%llu requests in %llu batches\n", (unsigned long long)b.requests,
                  (unsigned long long)b.batches);
    wf_tfb_batcher_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waiting_callers_share_a_batch),
        cmocka_unit_test(test_budget_bounds_batches),
        cmocka_unit_test(test_failure_reaches_its_batch),
        cmocka_unit_test(test_concurrent_callers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
