/* The server's limits over raw loopback sockets: bodies over
 * server.max_body_bytes are answered 413 and their connection closed without
 * reading the rest (with or without a Content-Length), and the connection
 * limits, total and per client address. */
#include "serve_harness.h"
#include "testutil.h"

#define MIB (1024 * 1024)
#define TOO_BIG_BODY "{\"error\":\"body larger than server.max_body_bytes\"}"

/* Bytes a refused upload may get out before it sees the answer: the limit
 * plus what the two sockets' buffers hold (a few MiB on loopback), far below
 * the 512 MiB that reading the body through would take. */
#define SENT_AT_MOST (32u * MIB)

typedef struct upload {
    size_t sent;     /* body bytes the client got out */
    int closed;      /* the server ended the connection */
    wf_strbuf reply; /* everything the server sent */
} upload;

/* Sends head, then up to 512 MiB of body in 1 MiB pieces (chunk-framed when
 * chunked), stopping as soon as the server answers or the connection fails;
 * then reads everything until the server closes. */
static void upload_big(int port, const char *head, int chunked, upload *u)
{
    static char piece[MIB + 16];
    size_t off = chunked ? (size_t)snprintf(piece, sizeof piece, "%x\r\n", MIB) : 0;
    memset(piece + off, 'x', MIB);
    size_t len = off + MIB;
    if (chunked) {
        memcpy(piece + len, "\r\n", 2);
        len += 2;
    }
    int fd = raw_connect(port);
    assert_true(fd >= 0);
    assert_int_equal(raw_send_all(fd, head, strlen(head)), 0);
    for (int i = 0; i < 512 && !raw_readable(fd, 0); i++) {
        if (raw_send_all(fd, piece, len) < 0)
            break;
        u->sent += MIB;
    }
    u->closed = raw_read_to_close(fd, &u->reply);
    close(fd);
}

static int contains(const wf_strbuf *b, const char *needle)
{
    return b->data && strstr(b->data, needle) != NULL;
}

/* Asserts the 413 answer a refused upload gets, closed promptly. */
static void expect_refused(const upload *u)
{
    if (u->sent > SENT_AT_MOST || !contains(&u->reply, "HTTP/1.1 413 "))
        fprintf(stderr, "sent %zu MiB, reply: %s\n", u->sent / MIB,
                u->reply.data ? u->reply.data : "");
    assert_true(u->closed);
    assert_true(u->sent <= SENT_AT_MOST);
    assert_non_null(u->reply.data);
    assert_memory_equal(u->reply.data, "HTTP/1.1 413 ", 13);
    assert_true(contains(&u->reply, "\r\nConnection: close\r\n"));
    size_t bl = strlen(TOO_BIG_BODY);
    assert_true(u->reply.len > bl);
    assert_string_equal(u->reply.data + u->reply.len - bl, TOO_BIG_BODY);
}

static void expect_metric(int port, const char *line)
{
    http_resp r = {0};
    assert_int_equal(http_do(port, "GET", "/metrics", NULL, NULL, &r), CURLE_OK);
    if (!contains(&r.body, line))
        fprintf(stderr, "missing: %s", line);
    assert_true(contains(&r.body, line));
    http_resp_free(&r);
}

static const char score_body[] = "{\"items\":[{\"query\":\"q\",\"response\":\"r\"}]}";

static wf_server *limited_server(wf_model_slot *slot)
{
    wf_model_slot_publish(slot, fake_model(0, 0, 0, NULL), "v1", NULL);
    const char *const set[] = {"server.max_body_bytes=1048576", "server.max_concurrent=1",
                               "server.threads=2", NULL};
    wf_server *s = start_server(slot, NULL, set, NULL);
    assert_non_null(s);
    return s;
}

/* A chunked upload has no length to refuse it by: it is cut off once past
 * the limit, and its scoring place is free at once. */
