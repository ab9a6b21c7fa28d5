/* The scoring server over loopback HTTP (libcurl as the client): every
 * endpoint, its statuses, the limits and the admin token. */
#include <math.h>
#include <pthread.h>
#include <unistd.h>

#include "serve_harness.h"
#include "testutil.h"

typedef struct hooks_log {
    int activations, retrains;
    char last_version[64];
    int activate_rc, retrain_rc;
} hooks_log;

static int list_hook(void *ctx, wf_strbuf *out)
{
    (void)ctx;
    wf_strbuf_puts(out, "{\"current\":\"v1\",\"models\":[]}");
    return 0;
}

static int activate_hook(void *ctx, const char *version, wf_error *err)
{
    hooks_log *h = ctx;
    h->activations++;
    snprintf(h->last_version, sizeof h->last_version, "%s", version);
    return h->activate_rc ? wf_error_set(err, h->activate_rc, "no such version %s", version) : 0;
}

static int retrain_hook(void *ctx, wf_error *err)
{
    hooks_log *h = ctx;
    h->retrains++;
    return h->retrain_rc ? wf_error_set(err, h->retrain_rc, "a training is running") : 0;
}

/* Whether the response headers hold the line "name: value". */
static int has_header(const http_resp *r, const char *line)
{
    return r->headers.data && strstr(r->headers.data, line) != NULL;
}

static void expect(int port, const char *method, const char *path, const char *body,
                   const char *header, long status, const char *want_body)
{
    http_resp r = {0};
    assert_int_equal(http_do(port, method, path, body, header, &r), CURLE_OK);
    if (r.status != status)
        fprintf(stderr, "%s %s: %ld %s\n", method, path, r.status, r.body.data);
    assert_int_equal(r.status, status);
    if (want_body)
        assert_string_equal(r.body.data ? r.body.data : "", want_body);
    http_resp_free(&r);
}

