/* `wildfeed demo`: the embedded default. Starts librdkafka's mock cluster in
 * this process (real Kafka protocol over loopback TCP), produces the bundled
 * conversations to it as message events keyed by conversation, runs the
 * daemon until every message is committed, trains a reward model on the
 * samples, and serves it on localhost for a while, printing a curl command
 * that scores a pair of answers. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/demo_data.h"
#include "daemon/daemon.h"
#include "source/mock.h"
#include "wildfeed/log.h"

#define DEMO_DEADLINE_S 120 /* to reach a serving model; serving time is extra */
#define DEMO_SERVE_S 60

static volatile sig_atomic_t g_stop; /* set by the signal handlers only */

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* One message event per message of a snapshot line. */
static int produce_conversation(wf_kafka_mock *m, const char *topic, json_t *conv, size_t *count,
                                wf_error *err)
{
    const char *id = json_string_value(json_object_get(conv, "conversation_id"));
    json_t *msgs = json_object_get(conv, "conversation");
    if (!id || !json_is_array(msgs))
        return wf_error_set(err, WF_EPARSE, "bundled conversation without id or messages");
    const char *copied[] = {"user_id", "language", "model"};
    for (size_t i = 0; i < json_array_size(msgs); i++) {
        json_t *msg = json_array_get(msgs, i);
        json_t *ev =
            json_pack("{s:s, s:I, s:O, s:O}", "conversation_id", id, "turn", (json_int_t)i, "role",
                      json_object_get(msg, "role"), "content", json_object_get(msg, "content"));
        for (size_t k = 0; ev && k < 3; k++)
            if (json_object_get(conv, copied[k]))
                json_object_set(ev, copied[k], json_object_get(conv, copied[k]));
        char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
        json_decref(ev);
        if (!text)
            return wf_error_set(err, WF_EPARSE, "bundled conversation '%s' is malformed", id);
        int rc = wf_kafka_mock_produce(m, topic, id, strlen(id), text, strlen(text), err);
        free(text);
        if (rc < 0)
            return rc;
        ++*count;
    }
    return 0;
}

static int produce_sample(wf_kafka_mock *m, const char *topic, size_t *count, wf_error *err)
{
    const char *p = (const char *)wf_demo_conversations;
    const char *end = p + wf_demo_conversations_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_error_t je;
        json_t *conv = len ? json_loadb(p, len, 0, &je) : NULL;
        int rc = conv ? produce_conversation(m, topic, conv, count, err) : 0;
        json_decref(conv);
        if (rc < 0)
            return rc;
        p += len + 1;
    }
    return wf_kafka_mock_flush(m, 10000, err);
}

/* Points the configuration at the mock cluster, a fresh store and model
 * registry, and lets the trainer run on the sample's few dozen samples. */
static int configure(wf_config *cfg, const char *bootstrap, const char *dir, wf_error *err)
{
    char sets[4][512];
    snprintf(sets[0], sizeof sets[0], "kafka.bootstrap.servers=%s", bootstrap);
    snprintf(sets[1], sizeof sets[1], "store.path=%s/wildfeed.db", dir);
    snprintf(sets[2], sizeof sets[2], "model.dir=%s/models", dir);
    snprintf(sets[3], sizeof sets[3], "kafka.auto.offset.reset=earliest");
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++)
        rc = wf_config_set(cfg, sets[i], err);
    if (rc == 0)
        rc = wf_config_set(cfg, "train.min_samples=10", err);
    return rc;
}

typedef struct demo {
    int serve_s;
    volatile sig_atomic_t published;
} demo;

/* A pair of answers to one question, as the deployment would send it. */
static void on_publish(void *ctx, const char *version, int port)
{
    demo *dm = ctx;
    if (dm->published)
        return;
    dm->published = 1;
    printf("\ndemo: model %s is serving on 127.0.0.1:%d. Score a pair of answers with:\n"
           "  curl -s http://127.0.0.1:%d/v1/score -d '{\"items\":["
           "{\"query\":\"How do I reverse a list in Python?\","
           "\"response\":\"Use reversed(xs) or xs[::-1]; list.reverse() works in place.\"},"
           "{\"query\":\"How do I reverse a list in Python?\","
           "\"response\":\"I am not sure.\"}]}'\n",
           version, port, port);
    if (dm->serve_s > 0)
        printf("demo: serving for %d s (Ctrl-C stops it sooner; --serve-seconds 0 serves until "
               "Ctrl-C)\n",
               dm->serve_s);
    fflush(stdout);
    alarm((unsigned)dm->serve_s); /* 0 cancels the start-up deadline */
}

static int run_demo(wf_config *cfg, demo *dm, wf_error *err)
{
    char dir[] = "/tmp/wildfeed-demo.XXXXXX";
    if (!mkdtemp(dir))
        return wf_error_set(err, WF_EIO, "cannot create a temporary directory");
    wf_kafka_mock *m = wf_kafka_mock_start(1, err);
    if (!m)
        return err->code;
    const char *topic = wf_config_list_at(cfg, "source.topics", 0);
    size_t produced = 0;
    int rc = wf_kafka_mock_create_topic(m, topic, 3, err);
    if (rc == 0)
        rc = produce_sample(m, topic, &produced, err);
    if (rc == 0)
        rc = configure(cfg, wf_kafka_mock_bootstrap(m), dir, err);
    if (rc == 0) {
        printf("demo: produced %zu message events to topic '%s' on a mock cluster at %s\n",
               produced, topic, wf_kafka_mock_bootstrap(m));
        fflush(stdout);
        wf_strbuf report;
        wf_strbuf_init(&report);
        wf_daemon_opts o = {.cfg = cfg,
                            .stop = &g_stop,
                            .stop_after = produced,
                            .train_when_caught_up = 1,
                            .on_publish = on_publish,
                            .publish_ctx = dm,
                            .report = &report};
        rc = wf_daemon_run(&o, err);
        if (rc == 0)
            printf("\n%s\ndemo: samples stored in %s/wildfeed.db; list them with:\n"
                   "  wildfeed export --set store.path=%s/wildfeed.db\n"
                   "demo: models in %s/models\n",
                   report.data ? report.data : "", dir, dir, dir);
        if (rc == 0 && !dm->published)
            rc = wf_error_set(err, WF_ETIMEOUT, "demo: no model was trained before the deadline");
        wf_strbuf_free(&report);
    }
    wf_kafka_mock_stop(m);
    return rc;
}

int wf_cmd_demo(int argc, char **argv)
{
    wf_config *cfg = wf_cli_load_config(&argc, argv);
    if (!cfg)
        return 2;
    demo dm = {.serve_s = DEMO_SERVE_S};
    if (argc == 3 && strcmp(argv[1], "--serve-seconds") == 0 && argv[2][0] >= '0' &&
        argv[2][0] <= '9') {
        dm.serve_s = atoi(argv[2]);
    } else if (argc > 1) {
        fprintf(stderr,
                "usage: wildfeed demo [--serve-seconds N] [-c CONFIG] [--set key=value]...\n");
        wf_config_free(cfg);
        return 2;
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    signal(SIGALRM, on_stop);
    alarm(DEMO_DEADLINE_S); /* never hang: a stuck demo stops and reports */
    wf_error err;
    int rc = run_demo(cfg, &dm, &err);
    alarm(0);
    if (rc < 0)
        fprintf(stderr, "wildfeed: %s\n", err.msg);
    wf_config_free(cfg);
    return rc < 0 ? 1 : 0;
}
