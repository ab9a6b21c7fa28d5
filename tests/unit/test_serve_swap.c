/* Hot swap under load: client threads hammer /v1/score over keep-alive
 * connections while the test publishes 100 models whose logits encode their
 * version. No request may fail, every answer must come from a model that was
 * active at some time during that request, and its scores must be that
 * model's. */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "serve_harness.h"
#include "testutil.h"

enum { CLIENTS = 4, SWAPS = 100, MAX_RECORDS = 100000 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static float logit_of(int version)
{
    return (float)version / 25.0f - 2.0f;
}

typedef struct record {
    double t0, t1;
    int curl_rc;
    long status;
    int version; /* -1 when the answer could not be read */
    double reward;
} record;

typedef struct client {
    int port;
    _Atomic int *stop;
    _Atomic long *done;
    record *rec;
    size_t n;
} client;

static void read_answer(const http_resp *r, record *rec)
{
    rec->version = -1;
    json_t *root = r->body.data ? json_loads(r->body.data, 0, NULL) : NULL;
    const char *v = json_string_value(json_object_get(root, "model_version"));
    json_t *res = json_array_get(json_object_get(root, "results"), 1);
    if (v && res) {
        rec->version = atoi(v);
        rec->reward = json_number_value(json_object_get(res, "reward"));
    }
    json_decref(root);
}

static void *hammer(void *arg)
{
    client *c = arg;
    CURL *h = curl_easy_init();
    http_resp r = {0};
    const char *body = "{\"items\":[{\"query\":\"q\",\"response\":\"r\"},"
                       "{\"history\":[{\"role\":\"user\",\"content\":\"x\"}],\"query\":\"q2\","
                       "\"response\":\"r2\"}]}";
    while (!atomic_load(c->stop) && c->n < MAX_RECORDS) {
        record *rec = &c->rec[c->n++];
        rec->t0 = now();
        rec->curl_rc = http_do_on(h, c->port, "POST", "/v1/score", body, strlen(body), NULL, &r);
        rec->t1 = now();
        rec->status = r.status;
        read_answer(&r, rec);
        atomic_fetch_add(c->done, 1);
    }
    http_resp_free(&r);
    curl_easy_cleanup(h);
    return NULL;
}

/* v was in the slot at some instant of [t0, t1]: it was published before t1
 * and its successor's publish had not finished before t0. */
static int active_during(const double *pub_begin, const double *pub_end, int v, double t0,
                         double t1)
{
    return v >= 0 && v <= SWAPS && pub_begin[v] <= t1 && (v == SWAPS || pub_end[v + 1] >= t0);
}

static void check_records(const client *cl, const double *pub_begin, const double *pub_end)
{
    size_t total = 0;
    for (int i = 0; i < CLIENTS; i++)
        for (size_t k = 0; k < cl[i].n; k++) {
            const record *rec = &cl[i].rec[k];
            assert_int_equal(rec->curl_rc, CURLE_OK);
            assert_int_equal(rec->status, 200);
            if (!active_during(pub_begin, pub_end, rec->version, rec->t0, rec->t1))
                fprintf(stderr, "version %d answered over [%f, %f]\n", rec->version, rec->t0,
                        rec->t1);
            assert_true(active_during(pub_begin, pub_end, rec->version, rec->t0, rec->t1));
            float z[WF_LOGITS];
            for (int j = 0; j < WF_LOGITS; j++)
                z[j] = logit_of(rec->version);
            assert_true(fabs(rec->reward - wf_reward(z)) < 1e-6);
            total++;
        }
    print_message("%zu requests over %d swaps\n", total, SWAPS);
    assert_true(total >= SWAPS);
}

static void swaps_under_load(void **state)
{
    (void)state;
    static double pub_begin[SWAPS + 1], pub_end[SWAPS + 1];
    _Atomic int destroyed = 0, stop = 0;
    _Atomic long done = 0;
    wf_model_slot *slot = wf_model_slot_new();
    pub_begin[0] = now();
    wf_model_slot_publish(slot, fake_model(logit_of(0), logit_of(0), logit_of(0), &destroyed), "0",
                          NULL);
    pub_end[0] = now();
    const char *const set[] = {"server.threads=4", NULL};
    wf_server *s = start_server(slot, NULL, set, NULL);
    assert_non_null(s);
    client cl[CLIENTS];
    pthread_t t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        cl[i] = (client){wf_server_port(s), &stop, &done, calloc(MAX_RECORDS, sizeof(record)), 0};
        pthread_create(&t[i], NULL, hammer, &cl[i]);
    }
    for (int v = 1; v <= SWAPS; v++) {
        /* Let requests complete between swaps, so each model serves some. */
        long seen = atomic_load(&done);
        while (atomic_load(&done) < seen + CLIENTS)
            sched_yield();
        char ver[16];
        snprintf(ver, sizeof ver, "%d", v);
        float z = logit_of(v);
        pub_begin[v] = now();
        assert_int_equal(wf_model_slot_publish(slot, fake_model(z, z, z, &destroyed), ver, NULL),
                         0);
        pub_end[v] = now();
    }
    long seen = atomic_load(&done);
    while (atomic_load(&done) < seen + CLIENTS)
        sched_yield();
    atomic_store(&stop, 1);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(t[i], NULL);
    wf_server_stop(s);
    check_records(cl, pub_begin, pub_end);
    assert_int_equal(destroyed, SWAPS);
    wf_model_slot_free(slot);
    assert_int_equal(destroyed, SWAPS + 1);
    for (int i = 0; i < CLIENTS; i++)
        free(cl[i].rec);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(swaps_under_load)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
