/* Daemon throughput: message events per second from an in-process mock Kafka
 * cluster to committed samples, with the rules judge and the store's default
 * batching: with store.synchronous=normal, with full, and with normal while
 * every sample also goes to a samples topic (sample.topic, the fleet's).
 *
 * usage: bench_daemon_throughput [EVENTS] [DIR]
 * Generates EVENTS (default 200000) message events of 5-message
 * conversations (1000 open at a time, interleaved turn by turn as in a live
 * log), produces them keyed by conversation to a 32-partition topic, then
 * runs the daemon loop (wf_daemon_run with stop_after = EVENTS) on a fresh
 * store under DIR (default /tmp) and a fresh consumer group per setting. The
 * trainer and the scoring server are off: this measures ingest. With the
 * samples topic, the line also gives the samples confirmed by the broker by
 * the end (the cursor; the last ones go during the daemon's stop, which the
 * clock does not count).
 *
 * Partitions: librdkafka's mock cluster keeps about 5 MB per partition and
 * silently drops older messages beyond that, so the topic needs enough
 * partitions to hold every event (200000 events are about 65 MB).
 *
 * The clock runs from the consumer's first partition assignment to the start
 * of its final revocation (after the last commit), both read from the
 * daemon's log, so the mock coordinator's 3 s join delay and the consumer's
 * close are not counted; the wall time including them is printed as well.
 * Peak RSS is the whole process: it includes the mock cluster, which keeps
 * every produced message in memory. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fopencookie, memmem */
#endif
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "source/mock.h"
#include "wildfeed/log.h"
#include "wildfeed/store.h"

#define TOPIC "bench.chat"
#define SAMPLES_TOPIC "bench.samples"
#define PARTITIONS 32
#define DEADLINE_S 600
#define OPEN_CONVERSATIONS 1000
#define MESSAGES_PER_CONVERSATION 5

static volatile sig_atomic_t g_stop; /* set by SIGALRM only: a stuck run stops */

