/* The scoring server over loopback, and the hot-swap pause.
 *
 * usage: bench_serve_http [CLIENTS] [SECONDS] [ITEMS] [THREADS]
 *
 * 1. /v1/score throughput and p50/p99 latency: CLIENTS threads (default 4),
 *    each a libcurl easy handle with keep-alive, POST requests of ITEMS items
 *    (default 8; ~1.2 KB of query and response each) for SECONDS (default 2)
 *    against a server with THREADS threads (default 4). Twice: a model that
 *    costs nothing, and one that spins about 10 us per item, the cost of the
 *    linear backend at its goal of 100,000 items/s; then the latter marked
 *    slow (ops.slow, as the transformer is), which the server scores on its
 *    scoring threads rather than the HTTP thread: the hand-off's cost. Then a
 *    model that waits 50 ms a call under 16 clients of one item, on the HTTP
 *    threads and on the scoring threads: how many requests share the model,
 *    and how long /healthz takes meanwhile (probed every 10 ms in every
 *    case).
 * 2. Swap pause: two threads acquire and release the slot's model in a loop
 *    while a third publishes new models back to back; the time one
 *    acquire+release takes, p50/p99/max, against the same loop without
 *    publishing. */
#include <pthread.h>
#include <time.h>

#include "../tests/unit/serve_harness.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct lat {
    double *v;
    size_t n, cap;
} lat;

static void lat_add(lat *l, double x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4096;
        double *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = x;
}

/* Merges the per-thread samples and sorts them. */
static lat lat_merge(lat *parts, int n)
{
    lat all = {0};
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < parts[i].n; k++)
            lat_add(&all, parts[i].v[k]);
        free(parts[i].v);
    }
    qsort(all.v, all.n, sizeof *all.v, cmp_double);
    return all;
}

static double pct(const lat *l, double p)
{
    return l->n ? l->v[(size_t)(p * (double)(l->n - 1))] : 0;
}

/* A keep-alive client: POST body to /v1/score back to back, or (body NULL)
 * GET /healthz every pause_us, as a liveness probe would. */
typedef struct client {
    int port;
    const char *body;
    unsigned pause_us;
    double until;
    lat l;
    long errors;
} client;

static void *client_loop(void *arg)
{
    client *c = arg;
    CURL *h = curl_easy_init();
    http_resp r = {0};
    size_t len = c->body ? strlen(c->body) : 0;
    while (now_s() < c->until) {
        double t0 = now_s();
        CURLcode rc = c->body ? http_do_on(h, c->port, "POST", "/v1/score", c->body, len, NULL, &r)
                              : http_do_on(h, c->port, "GET", "/healthz", NULL, 0, NULL, &r);
        if (rc != CURLE_OK || r.status != 200)
            c->errors++;
        else
            lat_add(&c->l, now_s() - t0);
        if (c->pause_us)
            usleep(c->pause_us);
    }
    http_resp_free(&r);
    curl_easy_cleanup(h);
    return NULL;
}

static char *make_body(int items)
{
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_strbuf_puts(&b, "{\"items\":[");
    for (int i = 0; i < items; i++) {
        wf_strbuf_printf(&b,
                         "%s{\"history\":[{\"role\":\"user\",\"content\":\"Hello there\"}],"
                         "\"query\":\"How do I sort a list of tuples by the second element "
                         "in Python, item %d?\",\"response\":\"",
                         i ? "," : "", i);
        for (int k = 0; k < 20; k++)
            wf_strbuf_puts(&b, "Use sorted(xs, key=lambda t: t[1]) or list.sort in place. ");
        wf_strbuf_puts(&b, "\"}");
    }
    wf_strbuf_puts(&b, "]}");
    return wf_strbuf_take(&b);
}

/* In-process cost of scoring one item with m, in seconds (best of 5). */
static double item_cost(wf_model *m)
{
    wf_model_input in = {.text = "calibration text of a typical length"};
    float z[WF_LOGITS];
    double best = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        for (int i = 0; i < 20; i++)
            wf_model_score(m, &in, 1, z, NULL);
        double per = (now_s() - t0) / 20;
        best = per < best ? per : best;
    }
    return best;
}

/* Spin count that makes one item cost about 10 us in-process. */
static unsigned calibrate(void)
{
    wf_model *m = fake_model(0, 0, 0, NULL);
    fake_of(m)->spin = 100000;
    double per = item_cost(m) / 100000;
    wf_model_free(m);
    return (unsigned)(10e-6 / per);
}

/* One HTTP case: the model's cost (spin: busy work per item; wait_us: a
 * sleep per call, as a GPU batch would take), whether it is marked slow
 * (ops.slow: scored on the scoring threads), and the load. */
typedef struct http_case {
    unsigned spin, wait_us;
    int slow;
    int clients, items, threads;
    double seconds;
} http_case;

/* The fake model's operations, marked slow. */
static wf_model_ops slow_ops;

static wf_model *case_model(const http_case *k)
{
    wf_model *m = fake_model(1, 0, -1, NULL);
    fake_of(m)->spin = k->spin;
    slow_ops = fake_ops;
    slow_ops.slow = 1;
    if (k->slow)
        m->ops = &slow_ops;
    return m;
}

