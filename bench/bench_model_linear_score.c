/* Linear-model scoring speed: items per second on one thread, through
 * wf_model_score in batches of 64, with a 2^20-weight CORAL model whose
 * weights are all non-zero (so every lookup touches the full table).
 *
 * usage: bench_model_linear_score [ARENA_JSONL] [SECONDS]
 * Without a file: 4096 synthetic items of typical chat length (a 50-word
 * query, a 200-word response with punctuation and line breaks). With a file
 * (e.g. ../shared/data/arena.jsonl): every (user, assistant) turn pair of its
 * conversations, up to 50000. Runs for SECONDS (default 3). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_linear/linear_internal.h"

#define MAX_ITEMS 50000
#define BATCH 64

typedef struct items {
    wf_model_input in[MAX_ITEMS];
    size_t n, bytes;
} items;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static char *words(int n, uint64_t *s)
{
    char *out = malloc((size_t)n * 12 + 1), *p = out;
    for (int i = 0; i < n; i++) {
        uint64_t r = rnd(s);
        int len = 2 + (int)(r % 8);
        for (int c = 0; c < len; c++)
            *p++ = (char)('a' + (r >> (8 + 3 * c)) % 26);
        *p++ = i % 15 == 14 ? '.' : i % 40 == 39 ? '\n' : ' ';
    }
    *p = '\0';
    return out;
}

static void synthetic(items *it)
{
    uint64_t s = 88172645463325252ull;
    for (it->n = 0; it->n < 4096; it->n++) {
        char *q = words(50, &s), *r = words(200, &s);
        it->in[it->n] = (wf_model_input){.query = q, .response = r};
        it->bytes += strlen(q) + strlen(r);
    }
}

static void add_pairs(items *it, json_t *conv)
{
    for (size_t i = 0; i + 1 < json_array_size(conv) && it->n < MAX_ITEMS; i++) {
        json_t *u = json_array_get(conv, i), *a = json_array_get(conv, i + 1);
        const char *ur = json_string_value(json_object_get(u, "role"));
        const char *ar = json_string_value(json_object_get(a, "role"));
        const char *q = json_string_value(json_object_get(u, "content"));
        const char *r = json_string_value(json_object_get(a, "content"));
        if (!ur || !ar || !q || !r || strcmp(ur, "user") != 0 || strcmp(ar, "assistant") != 0)
            continue;
        it->in[it->n++] = (wf_model_input){.query = strdup(q), .response = strdup(r)};
        it->bytes += strlen(q) + strlen(r);
    }
}

static int from_file(items *it, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0 && it->n < MAX_ITEMS) {
        json_t *doc = json_loads(line, 0, NULL);
        add_pairs(it, json_object_get(doc, "conversation"));
        json_decref(doc);
    }
    free(line);
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    static items it;
    if (argc > 1 ? from_file(&it, argv[1]) : (synthetic(&it), 0))
        return 1;
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    wf_lin *l = wf_lin_new(WF_HEAD_CORAL, 20);
    uint64_t s = 42;
    for (size_t i = 0; i < l->dim; i++)
        l->w[i] = (float)((double)(rnd(&s) % 2001) / 1000.0 - 1.0);
    wf_model *m = wf_lin_wrap(l, WF_HEAD_CORAL);
    static float z[BATCH * WF_LOGITS];
    double sink = 0, t0 = now_s(), t;
    size_t scored = 0, at = 0;
    do {
        size_t n = it.n - at < BATCH ? it.n - at : BATCH;
        wf_model_score(m, it.in + at, n, z, NULL);
        sink += z[0];
        scored += n;
        at = at + n == it.n ? 0 : at + n;
    } while ((t = now_s() - t0) < seconds);
    double per_item = (double)it.bytes / (double)it.n;
    printf("linear score (%s): %zu distinct items, %.0f bytes/item, %zu scored in %.2f s: "
           "%.0f items/s, %.1f MB/s, %.2f us/item (checksum %.3f)\n",
           argc > 1 ? argv[1] : "synthetic 50+200 words", it.n, per_item, scored, t,
           (double)scored / t, (double)scored * per_item / t / 1e6, t / (double)scored * 1e6,
           sink / (double)scored);
    wf_model_free(m);
    return 0;
}