static void on_alarm(int sig)
{
    (void)sig;
    g_stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* ---- the log, watched for the assignment and revocation times ---- */

typedef struct log_watch {
    _Atomic double assigned; /* first "partitions assigned", 0 until then */
    _Atomic double revoked;  /* last "partitions revoked" */
} log_watch;

static ssize_t watch_write(void *cookie, const char *buf, size_t len)
{
    log_watch *w = cookie;
    if (memmem(buf, len, "partitions assigned", 19) && w->assigned == 0)
        w->assigned = now_s();
    if (memmem(buf, len, "partitions revoked", 18))
        w->revoked = now_s();
    if (memmem(buf, len, "level=warn", 10) || memmem(buf, len, "level=error", 11))
        fwrite(buf, 1, len, stderr);
    return (ssize_t)len;
}

/* ---- the generated log ---- */

static const char *const queries[] = {
    "How do I reverse a list in Python without writing a loop myself?",
    "Can you explain how a hash table stores its keys and values in memory?",
    "Write a short email to my landlord asking to fix the heating this week.",
    "What are the main differences between TCP and UDP for a game server?",
    "Summarise the causes of the First World War in a few sentences please.",
};
static const char *const responses[] = {
    "You can call my_list.reverse() to reverse it in place, or use slicing with my_list[::-1] "
    "to get a reversed copy without changing the original list.",
    "A hash table computes a hash of each key and uses it to pick a bucket in an array, where "
    "the key and value are stored together; collisions share a bucket or probe onwards.",
    "Dear landlord, the heating in my flat has stopped working. Could you arrange a repair this "
    "week? Thank you for your help. Kind regards.",
    "TCP gives ordered, reliable delivery with retransmission, while UDP sends datagrams with no "
    "guarantees, which keeps latency low for fast-paced game state updates.",
    "Militarism, alliances, imperialism and nationalism built the tension, and the assassination "
    "of Archduke Franz Ferdinand in Sarajevo set the war in motion in 1914.",
};
static const char *const feedbacks[] = {
    "Thanks, this works perfectly!",  "This is wrong.",
    "I asked for Python, not C++",    "Interesting! What if the input is negative?",
    "Now translate it into Spanish.", "What is the population of Japan right now?",
    "You didn't answer my question.", "Great answer, tell me more about the details.",
};

/* Message m (0-based) of conversation c, as one JSON line. */
static int event_json(char *buf, size_t cap, long c, int m)
{
    const char *text, *role = m % 2 ? "assistant" : "user";
    if (m == 0)
        text = queries[c % 5];
    else if (m % 2)
        text = responses[(c + m) % 5];
    else
        text = feedbacks[(c * 7 + m) % 8];
    return snprintf(buf, cap,
                    "{\"conversation_id\":\"bench-%ld\",\"turn\":%d,\"role\":\"%s\","
                    "\"content\":\"%s\",\"user_id\":\"u%ld\",\"language\":\"English\","
                    "\"model\":\"gpt-4o\"}",
                    c, m, role, text, c % 5000);
}

static int produce_events(wf_kafka_mock *m, long events, wf_error *err)
{
    long convs = (events + MESSAGES_PER_CONVERSATION - 1) / MESSAGES_PER_CONVERSATION;
    long sent = 0;
    char line[1024], key[32];
    for (long first = 0; first < convs && sent < events; first += OPEN_CONVERSATIONS)
        for (int msg = 0; msg < MESSAGES_PER_CONVERSATION; msg++)
            for (long c = first; c < first + OPEN_CONVERSATIONS && c < convs && sent < events;
                 c++) {
                int len = event_json(line, sizeof line, c, msg);
                int klen = snprintf(key, sizeof key, "bench-%ld", c);
                int rc = wf_kafka_mock_produce(m, TOPIC, key, (size_t)klen, line, (size_t)len, err);
                if (rc < 0)
                    return rc;
                sent++;
            }
    return wf_kafka_mock_flush(m, 120000, err);
}

/* ---- one daemon run ---- */

static int set(wf_config *cfg, wf_error *err, const char *fmt, const char *value)
{
    char assignment[1024]; /* the longest key plus a 512-byte path */
    snprintf(assignment, sizeof assignment, fmt, value);
    return wf_config_set(cfg, assignment, err);
}

/* The samples confirmed on the samples topic, as the store's cursor says. */
static void print_published(wf_store *s)
{
    int64_t cursor = 0, last = 0;
    if (wf_store_cursor_get(s, "fleet:" SAMPLES_TOPIC, &cursor, NULL) == 0 &&
        wf_store_last_seq(s, &last, NULL) == 0)
        printf("  samples topic: cursor %lld of %lld\n", (long long)cursor, (long long)last);
}

static int run_daemon(wf_kafka_mock *m, const char *dir, const char *sync, int fleet, long events)
{
    char path[512], label[32];
    snprintf(label, sizeof label, "%s%s", sync, fleet ? "+topic" : "");
    snprintf(path, sizeof path, "%s/bench-daemon-%s-%ld.db", dir, label, (long)getpid());
    wf_error err;
    wf_config *cfg = wf_config_new();
    int rc = cfg ? 0 : -1;
    if (rc == 0)
        rc = set(cfg, &err, "kafka.bootstrap.servers=%s", wf_kafka_mock_bootstrap(m));
    if (rc == 0)
        rc = set(cfg, &err, "kafka.group.id=bench-%s", label);
    if (rc == 0)
        rc = set(cfg, &err, "%s", "kafka.auto.offset.reset=earliest");
    if (rc == 0)
        rc = set(cfg, &err, "source.topics=%s", TOPIC);
    if (rc == 0)
        rc = set(cfg, &err, "store.path=%s", path);
    if (rc == 0)
        rc = set(cfg, &err, "store.synchronous=%s", sync);
    if (rc == 0)
        rc = set(cfg, &err, "model.dir=%s.models", path);
    if (rc == 0)
        rc = set(cfg, &err, "%s", "server.enabled=false");
    if (rc == 0)
        rc = set(cfg, &err, "%s", "train.enabled=false");
    if (rc == 0 && fleet)
        rc = set(cfg, &err, "sample.topic=%s", SAMPLES_TOPIC);
    if (rc < 0) {
        fprintf(stderr, "bench: %s\n", cfg ? err.msg : "out of memory");
        wf_config_free(cfg);
        return 1;
    }
    log_watch w = {0};
    cookie_io_functions_t io = {.write = watch_write};
    FILE *log = fopencookie(&w, "w", io);
    setvbuf(log, NULL, _IOLBF, 0);
    wf_log_setup(WF_LOG_INFO, WF_LOG_LOGFMT, log);

    g_stop = 0;
    signal(SIGALRM, on_alarm);
    alarm(DEADLINE_S);
    wf_daemon_opts o = {.cfg = cfg, .stop = &g_stop, .stop_after = (uint64_t)events};
    double t0 = now_s();
    rc = wf_daemon_run(&o, &err);
    double wall = now_s() - t0;
    alarm(0);
    if (rc == 0 && g_stop)
        rc = wf_error_set(&err, WF_ETIMEOUT, "not every event committed within %d s", DEADLINE_S);
    wf_log_setup(WF_LOG_INFO, WF_LOG_LOGFMT, NULL);
    fclose(log);

    wf_store_options so;
    wf_store_options_default(&so, path);
    wf_store *s = NULL;
    wf_store_counts c = {0};
    if (rc == 0 && (rc = wf_store_open(&so, &s, &err)) == 0)
        wf_store_counts_get(s, &c);
    if (rc < 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
    } else {
        double busy = w.revoked - w.assigned;
        printf("synchronous=%-12s events=%ld samples=%llu consuming=%.2fs events/s=%.0f "
               "samples/s=%.0f wall=%.2fs (with join and close) peak_rss=%ld KB\n",
               label, events, (unsigned long long)c.total, busy, events / busy, c.total / busy,
               wall, peak_rss_kb());
    }
    if (rc == 0 && fleet)
        print_published(s);
    wf_store_close(s);
    unlink(path);
    char side[600];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    snprintf(side, sizeof side, "%s.models", path);
    rmdir(side); /* the registry the daemon opened, empty: training is off */
    wf_config_free(cfg);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    long events = argc > 1 ? atol(argv[1]) : 200000;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    if (events < 1) {
        fprintf(stderr, "usage: bench_daemon_throughput [EVENTS] [DIR]\n");
        return 2;
    }
    wf_error err;
    wf_kafka_mock *m = wf_kafka_mock_start(1, &err);
    if (!m) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    double t0 = now_s();
    int rc = wf_kafka_mock_create_topic(m, TOPIC, PARTITIONS, &err);
    if (rc == 0)
        rc = wf_kafka_mock_create_topic(m, SAMPLES_TOPIC, PARTITIONS, &err);
    if (rc == 0)
        rc = produce_events(m, events, &err);
    if (rc < 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        wf_kafka_mock_stop(m);
        return 1;
    }
    printf("produced %ld message events in %.1fs; peak_rss before the daemon=%ld KB\n", events,
           now_s() - t0, peak_rss_kb());
    fflush(stdout);
    int status = run_daemon(m, dir, "normal", 0, events);
    fflush(stdout);
    if (status == 0)
        status = run_daemon(m, dir, "full", 0, events);
    fflush(stdout);
    if (status == 0)
        status = run_daemon(m, dir, "normal", 1, events);
    wf_kafka_mock_stop(m);
    return status;
}
