/* wf-kafka_tool: the Kafka side of the integration tests, in its own process.
 *
 *   mock [--brokers N] [--topic T --partitions P]...
 *       Runs librdkafka's mock cluster (real TCP on loopback), prints its
 *       bootstrap address as one line on stdout, then obeys fault commands
 *       read from stdin until SIGTERM or SIGINT (EOF on stdin only stops the
 *       reading). Each command is acknowledged on stderr.
 *   produce --bootstrap B --topic T [--key-field F] FILE
 *       Produces every non-empty line of FILE with a real producer, keyed by
 *       the JSON string or integer field F when given, and waits for delivery.
 *   consume --bootstrap B --topic T [--timeout-ms N]
 *       Prints every message of T, from the beginning to the end it has now,
 *       as JSON lines with partition, offset, key, value, headers and
 *       value_len (the value's size in bytes).
 *
 * Fault commands (one per line):
 *   down B | up B              take broker B down / bring it back
 *   rtt B MS                   delay broker B's answers by MS milliseconds
 *   errors API COUNT [CODE]    the next COUNT requests of API (Fetch, Produce,
 *                              OffsetCommit, ...) fail with CODE (a librdkafka
 *                              error number; default NOT_COORDINATOR for the
 *                              group APIs, NOT_LEADER_FOR_PARTITION otherwise)
 *   leader T P B               make broker B the leader of partition P of T */
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "source/mock.h"

static volatile sig_atomic_t g_stop; /* set by the signal handlers only */

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int usage(void)
{
    fputs("usage: wf-kafka_tool mock [--brokers N] [--topic T --partitions P]...\n"
          "       wf-kafka_tool produce --bootstrap B --topic T [--key-field F] FILE\n"
          "       wf-kafka_tool consume --bootstrap B --topic T [--timeout-ms N]\n",
          stderr);
    return 2;
}

/* ---- mock ---- */

typedef struct api_name {
    const char *name;
    int16_t key; /* Kafka protocol ApiKey */
    int group;   /* answered by the group coordinator */
} api_name;

static const api_name apis[] = {
    {"Produce", 0, 0},          {"Fetch", 1, 0},        {"ListOffsets", 2, 0},
    {"Metadata", 3, 0},         {"OffsetCommit", 8, 1}, {"OffsetFetch", 9, 1},
    {"FindCoordinator", 10, 1}, {"JoinGroup", 11, 1},   {"Heartbeat", 12, 1},
    {"LeaveGroup", 13, 1},      {"SyncGroup", 14, 1},   {"InitProducerId", 22, 0},
};

static const api_name *find_api(const char *name)
{
    for (size_t i = 0; i < sizeof apis / sizeof apis[0]; i++)
        if (strcmp(apis[i].name, name) == 0)
            return &apis[i];
    return NULL;
}

static int cmd_errors(rd_kafka_mock_cluster_t *mc, const char *args)
{
    char name[64];
    int count, code = -1;
    int got = sscanf(args, "%63s %d %d", name, &count, &code);
    const api_name *api = got >= 2 ? find_api(name) : NULL;
    if (!api || count < 1 || count > 10000)
        return -1;
    if (got < 3)
        code = api->group ? RD_KAFKA_RESP_ERR_NOT_COORDINATOR
                          : RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
    rd_kafka_resp_err_t *errs = malloc((size_t)count * sizeof *errs);
    if (!errs)
        return -1;
    for (int i = 0; i < count; i++)
        errs[i] = (rd_kafka_resp_err_t)code;
    rd_kafka_mock_push_request_errors_array(mc, api->key, (size_t)count, errs);
    free(errs);
    return 0;
}

/* Applies one fault command; returns 0, or -1 when it is not understood. */
static int fault_command(rd_kafka_mock_cluster_t *mc, const char *line)
{
    int b, ms, part;
    char topic[256];
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (sscanf(line, "down %d", &b) == 1)
        e = rd_kafka_mock_broker_set_down(mc, b);
    else if (sscanf(line, "up %d", &b) == 1)
        e = rd_kafka_mock_broker_set_up(mc, b);
    else if (sscanf(line, "rtt %d %d", &b, &ms) == 2)
        e = rd_kafka_mock_broker_set_rtt(mc, b, ms);
    else if (sscanf(line, "leader %255s %d %d", topic, &part, &b) == 3)
        e = rd_kafka_mock_partition_set_leader(mc, topic, part, b);
    else if (strncmp(line, "errors ", 7) == 0)
        return cmd_errors(mc, line + 7);
    else
        return -1;
    return e ? -1 : 0;
}

/* Reads complete lines from stdin without blocking past 200 ms, so the stop
 * flag is seen promptly. Returns 0 at EOF. */
