/* Transformer forward speed on the CPU: tokens per second, forward only, on
 * a small random Qwen3-like model (hidden 256, 4 layers, 8 heads, 4 KV heads,
 * head_dim 32, intermediate 768, vocab 1000) at sequence lengths 128 and 512
 * (1024 tokens per batch), and the achieved GFLOP/s next to cblas_sgemm's on
 * large square matrices measured in the same run.
 *
 * usage: bench_model_transformer_forward [SECONDS_PER_CASE] (default 3) */
#include "model_transformer/train.h"
#include "transformer_bench.h"

static void run_case(const wf_tf_model *m, size_t len, double seconds, double peak)
{
    bench_batch b;
    bench_batch_make(&b, len);
    float *logits = malloc(sizeof(float) * 3 * b.n);
    wf_error err;
    int runs = 0;
    double t0 = bench_now(), t;
    do {
        if (wf_tf_forward(m, b.seqs, b.lens, b.n, logits, &err)) {
            fprintf(stderr, "forward: %s\n", err.msg);
            exit(1);
        }
        runs++;
    } while ((t = bench_now() - t0) < seconds);
    double gflops = wf_tf_forward_flops(wf_tf_model_config(m), b.lens, b.n) * runs / t / 1e9;
    printf("len %4zu x %2zu: %8.0f tokens/s  %6.2f ms/batch  %6.2f GFLOP/s (%.0f%% of sgemm)\n",
           len, b.n, (double)(b.n * len) * runs / t, t / runs * 1e3, gflops, 100 * gflops / peak);
    free(logits);
    bench_batch_free(&b);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    wf_tf_model *m = bench_tiny_model();
    double peak = bench_sgemm_gflops(2048);
    printf("model: Qwen3-like hidden 256, 4 layers, 8 heads, 4 kv heads, head_dim 32, "
           "intermediate 768; OpenBLAS threads %d\n",
           openblas_get_num_threads());
    printf("sgemm 2048^3: %.2f GFLOP/s\n", peak);
    run_case(m, 128, seconds, peak);
    run_case(m, 512, seconds, peak);
    wf_tf_free(m);
    return 0;
}
