/* Kafka source throughput: messages per second from an in-process mock
 * cluster through wf_source_poll and wf_source_done, offsets stored as the
 * done watermark advances. Work completes in batches of BATCH, each batch in
 * reverse order, so the watermark logic is on the path as in the daemon.
 * The mock keeps only about 5 MB per partition (older data is dropped and the
 * consumer's offset reset past it), so the default of 16 partitions holds the
 * 200000 messages of 300 bytes.
 * Usage: bench_source_consume [MESSAGES] [PARTITIONS] [BATCH] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "source/mock.h"
#include "wildfeed/config.h"
#include "wildfeed/log.h"
#include "wildfeed/source.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A message event of about 300 bytes. */
static int event(char *buf, size_t cap, long i)
{
    return snprintf(buf, cap,
                    "{\"conversation_id\":\"c%06ld\",\"turn\":%ld,\"role\":\"user\",\"content\":"
                    "\"Could you explain how the scheduler decides which task runs next, and "
                    "why my job waits although the queue looks empty? %08ld\",\"user_id\":"
                    "\"u%04ld\",\"language\":\"English\",\"model\":\"gpt-4o\",\"timestamp\":"
                    "\"2026-11-26T05:00:00Z\"}",
                    i / 8, i % 8, i, i % 977);
}

static int produce(wf_kafka_mock *m, long n)
{
    wf_error err = {0};
    char buf[512], key[32];
    for (long i = 0; i < n; i++) {
        int len = event(buf, sizeof buf, i);
        int kl = snprintf(key, sizeof key, "c%06ld", i / 8);
        if (wf_kafka_mock_produce(m, "bench", key, (size_t)kl, buf, (size_t)len, &err) < 0)
            break;
    }
    if (err.code == 0)
        wf_kafka_mock_flush(m, 120000, &err);
    if (err.code)
        fprintf(stderr, "bench: produce: %s\n", err.msg);
    return err.code;
}

static wf_config *bench_config(wf_kafka_mock *m)
{
    wf_config *c = wf_config_new();
    char kv[512];
    wf_error err = {0};
    snprintf(kv, sizeof kv, "kafka.bootstrap.servers=%s", wf_kafka_mock_bootstrap(m));
    const char *sets[] = {kv, "source.topics=bench", "kafka.group.id=bench",
                          "kafka.auto.offset.reset=earliest"};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
        if (wf_config_set(c, sets[i], &err) < 0) {
            fprintf(stderr, "bench: %s\n", err.msg);
            wf_config_free(c);
            return NULL;
        }
    return c;
}

static long consume(wf_source *s, long n, int batch, double *first, double *last, long *bytes)
{
    uint64_t *tags = malloc((size_t)batch * sizeof *tags);
    long got = 0;
    int held = 0;
    double give_up = now_s() + 120;
    while (tags && got < n && now_s() < give_up) {
        wf_source_msg msg;
        if (wf_source_poll(s, &msg, 100, NULL) != 0)
            continue;
        if (got++ == 0)
            *first = now_s();
        *bytes += (long)msg.len;
        tags[held++] = msg.tag;
        if (held == batch || got == n)
            while (held > 0)
                wf_source_done(s, tags[--held]);
    }
    *last = now_s();
    free(tags);
    return got;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int parts = argc > 2 ? atoi(argv[2]) : 16;
    int batch = argc > 3 ? atoi(argv[3]) : 256;
    wf_log_setup(WF_LOG_ERROR, WF_LOG_LOGFMT, NULL);
    wf_error err = {0};
    wf_kafka_mock *m = wf_kafka_mock_start(1, &err);
    if (!m || wf_kafka_mock_create_topic(m, "bench", parts, &err) < 0) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    double t0 = now_s();
    if (produce(m, n))
        return 1;
    double produced = now_s() - t0;
    wf_config *c = bench_config(m);
    wf_source *s = c ? wf_source_new(c, NULL, &err) : NULL;
    if (!s) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    double first = 0, last = 0;
    long bytes = 0, got = consume(s, n, batch, &first, &last, &bytes);
    wf_source_counters k;
    wf_source_stats(s, &k);
    wf_source_close(s, 10000, NULL);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double secs = last - first;
    printf("messages %ld of %ld, partitions %d, done batch %d, value bytes %.1f MB\n", got, n,
           parts, batch, (double)bytes / 1e6);
    printf("produce %.2f s; consume %.2f s from the first message: %.0f msg/s, %.1f MB/s\n",
           produced, secs, secs > 0 ? (double)got / secs : 0.0,
           secs > 0 ? (double)bytes / 1e6 / secs : 0.0);
    printf("offset stores %llu, pauses %llu, peak RSS %ld MB (mock cluster included)\n",
           (unsigned long long)k.offsets_stored, (unsigned long long)k.pauses, ru.ru_maxrss / 1024);
    wf_config_free(c);
    wf_kafka_mock_stop(m);
    return got == n ? 0 : 1;
}
