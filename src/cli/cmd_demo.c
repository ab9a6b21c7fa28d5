/* `wildfeed demo`: the embedded default. Starts librdkafka's mock cluster in
 * this process (real Kafka protocol over loopback TCP), produces the bundled
 * conversations to it as message events keyed by conversation, runs the
 * daemon until every message is committed, and prints the report. */
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

#define DEMO_DEADLINE_S 120

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

/* Points the configuration at the mock cluster and a fresh store. */
static int configure(wf_config *cfg, const char *bootstrap, const char *dir, wf_error *err)
{
    char set[512];
    snprintf(set, sizeof set, "kafka.bootstrap.servers=%s", bootstrap);
    int rc = wf_config_set(cfg, set, err);
    if (rc == 0)
        rc = wf_config_set(cfg, "kafka.auto.offset.reset=earliest", err);
    snprintf(set, sizeof set, "store.path=%s/wildfeed.db", dir);
    if (rc == 0)
        rc = wf_config_set(cfg, set, err);
    return rc;
}

static int run_demo(wf_config *cfg, wf_error *err)
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
        wf_daemon_opts o = {.cfg = cfg, .stop = &g_stop, .stop_after = produced, .report = &report};
        rc = wf_daemon_run(&o, err);
        if (rc == 0)
            printf("%s\ndemo: samples stored in %s/wildfeed.db; list them with:\n"
                   "  wildfeed export --set store.path=%s/wildfeed.db\n",
                   report.data ? report.data : "", dir, dir);
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
    if (argc > 1) {
        fprintf(stderr, "usage: wildfeed demo [-c CONFIG] [--set key=value]...\n");
        wf_config_free(cfg);
        return 2;
    }
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    signal(SIGALRM, on_stop);
    alarm(DEMO_DEADLINE_S); /* never hang: a stuck demo stops and reports */
    wf_error err;
    int rc = run_demo(cfg, &err);
    alarm(0);
    if (rc < 0)
        fprintf(stderr, "wildfeed: %s\n", err.msg);
    wf_config_free(cfg);
    return rc < 0 ? 1 : 0;
}
