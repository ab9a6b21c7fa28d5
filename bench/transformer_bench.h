/* What the CPU transformer benchmarks share: their small random Qwen3-like
 * model (hidden 256, 4 layers, 8 heads, 4 KV heads, head_dim 32,
 * intermediate 768, vocab 1000), the clock, the machine's sgemm speed
 * measured in the same run, and batches of random ids. Header-only, for
 * bench_model_transformer_forward.c and bench_model_transformer_train.c. */
#ifndef WF_BENCH_TRANSFORMER_H
#define WF_BENCH_TRANSFORMER_H

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../tests/unit/test_model_transformer_tiny.h"
#include "model_transformer/transformer.h"

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The best of a few n x n x n products, in GFLOP/s. */
static inline double bench_sgemm_gflops(int n)
{
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++)
        a[i] = b[i] = (float)(i % 17) * 0.01f;
    double best = 0;
    for (int r = 0; r < 6; r++) {
        double t0 = bench_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        double g = 2.0 * n * n * n / (bench_now() - t0) / 1e9;
        best = g > best ? g : best;
    }
    free(a), free(b), free(c);
    return best;
}

/* The benchmark model, written to a temporary folder, loaded, and the
 * folder removed; exits on failure. */
static inline wf_tf_model *bench_tiny_model(void)
{
    static const tiny_spec spec = {
        "Qwen3ForCausalLM", 256, 4, 8, 4, 32, 768, 1000, 0, 1, 0, NULL, 42};
    char dir[] = "/tmp/wf-bench-transformer-XXXXXX", path[4096];
    tiny_model tm;
    tiny_build(&spec, &tm);
    wf_tf_model *m = NULL;
    wf_error err = {0};
    int rc = !mkdtemp(dir) || tiny_write(&tm, dir) != 0 ? -1 : wf_tf_load_dir(dir, NULL, &m, &err);
    tiny_free(&tm);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    remove(path);
    remove(dir);
    if (rc) {
        fprintf(stderr, "bench model: %s\n", err.msg[0] ? err.msg : "cannot write it");
        exit(1);
    }
    return m;
}

/* 1024 / len sequences of len random ids, labels 1..4 in turn. */
typedef struct bench_batch {
    int32_t *ids;
    const int32_t **seqs;
    size_t *lens;
    int *labels;
    size_t n;
} bench_batch;

static inline void bench_batch_make(bench_batch *b, size_t len)
{
    b->n = 1024 / len;
    b->ids = malloc(sizeof *b->ids * b->n * len);
    b->seqs = malloc(sizeof *b->seqs * b->n);
    b->lens = malloc(sizeof *b->lens * b->n);
    b->labels = malloc(sizeof *b->labels * b->n);
    uint64_t rng = 7;
    for (size_t i = 0; i < b->n * len; i++)
        b->ids[i] = (int32_t)((tiny_uniform(&rng) + 1.0) / 2.0 * 999);
    for (size_t i = 0; i < b->n; i++) {
        b->seqs[i] = b->ids + i * len;
        b->lens[i] = len;
        b->labels[i] = 1 + (int)(i % 4);
    }
}

static inline void bench_batch_free(bench_batch *b)
{
    free(b->ids), free(b->seqs), free(b->lens), free(b->labels);
}

#endif