static int read_commands(rd_kafka_mock_cluster_t *mc, char *buf, size_t cap, size_t *have)
{
    struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
    if (poll(&pfd, 1, 200) <= 0)
        return 1;
    ssize_t got = read(STDIN_FILENO, buf + *have, cap - 1 - *have);
    if (got <= 0)
        return 0;
    *have += (size_t)got;
    buf[*have] = '\0';
    char *nl;
    while ((nl = strchr(buf, '\n')) != NULL) {
        *nl = '\0';
        if (buf[0]) {
            int rc = fault_command(mc, buf);
            fprintf(stderr, "wf-kafka_tool: %s: %s\n", buf, rc == 0 ? "ok" : "not understood");
        }
        size_t used = (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, *have - used + 1);
        *have -= used;
    }
    if (*have == cap - 1)
        *have = 0; /* a line longer than any command: drop it */
    return 1;
}

static int run_mock(int argc, char **argv)
{
    int brokers = 1;
    wf_error err;
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
            brokers = atoi(argv[++i]);
    wf_kafka_mock *m = wf_kafka_mock_start(brokers, &err);
    if (!m) {
        fprintf(stderr, "wf-kafka_tool: %s\n", err.msg);
        return 1;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
            i++;
        } else if (strcmp(argv[i], "--topic") == 0 && i + 3 < argc &&
                   strcmp(argv[i + 2], "--partitions") == 0) {
            if (wf_kafka_mock_create_topic(m, argv[i + 1], atoi(argv[i + 3]), &err) < 0) {
                fprintf(stderr, "wf-kafka_tool: %s\n", err.msg);
                wf_kafka_mock_stop(m);
                return 1;
            }
            i += 3;
        } else {
            wf_kafka_mock_stop(m);
            return usage();
        }
    }
    printf("%s\n", wf_kafka_mock_bootstrap(m));
    fflush(stdout);
    char buf[4096];
    size_t have = 0;
    int reading = 1;
    while (!g_stop) {
        if (reading)
            reading = read_commands(wf_kafka_mock_cluster(m), buf, sizeof buf, &have);
        else
            usleep(200 * 1000);
    }
    wf_kafka_mock_stop(m);
    return 0;
}

/* ---- produce ---- */

typedef struct client_args {
    const char *bootstrap, *topic, *key_field, *file;
    int timeout_ms;
} client_args;

static int parse_client_args(int argc, char **argv, client_args *a)
{
    memset(a, 0, sizeof *a);
    a->timeout_ms = 10000;
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--bootstrap") == 0 && val)
            a->bootstrap = argv[++i];
        else if (strcmp(opt, "--topic") == 0 && val)
            a->topic = argv[++i];
        else if (strcmp(opt, "--key-field") == 0 && val)
            a->key_field = argv[++i];
        else if (strcmp(opt, "--timeout-ms") == 0 && val)
            a->timeout_ms = atoi(argv[++i]);
        else if (opt[0] != '-' && !a->file)
            a->file = opt;
        else
            return -1;
    }
    return a->bootstrap && a->topic ? 0 : -1;
}

/* Counts failed deliveries in the unsigned long the producer's opaque points
 * at (called on the thread that polls the producer). */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    if (msg->err) {
        ++*(unsigned long *)opaque;
        fprintf(stderr, "wf-kafka_tool: delivery failed: %s\n", rd_kafka_err2str(msg->err));
    }
}

/* extra: NULL-terminated property name/value pairs; a producer counts its
 * failed deliveries in *failed. */
static rd_kafka_t *new_client(rd_kafka_type_t type, const char *bootstrap, const char **extra,
                              unsigned long *failed)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr)) {
        fprintf(stderr, "wf-kafka_tool: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    for (size_t i = 0; extra[i]; i += 2)
        if (rd_kafka_conf_set(conf, extra[i], extra[i + 1], errstr, sizeof errstr)) {
            fprintf(stderr, "wf-kafka_tool: %s\n", errstr);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set_opaque(conf, failed);
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk)
        fprintf(stderr, "wf-kafka_tool: %s\n", errstr);
    return rk;
}

/* The key of a line: the named field as text; NULL (unkeyed) when absent or
 * when the line is not a JSON object. *owned receives what to free. */
static const char *line_key(const char *field, const char *line, size_t len, char **owned)
{
    *owned = NULL;
    json_error_t je;
    json_t *doc = field ? json_loadb(line, len, 0, &je) : NULL;
    json_t *v = json_object_get(doc, field);
    if (json_is_string(v))
        *owned = strdup(json_string_value(v));
    else if (json_is_integer(v) && (*owned = malloc(32)) != NULL)
        snprintf(*owned, 32, "%lld", (long long)json_integer_value(v));
    json_decref(doc);
    return *owned;
}

static int produce_line(rd_kafka_t *rk, const client_args *a, const char *line, size_t len)
{
    char *owned;
    const char *key = line_key(a->key_field, line, len, &owned);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(a->topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                RD_KAFKA_V_VALUE((void *)line, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(rk, 50);
    free(owned);
    rd_kafka_poll(rk, 0);
    if (e)
        fprintf(stderr, "wf-kafka_tool: produce: %s\n", rd_kafka_err2str(e));
    return e ? -1 : 0;
}

static int run_produce(int argc, char **argv)
{
    client_args a;
    if (parse_client_args(argc, argv, &a) < 0 || !a.file)
        return usage();
    FILE *f = fopen(a.file, "r");
    if (!f) {
        fprintf(stderr, "wf-kafka_tool: cannot open %s\n", a.file);
        return 1;
    }
    /* Records over librdkafka's default 1,000,000 bytes are test inputs too. */
    const char *extra[] = {"linger.ms", "5", "message.max.bytes", "16777216", NULL};
    unsigned long failed = 0;
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, a.bootstrap, extra, &failed);
    if (!rk) {
        fclose(f);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        if (got > 0 && line[got - 1] == '\n')
            got--;
        if (got > 0 && (rc = produce_line(rk, &a, line, (size_t)got)) == 0)
            n++;
    }
    free(line);
    fclose(f);
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "wf-kafka_tool: not every message delivered in 60 s\n");
        rc = -1;
    }
    rd_kafka_destroy(rk);
    if (rc == 0 && failed)
        rc = -1;
    fprintf(stderr, "wf-kafka_tool: produced %zu messages to %s\n", n, a.topic);
    return rc == 0 ? 0 : 1;
}

