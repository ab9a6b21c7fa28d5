/* Transformer forward speed on the CPU: tokens per second, forward only, on
 * a small random Qwen3-like model (hidden 256, 4 layers, 8 heads, 4 KV heads,
 * head_dim 32, intermediate 768, vocab 1000) at sequence lengths 128 and 512
 * (1024 tokens per batch), and the achieved GFLOP/s next to cblas_sgemm's on
 * large square matrices measured in the same run.
 *
 * usage: bench_model_transformer_forward [SECONDS_PER_CASE] (default 3) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../tests/unit/test_model_transformer_tiny.h"
#include "model_transformer/transformer.h"

static const tiny_spec SPEC = {"Qwen3ForCausalLM", 256, 4, 8, 4, 32, 768, 1000, 0, 1, 0, NULL, 42};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The best of a few n x n x n products. */
static double sgemm_gflops(int n)
{
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++)
        a[i] = b[i] = (float)(i % 17) * 0.01f;
    double best = 0;
    for (int r = 0; r < 6; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        double g = 2.0 * n * n * n / (now_s() - t0) / 1e9;
        best = g > best ? g : best;
    }
    free(a), free(b), free(c);
    return best;
}

/* Matrix-product FLOPs of one forward over n sequences of len tokens: the
 * projections and MLP per token, and causal attention (len (len+1) / 2
 * query-key pairs, QK and PV) per sequence. */
static double forward_flops(size_t n, size_t len)
{
    const tiny_spec *s = &SPEC;
    double h = s->hidden, qd = (double)s->heads * s->head_dim,
           kvd = (double)s->kv_heads * s->head_dim, in = s->inter;
    double per_token = 2.0 * (h * qd + 2 * h * kvd + qd * h + 3 * h * in);
    double attn = 4.0 * s->head_dim * s->heads * (len * (len + 1) / 2.0);
    return s->layers * (per_token * len + attn) * n;
}

static void run_case(const wf_tf_model *m, size_t len, double seconds, double peak)
{
    size_t n = 1024 / len;
    int32_t *ids = malloc(sizeof *ids * n * len);
    const int32_t **batch = malloc(sizeof *batch * n);
    size_t *lens = malloc(sizeof *lens * n);
    uint64_t rng = 7;
    for (size_t i = 0; i < n * len; i++)
        ids[i] = (int32_t)((tiny_uniform(&rng) + 1.0) / 2.0 * 999);
    for (size_t i = 0; i < n; i++) {
        batch[i] = ids + i * len;
        lens[i] = len;
    }
    float *logits = malloc(sizeof(float) * 3 * n);
    wf_error err;
    int runs = 0;
    double t0 = now_s(), t;
    do {
        if (wf_tf_forward(m, batch, lens, n, logits, &err)) {
            fprintf(stderr, "forward: %s\n", err.msg);
            exit(1);
        }
        runs++;
    } while ((t = now_s() - t0) < seconds);
    double gflops = forward_flops(n, len) * runs / t / 1e9;
    printf("len %4zu x %2zu: %8.0f tokens/s  %6.2f ms/batch  %6.2f GFLOP/s (%.0f%% of sgemm)\n",
           len, n, (double)(n * len) * runs / t, t / runs * 1e3, gflops, 100 * gflops / peak);
    free(ids), free(batch), free(lens), free(logits);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    char dir[] = "/tmp/wf-bench-transformer-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    tiny_model tm;
    tiny_build(&SPEC, &tm);
    if (tiny_write(&tm, dir) != 0)
        return 1;
    tiny_free(&tm);
    wf_tf_model *m = NULL;
    wf_error err;
    if (wf_tf_load_dir(dir, NULL, &m, &err)) {
        fprintf(stderr, "load: %s\n", err.msg);
        return 1;
    }
    double peak = sgemm_gflops(2048);
    printf("model: Qwen3-like hidden 256, 4 layers, 8 heads, 4 kv heads, head_dim 32, "
           "intermediate 768; OpenBLAS threads %d\n",
           openblas_get_num_threads());
    printf("sgemm 2048^3: %.2f GFLOP/s\n", peak);
    run_case(m, 128, seconds, peak);
    run_case(m, 512, seconds, peak);
    wf_tf_free(m);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    remove(path);
    remove(dir);
    return 0;
}
