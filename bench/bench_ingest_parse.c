/* Parse throughput: jansson alone against the ingest parser, single thread.
 *
 *   bench_ingest_parse FILE.jsonl [REPEAT]
 *
 * Loads the file into memory, then times REPEAT passes over its lines:
 * (a) json_loadb + json_decref, (b) the same with the load flags of the
 * jansson loader the ingest parser replaced, (c) wf_json_parse alone (the
 * ingest JSON parser, src/ingest/json.h), (d) wf_event_parse +
 * wf_event_clear with the default configuration. Each is run
 * WF_BENCH_ROUNDS times, interleaved; the fastest round counts. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/json.h"
#include "wildfeed/event.h"

#define WF_BENCH_ROUNDS 3
/* The flags src/ingest used with jansson: the behaviour json.h keeps. */
#define WF_PARSER_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY)

typedef struct lines {
    char *data;
    size_t *off, *len, n;
    size_t bytes; /* sum of line lengths */
} lines;

static int load_lines(const char *path, lines *l)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    l->data = malloc((size_t)size + 1);
    if (!l->data || fread(l->data, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        return -1;
    }
    fclose(f);
    size_t cap = 1024;
    l->off = malloc(cap * sizeof *l->off);
    l->len = malloc(cap * sizeof *l->len);
    l->n = l->bytes = 0;
    for (size_t start = 0; start < (size_t)size;) {
        char *nl = memchr(l->data + start, '\n', (size_t)size - start);
        size_t end = nl ? (size_t)(nl - l->data) : (size_t)size;
        if (end > start) {
            if (l->n == cap) {
                cap *= 2;
                l->off = realloc(l->off, cap * sizeof *l->off);
                l->len = realloc(l->len, cap * sizeof *l->len);
            }
            l->off[l->n] = start;
            l->len[l->n++] = end - start;
            l->bytes += end - start;
        }
        start = end + 1;
    }
    return 0;
}

/* CPU time of this thread: on a shared machine, time spent waiting for a
 * core would otherwise be charged to whichever pass happened to wait. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double time_jansson(const lines *l, int repeat, size_t flags, size_t *bad)
{
    double t0 = now();
    *bad = 0;
    for (int r = 0; r < repeat; r++) {
        for (size_t i = 0; i < l->n; i++) {
            json_error_t je;
            json_t *doc = json_loadb(l->data + l->off[i], l->len[i], flags, &je);
            *bad += doc == NULL;
            json_decref(doc);
        }
    }
    return now() - t0;
}

static double time_json(const lines *l, int repeat, size_t *bad)
{
    double t0 = now();
    *bad = 0;
    for (int r = 0; r < repeat; r++) {
        for (size_t i = 0; i < l->n; i++) {
            wf_json_doc *doc;
            wf_json_error je;
            *bad += wf_json_parse(l->data + l->off[i], l->len[i], &doc, &je) != 0;
            free(doc);
        }
    }
    return now() - t0;
}

static double time_parser(const lines *l, int repeat, const wf_parser *p, size_t *bad,
                          size_t *candidates)
{
    double t0 = now();
    *bad = *candidates = 0;
    for (int r = 0; r < repeat; r++) {
        for (size_t i = 0; i < l->n; i++) {
            wf_event ev;
            wf_bad_reason reason;
            if (wf_event_parse(p, l->data + l->off[i], l->len[i], &ev, &reason, NULL) != 0) {
                (*bad)++;
                continue;
            }
            /* a user message after an assistant message is a candidate */
            for (size_t m = 1; m < ev.n_messages; m++)
                *candidates += strcmp(ev.messages[m].role, "user") == 0 &&
                               strcmp(ev.messages[m - 1].role, "assistant") == 0;
            wf_event_clear(&ev);
        }
    }
    return now() - t0;
}

static void report(const char *what, const lines *l, int repeat, double secs, size_t bad)
{
    double mb = (double)l->bytes * repeat / 1e6;
    printf("%-26s %8.3f s cpu %9.1f MB/s %11.0f records/s  (%zu refused)\n", what, secs, mb / secs,
           (double)l->n * repeat / secs, bad);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.jsonl [REPEAT]\n", argv[0]);
        return 2;
    }
    int repeat = argc > 2 ? atoi(argv[2]) : 20;
    lines l;
    if (repeat < 1 || load_lines(argv[1], &l) < 0) {
        fprintf(stderr, "%s: cannot read\n", argv[1]);
        return 1;
    }
    wf_error err;
    wf_config *cfg = wf_config_new();
    wf_parser *p = cfg ? wf_parser_new(cfg, &err) : NULL;
    if (!p) {
        fprintf(stderr, "parser: %s\n", cfg ? err.msg : "out of memory");
        return 1;
    }
    printf("%s: %zu records, %.1f MB, repeated %d times\n", argv[1], l.n, l.bytes / 1e6, repeat);
    /* The machine is shared: interleave the four and keep each one's
     * fastest round, so a burst of foreign load does not decide the ratio. */
    size_t bad_a, bad_b, bad_j, bad_c, candidates;
    double a = 1e300, b = 1e300, js = 1e300, c = 1e300;
    for (int round = 0; round < WF_BENCH_ROUNDS; round++) {
        a = fmin(a, time_jansson(&l, repeat, 0, &bad_a));
        b = fmin(b, time_jansson(&l, repeat, WF_PARSER_FLAGS, &bad_b));
        js = fmin(js, time_json(&l, repeat, &bad_j));
        c = fmin(c, time_parser(&l, repeat, p, &bad_c, &candidates));
    }
    report("jansson json_loadb", &l, repeat, a, bad_a);
    report("jansson, parser's flags", &l, repeat, b, bad_b);
    report("wf_json_parse", &l, repeat, js, bad_j);
    report("wf_event_parse", &l, repeat, c, bad_c);
    printf("candidates: %.0f/s\n", (double)candidates / c);
    printf("wf_event_parse speed / jansson speed: %.3f\n", a / c);
    wf_parser_free(p);
    wf_config_free(cfg);
    free(l.data);
    free(l.off);
    free(l.len);
    return 0;
}