static void streamed_body_is_cut_off(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    wf_server *s = limited_server(slot);
    int port = wf_server_port(s);
    upload u = {0};
    upload_big(port,
               "POST /v1/score HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n",
               1, &u);
    fprintf(stderr, "chunked: %zu MiB sent before the 413\n", u.sent / MIB);
    expect_refused(&u);
    wf_strbuf_free(&u.reply);
    /* max_concurrent is 1: this succeeds only if the refused one let go. */
    http_resp r = {0};
    assert_int_equal(http_do(port, "POST", "/v1/score", score_body, NULL, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    /* Endpoints that keep no body are held to the same limit. */
    upload h = {0};
    upload_big(port, "GET /healthz HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n", 1,
               &h);
    expect_refused(&h);
    wf_strbuf_free(&h.reply);
    expect_metric(port, "wf_server_refused_total{reason=\"body_streamed\"} 2\n");
    expect_metric(port, "wf_server_refused_total{reason=\"body_declared\"} 0\n");
    expect_metric(port, "wf_server_requests_total{endpoint=\"score\",code=\"413\"} 1\n");
    expect_metric(port, "wf_server_requests_total{endpoint=\"healthz\",code=\"413\"} 1\n");
    expect_metric(port, "wf_server_inflight 0\n");
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

/* A Content-Length over the limit is answered from the headers; none of the
 * body is read and no place is taken. */
static void declared_body_is_not_read(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    wf_server *s = limited_server(slot);
    int port = wf_server_port(s);
    upload u = {0};
    upload_big(port, "POST /get_reward HTTP/1.1\r\nHost: test\r\nContent-Length: 536870912\r\n\r\n",
               0, &u);
    fprintf(stderr, "declared: %zu MiB sent before the 413\n", u.sent / MIB);
    expect_refused(&u);
    wf_strbuf_free(&u.reply);
    http_resp r = {0};
    assert_int_equal(http_do(port, "POST", "/get_reward", "{\"query\":[\"a\"]}", NULL, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    expect_metric(port, "wf_server_refused_total{reason=\"body_declared\"} 1\n");
    expect_metric(port, "wf_server_refused_total{reason=\"body_streamed\"} 0\n");
    expect_metric(port, "wf_server_requests_total{endpoint=\"get_reward\",code=\"413\"} 1\n");
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

/* Opens n keep-alive connections, each answered once. */
static void open_served(int port, int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        fds[i] = raw_connect(port);
        assert_true(fds[i] >= 0);
        assert_int_equal(raw_get(fds[i], "/healthz", NULL), 200);
    }
}

/* Over server.max_connections a connection is not accepted: it waits, and
 * is served once another closes, while the open ones go on working. */
static void connection_limit(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    const char *const set[] = {"server.max_connections=2", "server.threads=2", NULL};
    wf_server *s = start_server(slot, NULL, set, NULL);
    assert_non_null(s);
    int port = wf_server_port(s), fds[2];
    open_served(port, fds, 2);
    int extra = raw_connect(port); /* the kernel's backlog takes it */
    assert_true(extra >= 0);
    const char get[] = "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";
    assert_int_equal(raw_send_all(extra, get, sizeof get - 1), 0);
    assert_false(raw_readable(extra, 300));
    wf_strbuf m;
    wf_strbuf_init(&m);
    assert_int_equal(raw_get(fds[0], "/metrics", &m), 200);
    assert_true(contains(&m, "wf_server_connections 2\n"));
    wf_strbuf_free(&m);
    assert_int_equal(raw_get(fds[1], "/healthz", NULL), 200);
    assert_false(raw_readable(extra, 0));
    close(fds[0]);
    assert_true(raw_readable(extra, 5000));
    assert_int_equal(raw_read_response(extra, NULL), 200);
    assert_int_equal(raw_get(fds[1], "/healthz", NULL), 200);
    close(extra);
    close(fds[1]);
    wf_server_stop(s);
    /* Each thread takes a share of the limit, so it cannot be below them. */
    wf_error e = {0};
    const char *const few[] = {"server.max_connections=3", "server.threads=4", NULL};
    assert_null(start_server(slot, NULL, few, &e));
    assert_int_equal(e.code, WF_EINVAL);
    wf_model_slot_free(slot);
}

/* A status from a fresh connection, retried while the server has not yet
 * seen a closed one go (closing is asynchronous). */
static int fresh_status(int port, int tries)
{
    for (int i = 0; i < tries; i++) {
        int fd = raw_connect(port);
        int st = fd >= 0 ? raw_get(fd, "/healthz", NULL) : 0;
        if (fd >= 0)
            close(fd);
        if (st)
            return st;
        usleep(20000);
    }
    return 0;
}

static void per_ip_limit(void **state)
{
    (void)state;
    wf_model_slot *slot = wf_model_slot_new();
    const char *const set[] = {"server.max_connections_per_ip=2", "server.threads=2", NULL};
    wf_server *s = start_server(slot, NULL, set, NULL);
    assert_non_null(s);
    int port = wf_server_port(s), fds[2];
    open_served(port, fds, 2);
    /* A third from 127.0.0.1 is accepted and closed unanswered. */
    int extra = raw_connect(port);
    assert_true(extra >= 0);
    assert_int_equal(raw_get(extra, "/healthz", NULL), 0);
    close(extra);
    assert_int_equal(raw_get(fds[0], "/healthz", NULL), 200);
    assert_int_equal(raw_get(fds[1], "/healthz", NULL), 200);
    close(fds[0]);
    assert_int_equal(fresh_status(port, 100), 200);
    close(fds[1]);
    wf_server_stop(s);
    /* 0, the default: no limit per address. */
    s = start_server(slot, NULL, NULL, NULL);
    port = wf_server_port(s);
    int many[8];
    open_served(port, many, 8);
    for (int i = 0; i < 8; i++)
        close(many[i]);
    wf_server_stop(s);
    wf_model_slot_free(slot);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(streamed_body_is_cut_off),
        cmocka_unit_test(declared_body_is_not_read),
        cmocka_unit_test(connection_limit),
        cmocka_unit_test(per_ip_limit),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
