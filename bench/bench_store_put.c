/* Sample store insert throughput: samples/s committed at batch sizes 1, 64
 * and 512, with synchronous=normal and full.
 *
 * usage: bench_store_put [DIR] [SECONDS]
 * Each configuration writes into a fresh file under DIR (default /tmp) for
 * about SECONDS (default 2) and prints one line. Samples are about 2 KB, the
 * size of a rendered WildReward input with a short exchange. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wildfeed/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static wf_sample *make(long i, const char *filler)
{
    char conv[32], query[96];
    snprintf(conv, sizeof conv, "conv%06ld", i / 4);
    snprintf(query, sizeof query, "Question number %ld: how do I sort a list in Python?", i);
    static const wf_msg history[] = {{"user", "Hi, can you help me with Python?", 32},
                                     {"assistant", "Of course. What do you need?", 28}};
    wf_candidate_parts p = {
        .conversation_id = conv,
        .turn = (int)(i % 4),
        .response_turn = 2 * (i % 4) + 1,
        .user_id = "user-42",
        .language = "English",
        .model = "gpt-4o",
        .created_at = 1764133200 + i,
        .history = history,
        .n_history = 2,
        .query = query,
        .response = filler,
        .feedback = "thanks, that works",
    };
    wf_sample *s = calloc(1, sizeof *s);
    if (!s || !(s->cand = wf_candidate_new(&p)) || !(s->text = strdup(filler))) {
        wf_sample_free(s);
        return NULL;
    }
    s->annotation = 5;
    s->label = 4;
    s->source = WF_SRC_RULES;
    s->eval = wf_split_is_eval(s->cand->id, 0.05);
    snprintf(s->reason, sizeof s->reason, "gratitude");
    return s;
}

/* Inserts batches until the time is up; returns samples/s, or -1. */
static double run(const char *path, wf_store_sync sync, int batch, double seconds,
                  const char *filler, long *done)
{
    wf_store_options o;
    wf_store_options_default(&o, path);
    o.synchronous = sync;
    o.batch_max = batch;
    wf_store *s;
    wf_error err;
    if (wf_store_open(&o, &s, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    long i = 0;
    double t0 = now_s(), t = t0;
    int rc = 0;
    while (rc == 0 && t - t0 < seconds) {
        rc = wf_store_begin(s, &err);
        for (int k = 0; rc == 0 && k < batch; k++, i++) {
            wf_sample *smp = make(i, filler);
            rc = smp ? wf_store_put_sample(s, smp, NULL, &err) : WF_ENOMEM;
            wf_sample_free(smp);
        }
        rc = rc == 0 ? wf_store_commit(s, &err) : rc;
        t = now_s();
    }
    wf_store_close(s);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    *done = i;
    return (double)i / (t - t0);
}

static void remove_store(const char *path)
{
    char side[4200];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    static const int batches[] = {1, 64, 512};
    static const char *const sync_names[] = {"off", "normal", "full"};
    char filler[1800];
    for (size_t i = 0; i < sizeof filler - 1; i++)
        filler[i] = "Use sorted(xs) for a new list or xs.sort() in place. "[i % 53];
    filler[sizeof filler - 1] = '\0';
    char path[4096];
    snprintf(path, sizeof path, "%s/bench_store_put.%d.db", dir, (int)getpid());
    printf("%-12s %6s %10s %12s\n", "synchronous", "batch", "samples", "samples/s");
    for (int sync = WF_STORE_SYNC_NORMAL; sync <= WF_STORE_SYNC_FULL; sync++)
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
            remove_store(path);
            long n = 0;
            double rate = run(path, (wf_store_sync)sync, batches[b], seconds, filler, &n);
            if (rate < 0)
                return 1;
            printf("%-12s %6d %10ld %12.0f\n", sync_names[sync], batches[b], n, rate);
            fflush(stdout);
        }
    remove_store(path);
    return 0;
}