static void probes_and_readiness(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    wf_server *s = start_server(slot, NULL, NULL, NULL);
    assert_non_null(s);
    int port = wf_server_port(s);
    assert_true(port > 0);
    expect(port, "GET", "/healthz", NULL, NULL, 200, "{\"status\":\"ok\"}");
    expect(port, "GET", "/readyz", NULL, NULL, 503, "{\"ready\":false}");
    expect(port, "POST", "/v1/score", "{\"items\":[]}", NULL, 503,
           "{\"error\":\"no model loaded\"}");
    expect(port, "POST", "/get_reward", "{\"query\":[\"x\"]}", NULL, 503,
           "{\"error\":\"no model loaded\"}");
    assert_int_equal(wf_model_slot_publish(slot, fake_model(0, 0, 0, NULL), "v1", NULL), 0);
    expect(port, "GET", "/readyz", NULL, NULL, 200, "{\"ready\":true,\"model_version\":\"v1\"}");
    expect(port, "HEAD", "/healthz", NULL, NULL, 200, "");
    expect(port, "GET", "/healthz", NULL, NULL, 200, "{\"status\":\"ok\"}");
    /* a model that lost its GPU still scores: ready (a sidecar's readiness is
     * its pod's), the reason in the body and the gauge */
    const wf_model_ref *ref = wf_model_slot_acquire(slot);
    ((fake_impl *)ref->model->impl)->degraded = "gpu lost: scoring on the CPU";
    wf_model_slot_release(slot, ref);
    expect(port, "GET", "/readyz", NULL, NULL, 200,
           "{\"ready\":true,\"model_version\":\"v1\",\"degraded\":\"gpu lost: scoring on the "
           "CPU\"}");
    expect(port, "POST", "/v1/score", "{\"items\":[{\"query\":\"q\",\"response\":\"x\"}]}", NULL,
           200, NULL);
    http_resp r = {0};
    assert_int_equal(http_do(port, "GET", "/metrics", NULL, NULL, &r), CURLE_OK);
    assert_non_null(strstr(r.body.data, "\nwf_model_degraded 1\n"));
    http_resp_free(&r);
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

static void scoring_answers(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    wf_model_slot_publish(slot, fake_model(9, 9, -9, NULL), "2026-11-26T06", NULL);
    wf_server *s = start_server(slot, NULL, NULL, NULL);
    int port = wf_server_port(s);
    expect(port, "POST", "/get_reward", "{\"query\":[\"a\",\"b\"]}", NULL, 200,
           "{\"rewards\":[2.999877,2.999877]}");
    expect(port, "POST", "/get_reward", "{\"query\":[]}", NULL, 200, "{\"rewards\":[]}");
    expect(port, "POST", "/v1/score",
           "{\"items\":[{\"history\":[{\"role\":\"user\",\"content\":\"hi\"}],\"query\":\"q\","
           "\"response\":\"r\"}]}",
           NULL, 200,
           "{\"model_version\":\"2026-11-26T06\",\"results\":[{\"reward\":2.999877,\"level\":3,"
           "\"probs\":[0.000123,0.000000,0.999753,0.000123]}]}");
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

static void bad_requests(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    wf_model_slot_publish(slot, fake_model(0, 0, 0, NULL), "v1", NULL);
    const char *const set[] = {"server.max_items=2", "server.max_body_bytes=1024", NULL};
    wf_server *s = start_server(slot, NULL, set, NULL);
    int port = wf_server_port(s);
    expect(port, "POST", "/v1/score", "{\"items\":[", NULL, 400, NULL);
    expect(port, "POST", "/v1/score", "", NULL, 400, NULL);
    expect(port, "POST", "/v1/score", "{\"items\":[{\"query\":1,\"response\":\"r\"}]}", NULL, 400,
           "{\"error\":\"items[0] needs string \\\"query\\\" and \\\"response\\\"\"}");
    expect(port, "POST", "/get_reward", "{\"query\":\"x\"}", NULL, 400,
           "{\"error\":\"\\\"query\\\" must be an array\"}");
    expect(port, "POST", "/get_reward", "{\"query\":[\"a\",\"b\",\"c\"]}", NULL, 413,
           "{\"error\":\"3 items, more than the limit of 2\"}");
    /* 1025 bytes, one over the limit: refused from its Content-Length. */
    char big[1026];
    memset(big, ' ', 1025);
    big[1025] = '\0';
    expect(port, "POST", "/v1/score", big, NULL, 413,
           "{\"error\":\"body larger than server.max_body_bytes\"}");
    /* The same without a length (chunked): refused while receiving. */
    expect(port, "POST", "/v1/score", big, "Transfer-Encoding: chunked", 413,
           "{\"error\":\"body larger than server.max_body_bytes\"}");
    /* Exactly at the limit is accepted (and parsed). */
    big[1024] = '\0';
    memcpy(big, "{\"query\":[]}", 12);
    expect(port, "POST", "/get_reward", big, NULL, 200, "{\"rewards\":[]}");
    expect(port, "POST", "/get_reward", big, "Transfer-Encoding: chunked", 200, "{\"rewards\":[]}");
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

static void methods_and_paths(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    hooks_log log = {0};
    wf_server_hooks hooks = {&log, list_hook, activate_hook, retrain_hook};
    wf_server *s = start_server(slot, &hooks, NULL, NULL);
    int port = wf_server_port(s);
    static const struct {
        const char *method, *path, *allow;
    } cases[] = {
        {"GET", "/v1/score", "Allow: POST"},      {"PUT", "/get_reward", "Allow: POST"},
        {"POST", "/healthz", "Allow: GET, HEAD"}, {"DELETE", "/v1/models", "Allow: GET, HEAD"},
        {"POST", "/metrics", "Allow: GET, HEAD"}, {"POST", "/readyz", "Allow: GET, HEAD"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        http_resp r = {0};
        assert_int_equal(http_do(port, cases[i].method, cases[i].path, NULL, NULL, &r), CURLE_OK);
        assert_int_equal(r.status, 405);
        assert_true(has_header(&r, cases[i].allow));
        assert_string_equal(r.body.data, "{\"error\":\"method not allowed\"}");
        http_resp_free(&r);
    }
    expect(port, "GET", "/nope", NULL, NULL, 404, "{\"error\":\"not found\"}");
    expect(port, "GET", "/v1/scores", NULL, NULL, 404, NULL);
    expect(port, "POST", "/v1/models//activate", NULL, NULL, 404, NULL);
    expect(port, "POST", "/v1/models/a%24b/activate", NULL, NULL, 404, NULL);
    expect(port, "GET", "/v1/models", NULL, NULL, 200, "{\"current\":\"v1\",\"models\":[]}");
    /* No token file: the admin endpoints do not exist, hooks or not. */
    expect(port, "POST", "/v1/models/v1/activate", NULL, "Authorization: Bearer x", 404, NULL);
    expect(port, "POST", "/v1/admin/retrain", NULL, "Authorization: Bearer x", 404, NULL);
    assert_int_equal(log.activations + log.retrains, 0);
    wf_server_stop(s);
    /* No hooks: /v1/models does not exist either. */
    s = start_server(slot, NULL, NULL, NULL);
    expect(wf_server_port(s), "GET", "/v1/models", NULL, NULL, 404, NULL);
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

static const char *token_file(const char *content)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/token", wf_test_tmpdir());
    FILE *f = fopen(path, "w");
    fputs(content, f);
    fclose(f);
    return path;
}

static void admin_token(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    hooks_log log = {0};
    wf_server_hooks hooks = {&log, list_hook, activate_hook, retrain_hook};
    char setting[600];
    snprintf(setting, sizeof setting, "server.admin_token_file=%s", token_file("s3cret\n"));
    const char *const set[] = {setting, NULL};
    wf_server *s = start_server(slot, &hooks, set, NULL);
    assert_non_null(s);
    int port = wf_server_port(s);
    http_resp r = {0};
    assert_int_equal(http_do(port, "POST", "/v1/admin/retrain", NULL, NULL, &r), CURLE_OK);
    assert_int_equal(r.status, 401);
    assert_true(has_header(&r, "WWW-Authenticate: Bearer"));
    http_resp_free(&r);
    expect(port, "POST", "/v1/models/v2/activate", NULL, "Authorization: Basic czNjcmV0", 401,
           "{\"error\":\"missing bearer token\"}");
    expect(port, "POST", "/v1/models/v2/activate", NULL, "Authorization: Bearer s3cre", 403,
           "{\"error\":\"invalid token\"}");
    expect(port, "POST", "/v1/models/v2/activate", NULL, "Authorization: Bearer s3cret2", 403,
           NULL);
    expect(port, "POST", "/v1/admin/retrain", NULL, "Authorization: Bearer S3CRET", 403, NULL);
    expect(port, "GET", "/v1/admin/retrain", NULL, "Authorization: Bearer s3cret", 405, NULL);
    assert_int_equal(log.activations + log.retrains, 0);
    expect(port, "POST", "/v1/models/v2.1_a-b/activate", NULL, "Authorization: Bearer s3cret", 200,
           "{\"activated\":\"v2.1_a-b\"}");
    assert_string_equal(log.last_version, "v2.1_a-b");
    /* Versions up to 128 characters; longer ones name no endpoint. */
    char path[200], want[200];
    snprintf(path, sizeof path, "/v1/models/%0128d/activate", 7);
    snprintf(want, sizeof want, "{\"activated\":\"%0128d\"}", 7);
    expect(port, "POST", path, NULL, "Authorization: Bearer s3cret", 200, want);
    snprintf(path, sizeof path, "/v1/models/%0129d/activate", 7);
    expect(port, "POST", path, NULL, "Authorization: Bearer s3cret", 404, NULL);
    expect(port, "POST", "/v1/admin/retrain", NULL, "authorization: bearer s3cret", 202,
           "{\"retrain\":\"started\"}");
    log.activate_rc = WF_ENOTFOUND;
    log.retrain_rc = WF_ESTATE;
    expect(port, "POST", "/v1/models/v9/activate", NULL, "Authorization: Bearer s3cret", 404,
           "{\"error\":\"no such version v9\"}");
    expect(port, "POST", "/v1/admin/retrain", NULL, "Authorization: Bearer s3cret", 409,
           "{\"error\":\"a training is running\"}");
    log.retrain_rc = WF_EIO;
    expect(port, "POST", "/v1/admin/retrain", NULL, "Authorization: Bearer s3cret", 500, NULL);
    assert_int_equal(log.activations, 3);
    assert_int_equal(log.retrains, 3);
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

static void start_errors(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    wf_error e = {0};
    char setting[600];
    snprintf(setting, sizeof setting, "server.admin_token_file=%s", token_file("\n"));
    const char *const empty[] = {setting, NULL};
    assert_null(start_server(slot, NULL, empty, &e));
    assert_int_equal(e.code, WF_EINVAL);
    const char *const missing[] = {"server.admin_token_file=/nonexistent/token", NULL};
    assert_null(start_server(slot, NULL, missing, &e));
    assert_int_equal(e.code, WF_EIO);
    const char *const bad_listen[] = {"server.listen=127.0.0.1", NULL};
    assert_null(start_server(slot, NULL, bad_listen, &e));
    assert_int_equal(e.code, WF_EINVAL);
    /* A port in use. */
    wf_server *s = start_server(slot, NULL, NULL, NULL);
    snprintf(setting, sizeof setting, "server.listen=127.0.0.1:%d", wf_server_port(s));
    const char *const busy[] = {setting, NULL};
    assert_null(start_server(slot, NULL, busy, &e));
    assert_int_equal(e.code, WF_EIO);
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

static void model_failures(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    wf_model *m = fake_model(0, 0, 0, NULL);
    fake_of(m)->fail = 1;
    wf_model_slot_publish(slot, m, "v1", NULL);
    wf_server *s = start_server(slot, NULL, NULL, NULL);
    int port = wf_server_port(s);
    expect(port, "POST", "/get_reward", "{\"query\":[\"a\"]}", NULL, 500,
           "{\"error\":\"fake: failing as asked\"}");
    fake_of(m)->fail = 2; /* an input the model refuses is the client's to change */
    expect(port, "POST", "/get_reward", "{\"query\":[\"a\"]}", NULL, 422,
           "{\"error\":\"fake: input refused\"}");
    wf_model_slot_publish(slot, fake_model(0, NAN, 0, NULL), "v2", NULL);
    expect(port, "POST", "/get_reward", "{\"query\":[\"a\"]}", NULL, 500,
           "{\"error\":\"the model gave a non-finite score\"}");
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

/* Every one of lines appears in body (each named when missing). */
static void expect_lines(const char *body, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!strstr(body, lines[i]))
            fprintf(stderr, "missing: %s", lines[i]);
        assert_non_null(strstr(body, lines[i]));
    }
}

/* Each status the server answers has its own code label: "other" stays
 * empty (422 once fell into it). */
static void statuses_have_their_own_label(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    wf_model *m = fake_model(0, 0, 0, NULL);
    fake_of(m)->fail = 2;
    wf_model_slot_publish(slot, m, "v1", NULL);
    const char *const set[] = {"server.max_items=1", NULL};
    wf_server *s = start_server(slot, NULL, set, NULL);
    int port = wf_server_port(s);
    expect(port, "POST", "/get_reward", "{\"query\":[\"a\"]}", NULL, 422, NULL);
    expect(port, "POST", "/get_reward", "{", NULL, 400, NULL);
    expect(port, "POST", "/get_reward", "{\"query\":[\"a\",\"b\"]}", NULL, 413, NULL);
    expect(port, "GET", "/get_reward", NULL, NULL, 405, NULL);
    expect(port, "GET", "/nope", NULL, NULL, 404, NULL);
    http_resp r = {0};
    assert_int_equal(http_do(port, "GET", "/metrics", NULL, NULL, &r), CURLE_OK);
    static const char *const lines[] = {
        "wf_server_requests_total{endpoint=\"get_reward\",code=\"422\"} 1\n",
        "wf_server_requests_total{endpoint=\"get_reward\",code=\"400\"} 1\n",
        "wf_server_requests_total{endpoint=\"get_reward\",code=\"413\"} 1\n",
        "wf_server_requests_total{endpoint=\"get_reward\",code=\"405\"} 1\n",
        "wf_server_requests_total{endpoint=\"other\",code=\"404\"} 1\n",
    };
    expect_lines(r.body.data, lines, sizeof lines / sizeof lines[0]);
    assert_null(strstr(r.body.data, "code=\"other\""));
    http_resp_free(&r);
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

typedef struct bg_req {
    int port;
    long status;
} bg_req;

static void *post_in_background(void *arg)
{
    bg_req *b = arg;
    http_resp r = {0};
    http_do(b->port, "POST", "/v1/score", "{\"items\":[{\"query\":\"q\",\"response\":\"r\"}]}",
            NULL, &r);
    b->status = r.status;
    http_resp_free(&r);
    return NULL;
}

static void concurrency_limit(void **state)
{
    (void)state;
    sem_t entered, go;
    sem_init(&entered, 0, 0);
    sem_init(&go, 0, 0);
    wf_model_slot *slot = wf_model_slot_new();
    wf_model *m = fake_model(0, 0, 0, NULL);
    fake_of(m)->entered = &entered;
    fake_of(m)->go = &go;
    wf_model_slot_publish(slot, m, "v1", NULL);
    const char *const set[] = {"server.max_concurrent=1", "server.threads=4", NULL};
    wf_server *s = start_server(slot, NULL, set, NULL);
    bg_req b = {.port = wf_server_port(s)};
    pthread_t t;
    pthread_create(&t, NULL, post_in_background, &b);
    sem_wait(&entered); /* the first request is scoring and holds the place */
    http_resp r = {0};
    assert_int_equal(http_do(b.port, "POST", "/get_reward", "{\"query\":[\"a\"]}", NULL, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 429);
    assert_true(has_header(&r, "Retry-After: 1"));
    assert_string_equal(r.body.data, "{\"error\":\"too many concurrent requests\"}");
    http_resp_free(&r);
    expect(b.port, "GET", "/healthz", NULL, NULL, 200, NULL);
    sem_post(&go);
    pthread_join(t, NULL);
    assert_int_equal(b.status, 200);
    wf_server_stop(s);
    wf_model_slot_free(slot);
    sem_destroy(&entered);
    sem_destroy(&go);
}

static void metrics_text(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    wf_model_slot_publish(slot, fake_model(0, 0, 0, NULL), "v\"7", NULL);
    wf_server *s = start_server(slot, NULL, NULL, NULL);
    int port = wf_server_port(s);
    expect(
        port, "POST", "/v1/score",
        "{\"items\":[{\"query\":\"q\",\"response\":\"r\"},{\"query\":\"q\",\"response\":\"r\"}]}",
        NULL, 200, NULL);
    expect(port, "POST", "/v1/score", "{", NULL, 400, NULL);
    expect(port, "GET", "/nope", NULL, NULL, 404, NULL);
    http_resp r = {0};
    assert_int_equal(http_do(port, "GET", "/metrics", NULL, NULL, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: text/plain; version=0.0.4"));
    static const char *const lines[] = {
        "# TYPE wf_server_requests_total counter\n",
        "wf_server_requests_total{endpoint=\"score\",code=\"200\"} 1\n",
        "wf_server_requests_total{endpoint=\"score\",code=\"400\"} 1\n",
        "wf_server_requests_total{endpoint=\"other\",code=\"404\"} 1\n",
        "wf_server_scored_items_total{endpoint=\"score\"} 2\n",
        "wf_server_scored_items_total{endpoint=\"get_reward\"} 0\n",
        "wf_server_score_seconds_count{endpoint=\"score\"} 1\n",
        "wf_server_score_seconds_bucket{endpoint=\"score\",le=\"+Inf\"} 1\n",
        "wf_server_inflight 0\n",
        "wf_model_info{version=\"v\\\"7\",kind=\"fake\"} 1\n",
        "wf_model_degraded 0\n",
    };
    expect_lines(r.body.data, lines, sizeof lines / sizeof lines[0]);
    assert_null(strstr(r.body.data, "endpoint=\"metrics\""));
    http_resp_free(&r);
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(probes_and_readiness), cmocka_unit_test(scoring_answers),
        cmocka_unit_test(bad_requests),         cmocka_unit_test(methods_and_paths),
        cmocka_unit_test(admin_token),          cmocka_unit_test(start_errors),
        cmocka_unit_test(model_failures),       cmocka_unit_test(concurrency_limit),
        cmocka_unit_test(metrics_text),         cmocka_unit_test(statuses_have_their_own_label),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
