/* A slow model scores on the server's own workers, not on libmicrohttpd's
 * threads: with one HTTP thread, server.max_concurrent requests are in the
 * model at once while the probes are answered; and stopping the server
 * while requests are in the model lets them finish and answers them, for a
 * fast model scored on the HTTP thread too. The model is a gate that holds
 * every input named "block N" until the test opens it, and scores N. */
#include <pthread.h>
#include <time.h>

#include "serve/serve.h"
#include "serve_harness.h"
#include "testutil.h"

#define WAIT_S 10 /* the most any wait here takes before the test fails */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inside; /* scoring calls held */
    int open;
} gate;

static void gate_init(gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->inside = 0;
    g->open = 0;
}

static void gate_destroy(gate *g)
{
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

static struct timespec deadline(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_S;
    return ts;
}

/* The number of calls held once n are, or fewer after WAIT_S. */
static int gate_wait_inside(gate *g, int n)
{
    struct timespec until = deadline();
    pthread_mutex_lock(&g->mu);
    while (g->inside < n && pthread_cond_timedwait(&g->cv, &g->mu, &until) == 0)
        ;
    int inside = g->inside;
    pthread_mutex_unlock(&g->mu);
    return inside;
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void gate_pass(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->inside++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    g->inside--;
    pthread_mutex_unlock(&g->mu);
}

static float logit_of(const char *text)
{
    const char *sp = strrchr(text, ' ');
    return sp ? (float)atof(sp + 1) : 0.0f;
}

static int gate_score(const wf_model *m, const wf_model_input *in, size_t n, float *logits,
                      wf_error *err)
{
    (void)err;
    for (size_t i = 0; i < n; i++) {
        const char *t = in[i].text ? in[i].text : in[i].response;
        if (strncmp(t, "block", 5) == 0)
            gate_pass(m->impl);
        for (int j = 0; j < WF_LOGITS; j++)
            logits[i * WF_LOGITS + j] = logit_of(t);
    }
    return 0;
}

static void gate_destroy_model(wf_model *m)
{
    free(m);
}

static const wf_model_ops gate_ops = {"gate", gate_score, fake_save, fake_files, gate_destroy_model,
                                      NULL,   .slow = 1};

/* The same gate as a fast model: scored on the HTTP thread. */
static const wf_model_ops fast_gate_ops = {
    "gate", gate_score, fake_save, fake_files, gate_destroy_model, NULL, 0};

static wf_model *gate_model(gate *g)
{
    wf_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->ops = &gate_ops;
    m->head = WF_HEAD_CORAL;
    m->impl = g;
    return m;
}

/* The reward the gate model gives "... v", as the server prints it. */
static void reward_text(float v, char *out, size_t n)
{
    float z[WF_LOGITS] = {v, v, v};
    snprintf(out, n, "%.6f", wf_reward(z));
}

typedef struct client {
    int port, k;
    CURLcode rc;
    http_resp resp;
} client;

/* Even k: POST /v1/score, odd: POST /get_reward, for the text "block k". */
static void *post_blocked(void *arg)
{
    client *c = arg;
    char body[128];
    if (c->k % 2 == 0)
        snprintf(body, sizeof body, "{\"items\":[{\"query\":\"q\",\"response\":\"block %d\"}]}",
                 c->k);
    else
        snprintf(body, sizeof body, "{\"query\":[\"block %d\"]}", c->k);
    c->rc =
        http_do(c->port, "POST", c->k % 2 == 0 ? "/v1/score" : "/get_reward", body, NULL, &c->resp);
    return NULL;
}

static void start_clients(client *c, pthread_t *t, int n, int port)
{
    for (int i = 0; i < n; i++) {
        c[i] = (client){.port = port, .k = i + 1};
        assert_int_equal(pthread_create(&t[i], NULL, post_blocked, &c[i]), 0);
    }
}

/* Joins the clients and asserts each got 200 with its own score. */
static void expect_scored(client *c, pthread_t *t, int n)
{
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(c[i].rc, CURLE_OK);
        if (c[i].resp.status != 200)
            fprintf(stderr, "client %d: %ld %s\n", c[i].k, c[i].resp.status,
                    c[i].resp.body.data ? c[i].resp.body.data : "");
        assert_int_equal(c[i].resp.status, 200);
        char want[64], reward[32];
        reward_text((float)c[i].k, reward, sizeof reward);
        snprintf(want, sizeof want, c[i].k % 2 == 0 ? "\"reward\":%s," : "{\"rewards\":[%s]}",
                 reward);
        assert_non_null(c[i].resp.body.data);
        assert_non_null(strstr(c[i].resp.body.data, want));
        http_resp_free(&c[i].resp);
    }
}

static void expect_metric(int port, const char *line)
{
    http_resp r = {0};
    assert_int_equal(http_do(port, "GET", "/metrics", NULL, NULL, &r), CURLE_OK);
    if (!r.body.data || !strstr(r.body.data, line))
        fprintf(stderr, "missing: %s", line);
    assert_non_null(r.body.data);
    assert_non_null(strstr(r.body.data, line));
    http_resp_free(&r);
}

/* One HTTP thread, four scoring places: all four requests are in the model
 * together, /healthz is answered meanwhile, a fifth request gets 429. */
static void scoring_beside_one_http_thread(void **state)
{
    (void)state;
    gate g;
    gate_init(&g);
    wf_model_slot *slot = wf_model_slot_new();
    assert_int_equal(wf_model_slot_publish(slot, gate_model(&g), "v1", NULL), 0);
    const char *const set[] = {"server.threads=1", "server.max_concurrent=4", NULL};
    wf_server *s = start_server(slot, NULL, set, NULL);
    assert_non_null(s);
    int port = wf_server_port(s);
    client c[4];
    pthread_t t[4];
    start_clients(c, t, 4, port);
    assert_int_equal(gate_wait_inside(&g, 4), 4);
    http_resp r = {0};
    assert_int_equal(http_do(port, "GET", "/healthz", NULL, NULL, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(http_do(port, "POST", "/get_reward", "{\"query\":[\"x 1\"]}", NULL, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 429);
    assert_non_null(strstr(r.headers.data, "Retry-After: 1"));
    http_resp_free(&r);
    expect_metric(port, "wf_server_inflight 4\n");
    gate_open(&g);
    expect_scored(c, t, 4);
    expect_metric(port, "wf_server_requests_total{endpoint=\"get_reward\",code=\"200\"} 2\n");
    expect_metric(port, "wf_server_requests_total{endpoint=\"score\",code=\"200\"} 2\n");
    expect_metric(port, "wf_server_requests_total{endpoint=\"get_reward\",code=\"429\"} 1\n");
    expect_metric(port, "wf_server_score_seconds_count{endpoint=\"score\"} 2\n");
    expect_metric(port, "wf_server_inflight 0\n");
    wf_server_stop(s);
    wf_model_slot_free(slot);
    gate_destroy(&g);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct opener {
    int port;
    gate *g;
    CURL *h;        /* one keep-alive connection for every probe */
    http_resp last; /* the last probe's answer: 503 */
    long healthz;   /* /healthz's status then */
    long readyz;    /* /readyz's status then */
    double opened_at;
} opener;

static const char probe[] = "{\"query\":[\"probe 0\"]}";

static CURLcode send_probe(opener *o)
{
    return http_do_on(o->h, o->port, "POST", "/get_reward", probe, strlen(probe), NULL, &o->last);
}

/* Probes (which pass the gate) until the server answers that it is
 * stopping, asks /healthz and /readyz, then opens the gate: so the stop has begun,
 * deterministically, with requests held in the model. */
static void *open_once_stopping(void *arg)
{
    opener *o = arg;
    double until = now() + WAIT_S;
    while (now() < until && send_probe(o) == CURLE_OK && o->last.status == 200)
        usleep(1000);
    http_resp r = {0};
    http_do(o->port, "GET", "/healthz", NULL, NULL, &r);
    o->healthz = r.status;
    http_resp_free(&r);
    http_do(o->port, "GET", "/readyz", NULL, NULL, &r);
    o->readyz = r.status;
    http_resp_free(&r);
    o->opened_at = now();
    gate_open(o->g);
    return NULL;
}

/* Stopping the server while requests are held in the model: new scoring
 * requests and /readyz get 503 and /healthz 200, the held ones are finished and
 * answered 200 (not cut off), the stop returns only after they left the
 * model, and nothing leaks (the ASan build checks). */
static void stop_while_scoring(void **state)
{
    (void)state;
    gate g;
    gate_init(&g);
    wf_model_slot *slot = wf_model_slot_new();
    assert_int_equal(wf_model_slot_publish(slot, gate_model(&g), "v1", NULL), 0);
    const char *const set[] = {"server.threads=2", "server.max_concurrent=4", NULL};
    wf_server *s = start_server(slot, NULL, set, NULL);
    assert_non_null(s);
    int port = wf_server_port(s);
    client c[3];
    pthread_t t[3], ot;
    start_clients(c, t, 3, port);
    assert_int_equal(gate_wait_inside(&g, 3), 3);
    opener o = {.port = port, .g = &g, .h = curl_easy_init()};
    assert_int_equal(send_probe(&o), CURLE_OK);
    assert_int_equal(o.last.status, 200);
    assert_int_equal(pthread_create(&ot, NULL, open_once_stopping, &o), 0);
    wf_server_stop(s);
    double stopped_at = now();
    pthread_join(ot, NULL);
    curl_easy_cleanup(o.h);
    assert_int_equal(o.last.status, 503);
    assert_string_equal(o.last.body.data, "{\"error\":\"the server is stopping\"}");
    assert_non_null(strstr(o.last.headers.data, "Retry-After: 1"));
    assert_int_equal(o.healthz, 200); /* a liveness probe during the drain */
    assert_int_equal(o.readyz, 503);  /* no more traffic: scoring is refused */
    http_resp_free(&o.last);
    assert_true(stopped_at >= o.opened_at);
    expect_scored(c, t, 3);
    http_resp r = {0};
    assert_int_equal(http_do(port, "GET", "/healthz", NULL, NULL, &r), CURLE_COULDNT_CONNECT);
    http_resp_free(&r);
    wf_model_slot_free(slot);
    gate_destroy(&g);
}

static void *stop_server(void *s)
{
    wf_server_stop(s);
    return NULL;
}

/* A fast model scores on the HTTP thread; a stop that begins while it is
 * in the model still waits for its answer to be sent: 200, not a cut
 * connection. The pause after the stop began gives an untracked answer
 * time to be lost. */
static void stop_while_scoring_inline(void **state)
{
    (void)state;
    gate g;
    gate_init(&g);
    wf_model *m = gate_model(&g);
    m->ops = &fast_gate_ops;
    wf_model_slot *slot = wf_model_slot_new();
    assert_int_equal(wf_model_slot_publish(slot, m, "v1", NULL), 0);
    const char *const set[] = {"server.threads=2", NULL};
    wf_server *s = start_server(slot, NULL, set, NULL);
    assert_non_null(s);
    client c[1];
    pthread_t t[1], st;
    start_clients(c, t, 1, wf_server_port(s));
    assert_int_equal(gate_wait_inside(&g, 1), 1);
    assert_int_equal(pthread_create(&st, NULL, stop_server, s), 0);
    for (double until = now() + WAIT_S; !wf_serve_pool_stopping(&s->pool) && now() < until;)
        usleep(1000);
    assert_int_equal(wf_serve_pool_stopping(&s->pool), 1);
    usleep(100000);
    gate_open(&g);
    expect_scored(c, t, 1);
    pthread_join(st, NULL);
    wf_model_slot_free(slot);
    gate_destroy(&g);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scoring_beside_one_http_thread),
        cmocka_unit_test(stop_while_scoring),
        cmocka_unit_test(stop_while_scoring_inline),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