/* ---- consume ---- */

/* A JSON string of bytes that may be invalid UTF-8: such values are given
 * as {"hex": "..."} instead, so every output line stays JSON. */
static json_t *bytes_value(const void *p, size_t len)
{
    if (!p)
        return json_null();
    json_t *s = json_stringn(p, len);
    if (s)
        return s;
    char *hex = malloc(len * 2 + 1);
    if (!hex)
        return json_null();
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)p)[i]);
    json_t *o = json_pack("{s:s}", "hex", hex);
    free(hex);
    return o;
}

static void print_message(const rd_kafka_message_t *msg)
{
    json_t *o = json_pack("{s:s, s:i, s:I}", "topic", rd_kafka_topic_name(msg->rkt), "partition",
                          (int)msg->partition, "offset", (json_int_t)msg->offset);
    json_object_set_new(o, "key", bytes_value(msg->key, msg->key_len));
    json_object_set_new(o, "value", bytes_value(msg->payload, msg->len));
    json_t *h = json_object();
    rd_kafka_headers_t *hdrs;
    const char *name;
    const void *val;
    size_t vlen;
    if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &vlen) == 0; i++)
            json_object_set_new(h, name, bytes_value(val ? val : "", val ? vlen : 0));
    json_object_set_new(o, "headers", h);
    json_object_set_new(o, "value_len", json_integer((json_int_t)msg->len));
    char *text = json_dumps(o, JSON_COMPACT);
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(o);
}

/* Assigns every partition of the topic from its low watermark; *left gets
 * the number of messages to read (high - low summed). */
static int assign_all(rd_kafka_t *rk, const client_args *a, int64_t *left)
{
    const rd_kafka_metadata_t *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, a->topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, a->timeout_ms);
    rd_kafka_topic_destroy(rkt);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "wf-kafka_tool: no metadata for %s\n", a->topic);
        if (!e)
            rd_kafka_metadata_destroy(md);
        return -1;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    *left = 0;
    for (int i = 0; i < md->topics[0].partition_cnt && !e; i++) {
        int64_t lo, hi;
        e = rd_kafka_query_watermark_offsets(rk, a->topic, i, &lo, &hi, a->timeout_ms);
        rd_kafka_topic_partition_list_add(parts, a->topic, i)->offset = lo;
        *left += hi - lo;
    }
    rd_kafka_metadata_destroy(md);
    if (!e)
        e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e)
        fprintf(stderr, "wf-kafka_tool: %s: %s\n", a->topic, rd_kafka_err2str(e));
    return e ? -1 : 0;
}

static int run_consume(int argc, char **argv)
{
    client_args a;
    if (parse_client_args(argc, argv, &a) < 0 || a.file)
        return usage();
    const char *extra[] = {"group.id", "wf-kafka_tool", "enable.auto.commit", "false", NULL};
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, a.bootstrap, extra, NULL);
    if (!rk)
        return 1;
    int64_t left = 0;
    int rc = assign_all(rk, &a, &left);
    time_t until = time(NULL) + (a.timeout_ms + 999) / 1000;
    while (rc == 0 && left > 0) {
        if (time(NULL) > until) {
            fprintf(stderr, "wf-kafka_tool: %lld messages not read in time\n", (long long)left);
            rc = -1;
            break;
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
        if (!msg)
            continue;
        if (!msg->err) {
            print_message(msg);
            left--;
        }
        rd_kafka_message_destroy(msg);
    }
    fflush(stdout);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (strcmp(argv[1], "mock") == 0)
        return run_mock(argc, argv);
    if (strcmp(argv[1], "produce") == 0)
        return run_produce(argc, argv);
    if (strcmp(argv[1], "consume") == 0)
        return run_consume(argc, argv);
    return usage();
}
