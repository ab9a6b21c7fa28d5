/* The hot-swap slot: publish, acquire, release, and when models are freed. */
#include <pthread.h>
#include <sched.h>

#include "serve_harness.h"
#include "testutil.h"

static void empty_slot_gives_null(void **state)
{
    (void)state;
    wf_model_slot *s = wf_model_slot_new();
    assert_non_null(s);
    assert_null(wf_model_slot_acquire(s));
    wf_model_slot_free(s);
}

static void publish_then_acquire(void **state)
{
    (void)state;
    _Atomic int destroyed = 0;
    wf_model_slot *s = wf_model_slot_new();
    wf_model *m = fake_model(1, 2, 3, &destroyed);
    char version[] = "v1";
    assert_int_equal(wf_model_slot_publish(s, m, version, NULL), 0);
    version[1] = '9'; /* the slot keeps its own copy */
    const wf_model_ref *r = wf_model_slot_acquire(s);
    assert_non_null(r);
    assert_ptr_equal(r->model, m);
    assert_string_equal(r->version, "v1");
    wf_model_slot_release(s, r);
    assert_int_equal(destroyed, 0);
    wf_model_slot_free(s);
    assert_int_equal(destroyed, 1);
}

static void old_model_lives_until_last_release(void **state)
{
    (void)state;
    _Atomic int d1 = 0, d2 = 0;
    wf_model_slot *s = wf_model_slot_new();
    assert_int_equal(wf_model_slot_publish(s, fake_model(1, 1, 1, &d1), "a", NULL), 0);
    const wf_model_ref *r1 = wf_model_slot_acquire(s);
    const wf_model_ref *r2 = wf_model_slot_acquire(s);
    assert_int_equal(wf_model_slot_publish(s, fake_model(2, 2, 2, &d2), "b", NULL), 0);
    assert_int_equal(d1, 0);
    /* The held model still scores and still has its version. */
    wf_model_input in = {.text = "x"};
    float z[WF_LOGITS];
    assert_int_equal(wf_model_score(r1->model, &in, 1, z, NULL), 0);
    assert_true(z[0] == 1.0f);
    assert_string_equal(r2->version, "a");
    wf_model_slot_release(s, r1);
    assert_int_equal(d1, 0);
    wf_model_slot_release(s, r2);
    assert_int_equal(d1, 1);
    const wf_model_ref *r3 = wf_model_slot_acquire(s);
    assert_string_equal(r3->version, "b");
    wf_model_slot_release(s, r3);
    wf_model_slot_free(s);
    assert_int_equal(d2, 1);
}

static void publish_rejects_missing_args(void **state)
{
    (void)state;
    wf_model_slot *s = wf_model_slot_new();
    wf_error e = {0};
    assert_int_equal(wf_model_slot_publish(s, NULL, "v", &e), WF_EINVAL);
    assert_null(wf_model_slot_acquire(s));
    wf_model_slot_free(s);
}

/* Readers acquire, score and release while a writer publishes 2000 more models;
 * every acquired model must be alive (the fake refuses to score once freed),
 * and at the end every model but the last was freed exactly once. */
enum { SWAPS = 2000, READERS = 4 };

typedef struct race {
    wf_model_slot *s;
    _Atomic int stop;
    _Atomic int failures;
    _Atomic long reads;
} race;

static void *reader(void *arg)
{
    race *r = arg;
    wf_model_input in = {.text = "t"};
    float z[WF_LOGITS];
    while (!atomic_load(&r->stop)) {
        const wf_model_ref *ref = wf_model_slot_acquire(r->s);
        if (!ref)
            continue;
        int v = atoi(ref->version);
        if (wf_model_score(ref->model, &in, 1, z, NULL) != 0 || (int)z[0] != v)
            atomic_fetch_add(&r->failures, 1);
        wf_model_slot_release(r->s, ref);
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

static void swaps_under_readers(void **state)
{
    (void)state;
    _Atomic int destroyed = 0;
    race r = {.s = wf_model_slot_new()};
    pthread_t t[READERS];
    for (int i = 0; i < READERS; i++)
        pthread_create(&t[i], NULL, reader, &r);
    /* Version 0 first, and the readers running, so the swaps overlap them. */
    assert_int_equal(wf_model_slot_publish(r.s, fake_model(0, 0, 0, &destroyed), "0", NULL), 0);
    while (atomic_load(&r.reads) < 100)
        sched_yield();
    for (int v = 1; v <= SWAPS; v++) {
        char ver[16];
        snprintf(ver, sizeof ver, "%d", v);
        assert_int_equal(
            wf_model_slot_publish(r.s, fake_model((float)v, 0, 0, &destroyed), ver, NULL), 0);
    }
    atomic_store(&r.stop, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(r.failures, 0);
    assert_true(r.reads > 0);
    assert_int_equal(destroyed, SWAPS);
    wf_model_slot_free(r.s);
    assert_int_equal(destroyed, SWAPS + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_slot_gives_null),
        cmocka_unit_test(publish_then_acquire),
        cmocka_unit_test(old_model_lives_until_last_release),
        cmocka_unit_test(publish_rejects_missing_args),
        cmocka_unit_test(swaps_under_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
