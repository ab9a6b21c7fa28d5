/* Extract throughput (issue 2): the whole pipeline with the rules judge over
 * a JSONL file held in memory and repeated, against a parse-only pass with
 * jansson over the same bytes, side by side in one run.
 *
 *   bench_feedback_extract FILE [REPEAT]
 *
 * Samples are rendered to WildFB JSON lines into a buffer that is reused,
 * so writing costs what it costs without disk noise. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "wildfeed/config.h"
#include "wildfeed/judge.h"
#include "wildfeed/pipeline.h"

/* Reference deterministic filter-and-render step measured on this machine
 * kind over the same conversations (issue 2), candidates/s. */
#define REFERENCE_CANDIDATES_PER_S 21500.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[size] = '\0';
    *n = (size_t)size;
    return buf;
}

typedef void (*line_fn)(void *ctx, const char *line, size_t len);

static void each_line(const char *buf, size_t n, int repeat, line_fn fn, void *ctx)
{
    for (int r = 0; r < repeat; r++) {
        for (const char *p = buf, *end = buf + n; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (len)
                fn(ctx, p, len);
            p += len + 1;
        }
    }
}

static void parse_only(void *ctx, const char *line, size_t len)
{
    json_error_t e;
    json_t *doc = json_loadb(line, len, 0, &e);
    *(size_t *)ctx += doc != NULL;
    json_decref(doc);
}

typedef struct sink {
    wf_strbuf out;
    size_t samples;
} sink;

static int discard(void *ctx, wf_sample *s, wf_error *err)
{
    (void)err;
    sink *k = ctx;
    wf_strbuf_reset(&k->out);
    wf_sample_to_jsonl(s, &k->out);
    wf_sample_free(s);
    k->samples++;
    return 0;
}

static void feed_line(void *ctx, const char *line, size_t len)
{
    wf_pipeline *p = ctx;
    wf_error err;
    while (wf_pipeline_feed(p, line, len, 1764133200, NULL, &err) == WF_EAGAIN)
        wf_pipeline_pump(p, 0, &err);
    wf_pipeline_pump(p, 0, &err);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.jsonl [REPEAT]\n", argv[0]);
        return 2;
    }
    int repeat = argc > 2 ? atoi(argv[2]) : 20;
    size_t n;
    char *buf = slurp(argv[1], &n);
    if (!buf) {
        perror(argv[1]);
        return 1;
    }
    double mb = (double)n * repeat / 1e6;

    size_t parsed = 0;
    double t0 = now_s();
    each_line(buf, n, repeat, parse_only, &parsed);
    double parse_s = now_s() - t0;

    wf_error err;
    wf_config *cfg = wf_config_new();
    wf_judge *judge = wf_judge_create(cfg, &err);
    sink k = {0};
    wf_pipeline *p =
        judge ? wf_pipeline_new(cfg, judge, (wf_sample_sink){discard, &k}, &err) : NULL;
    if (!p) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    t0 = now_s();
    each_line(buf, n, repeat, feed_line, p);
    wf_pipeline_finish(p, &err);
    double extract_s = now_s() - t0;
    const wf_pipeline_stats *s = wf_pipeline_get_stats(p);
    double cand_per_s = (double)s->candidates / extract_s;
    double parse_cand_per_s = (double)s->candidates / parse_s;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("input: %s x%d = %.1f MB, %zu records parsed, %llu candidates, %zu samples\n", argv[1],
           repeat, mb, parsed, (unsigned long long)s->candidates, k.samples);
    printf("parse-only (jansson)   %8.1f MB/s  %9.0f candidates/s-equivalent\n", mb / parse_s,
           parse_cand_per_s);
    printf("extract (rules judge)  %8.1f MB/s  %9.0f candidates/s\n", mb / extract_s, cand_per_s);
    printf("ratio extract/parse-only      %.2f (goal >= 0.80)\n", cand_per_s / parse_cand_per_s);
    printf("ratio extract/reference       %.2f (reference %.0f candidates/s; goal >= 2.5)\n",
           cand_per_s / REFERENCE_CANDIDATES_PER_S, REFERENCE_CANDIDATES_PER_S);
    printf("peak RSS                      %ld KiB (input buffer %zu KiB)\n", ru.ru_maxrss,
           n / 1024);

    wf_pipeline_free(p);
    wf_judge_free(judge);
    wf_config_free(cfg);
    wf_strbuf_free(&k.out);
    free(buf);
    return 0;
}