static void http_run(const http_case *k)
{
    wf_model_slot *slot = wf_model_slot_new();
    wf_model *m = case_model(k);
    double cost = item_cost(m);
    fake_of(m)->wait_us = k->wait_us;
    wf_model_slot_publish(slot, m, "bench", NULL);
    char th[64];
    snprintf(th, sizeof th, "server.threads=%d", k->threads);
    const char *const set[] = {th, "server.max_concurrent=100000", NULL};
    wf_error e = {0};
    wf_server *s = start_server(slot, NULL, set, &e);
    if (!s) {
        fprintf(stderr, "server: %s\n", e.msg);
        exit(1);
    }
    char *body = make_body(k->items);
    client *c = calloc((size_t)k->clients, sizeof *c);
    pthread_t *t = calloc((size_t)k->clients, sizeof *t), pt;
    double t0 = now_s();
    client probe = {.port = wf_server_port(s), .pause_us = 10000, .until = t0 + k->seconds};
    pthread_create(&pt, NULL, client_loop, &probe);
    for (int i = 0; i < k->clients; i++) {
        c[i] = (client){.port = wf_server_port(s), .body = body, .until = t0 + k->seconds};
        pthread_create(&t[i], NULL, client_loop, &c[i]);
    }
    long errors = 0;
    lat parts[256];
    for (int i = 0; i < k->clients; i++) {
        pthread_join(t[i], NULL);
        errors += c[i].errors;
        parts[i] = c[i].l;
    }
    double took = now_s() - t0;
    pthread_join(pt, NULL);
    lat all = lat_merge(parts, k->clients), probes = lat_merge(&probe.l, 1);
    printf("http /v1/score model=%.1fus/item+%.0fms/call%s clients=%d threads=%d items/req=%d "
           "body=%zuB: %.0f req/s, %.0f items/s, p50 %.3f ms, p99 %.3f ms, errors %ld; "
           "/healthz meanwhile p50 %.2f ms, p99 %.2f ms\n",
           cost * 1e6, k->wait_us / 1e3, k->slow ? " (slow: scoring threads)" : "", k->clients,
           k->threads, k->items, strlen(body), (double)all.n / took,
           (double)all.n * k->items / took, pct(&all, 0.5) * 1e3, pct(&all, 0.99) * 1e3, errors,
           pct(&probes, 0.5) * 1e3, pct(&probes, 0.99) * 1e3);
    free(all.v);
    free(probes.v);
    free(body);
    free(c);
    free(t);
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

typedef struct swapper {
    wf_model_slot *slot;
    _Atomic int stop;
    _Atomic long publishes;
} swapper;

typedef struct reader {
    swapper *sw;
    double until;
    lat l;
} reader;

static void *reader_loop(void *arg)
{
    reader *r = arg;
    while (now_s() < r->until) {
        double t0 = now_s();
        const wf_model_ref *ref = wf_model_slot_acquire(r->sw->slot);
        wf_model_slot_release(r->sw->slot, ref);
        lat_add(&r->l, now_s() - t0);
    }
    return NULL;
}

static void *publish_loop(void *arg)
{
    swapper *sw = arg;
    while (!atomic_load(&sw->stop)) {
        wf_model_slot_publish(sw->slot, fake_model(0, 0, 0, NULL), "v", NULL);
        atomic_fetch_add(&sw->publishes, 1);
    }
    return NULL;
}

static void swap_run(double seconds, int publishing)
{
    swapper sw = {.slot = wf_model_slot_new()};
    wf_model_slot_publish(sw.slot, fake_model(0, 0, 0, NULL), "v", NULL);
    pthread_t pub, rt[2];
    if (publishing)
        pthread_create(&pub, NULL, publish_loop, &sw);
    reader r[2];
    lat parts[2];
    for (int i = 0; i < 2; i++) {
        r[i] = (reader){.sw = &sw, .until = now_s() + seconds};
        pthread_create(&rt[i], NULL, reader_loop, &r[i]);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(rt[i], NULL);
        parts[i] = r[i].l;
    }
    atomic_store(&sw.stop, 1);
    if (publishing)
        pthread_join(pub, NULL);
    lat all = lat_merge(parts, 2);
    printf("swap pause %s: %zu acquire+release, %ld publishes: p50 %.0f ns, p99 %.0f ns, "
           "max %.0f us\n",
           publishing ? "while publishing" : "baseline, no publish", all.n,
           (long)atomic_load(&sw.publishes), pct(&all, 0.5) * 1e9, pct(&all, 0.99) * 1e9,
           all.n ? all.v[all.n - 1] * 1e6 : 0);
    free(all.v);
    wf_model_slot_free(sw.slot);
}

int main(int argc, char **argv)
{
    int clients = argc > 1 ? atoi(argv[1]) : 4;
    double seconds = argc > 2 ? atof(argv[2]) : 2;
    int items = argc > 3 ? atoi(argv[3]) : 8;
    int threads = argc > 4 ? atoi(argv[4]) : 4;
    if (clients < 1 || clients > 256 || seconds <= 0 || items < 1 || threads < 1) {
        fprintf(stderr, "usage: %s [CLIENTS<=256] [SECONDS] [ITEMS] [THREADS]\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    http_case k = {.clients = clients, .items = items, .threads = threads, .seconds = seconds};
    http_run(&k);
    k.spin = calibrate();
    http_run(&k);
    k.slow = 1;
    http_run(&k);
    /* A model that waits 50 ms a call, as for a GPU batch, under 16 clients:
     * on the HTTP threads (as every model was scored before ops.slow) and on
     * the scoring threads. */
    k = (http_case){
        .wait_us = 50000, .clients = 16, .items = 1, .threads = threads, .seconds = seconds};
    http_run(&k);
    k.slow = 1;
    http_run(&k);
    swap_run(seconds, 0);
    swap_run(seconds, 1);
    curl_global_cleanup();
    return 0;
}
