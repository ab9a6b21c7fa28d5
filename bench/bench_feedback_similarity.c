/* Similarity gate study and speed: bench_feedback_similarity FILE.jsonl [ngram]
 *
 * FILE holds conversation snapshots ({"conversation": [{"role","content"}]}).
 * The hindsight gate compares two feedback messages (user messages after the
 * first assistant reply) one or two turns apart. This program scores such
 * pairs within a conversation (mostly one topic) against pairs drawn from two
 * different conversations (different topics), prints both distributions and,
 * per threshold, the share of each that passes; that is how the default of
 * hindsight.min_similarity was chosen. It then times the similarity. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feedback/similarity.h"

typedef struct text {
    const char *s;
    size_t n;
    size_t conv;
} text;

typedef struct corpus {
    json_t **docs;
    size_t n_docs, cap_docs;
    text *msgs; /* feedback messages, conversation by conversation */
    size_t n_msgs, cap_msgs;
} corpus;

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    *cap = *cap ? *cap * 2 : 1024;
    p = realloc(p, *cap * size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static void add_conversation(corpus *c, json_t *doc)
{
    json_t *conv = json_object_get(doc, "conversation");
    size_t i, users = 0;
    json_t *m;
    c->docs = grow(c->docs, &c->cap_docs, c->n_docs + 1, sizeof *c->docs);
    c->docs[c->n_docs] = doc;
    json_array_foreach(conv, i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        json_t *content = json_object_get(m, "content");
        if (!role || strcmp(role, "user") != 0 || !json_is_string(content))
            continue;
        if (users++ == 0)
            continue; /* the first user message is a query, never feedback */
        c->msgs = grow(c->msgs, &c->cap_msgs, c->n_msgs + 1, sizeof *c->msgs);
        c->msgs[c->n_msgs++] =
            (text){json_string_value(content), json_string_length(content), c->n_docs};
    }
    c->n_docs++;
}

static void load(corpus *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        json_t *doc = json_loadb(line, (size_t)len, 0, NULL);
        if (doc)
            add_conversation(c, doc);
    }
    free(line);
    fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double share_at_least(const double *v, size_t n, double t)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += v[i] >= t;
    return n ? (double)k / (double)n : 0.0;
}

static void print_dist(const char *name, double *v, size_t n)
{
    static const int pct[] = {5, 10, 25, 50, 75, 90, 95};
    qsort(v, n, sizeof *v, cmp_double);
    printf("%-16s n=%-6zu", name, n);
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++)
        printf(" p%d=%.3f", pct[i], n ? v[(n - 1) * (size_t)pct[i] / 100] : 0.0);
    printf("\n");
}

/* Deterministic pairing with another conversation's message (xorshift). */
static size_t other_message(const corpus *c, size_t i, uint64_t *rng)
{
    for (;;) {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        size_t j = (size_t)(*rng % c->n_msgs);
        if (c->msgs[j].conv != c->msgs[i].conv)
            return j;
    }
}

static double sim(const text *a, const text *b, int ngram)
{
    return wf_text_similarity(a->s, a->n, b->s, b->n, ngram);
}

static void study(const corpus *c, int ngram)
{
    double *same = malloc(2 * c->n_msgs * sizeof *same);
    double *diff = malloc(2 * c->n_msgs * sizeof *diff);
    if (!same || !diff) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    size_t ns = 0, nd = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < c->n_msgs; i++)
        for (size_t k = 1; k <= 2 && i + k < c->n_msgs; k++) {
            if (c->msgs[i + k].conv != c->msgs[i].conv)
                break;
            same[ns++] = sim(&c->msgs[i], &c->msgs[i + k], ngram);
            diff[nd++] = sim(&c->msgs[i], &c->msgs[other_message(c, i, &rng)], ngram);
        }
    printf("ngram=%d\n", ngram);
    print_dist("same-conv", same, ns);
    print_dist("different-conv", diff, nd);
    for (int k = 1; k <= 10; k++) {
        double t = k / 20.0; /* exact at 0.25, as the gate compares */
        printf("  threshold %.2f: same-conv pass %.1f%%, different-conv pass %.1f%%\n", t,
               100 * share_at_least(same, ns, t), 100 * share_at_least(diff, nd, t));
    }
    free(same);
    free(diff);
}

static void timing(const corpus *c, int ngram)
{
    struct timespec t0, t1;
    size_t pairs = 0, bytes = 0;
    double sink = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int rep = 0; rep < 5; rep++)
        for (size_t i = 0; i + 1 < c->n_msgs; i++) {
            sink += sim(&c->msgs[i], &c->msgs[i + 1], ngram);
            bytes += c->msgs[i].n + c->msgs[i + 1].n;
            pairs++;
        }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("timing ngram=%d: %zu pairs in %.3f s = %.0f pairs/s, %.1f MB/s (checksum %.3f)\n",
           ngram, pairs, s, (double)pairs / s, (double)bytes / s / 1e6, sink);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s conversations.jsonl [ngram]\n", argv[0]);
        return 2;
    }
    corpus c = {0};
    load(&c, argv[1]);
    printf("%zu conversations, %zu feedback messages\n", c.n_docs, c.n_msgs);
    if (c.n_msgs < 2)
        return 1;
    int lo = argc > 2 ? atoi(argv[2]) : 2, hi = argc > 2 ? lo : 4;
    for (int n = lo; n <= hi; n++)
        study(&c, n);
    timing(&c, lo == hi ? lo : 3);
    for (size_t i = 0; i < c.n_docs; i++)
        json_decref(c.docs[i]);
    free(c.docs);
    free(c.msgs);
    return 0;
}
