/* Transformer training speed on the CPU, on the model of
 * bench_model_transformer_forward (Qwen3-like: hidden 256, 4 layers, 8
 * heads, 4 KV heads, head_dim 32, intermediate 768, vocab 1000) with LoRA
 * rank 16 (alpha 32, dropout 0.05) on all seven projections: tokens per
 * second of the adapted forward pass, of forward+backward (wf_tf_grad: one
 * training micro-step without the optimiser), and of a full step through
 * the CPU engine (accumulate, then clipping and AdamW), at sequence lengths
 * 128 and 512 (1024 tokens per batch). GFLOP/s count model FLOPs
 * (wf_tf_forward_flops; training 3x forward; the adapters' own products
 * are not counted), next to cblas_sgemm's on large square matrices
 * measured in the same run.
 *
 * usage: bench_model_transformer_train [SECONDS_PER_CASE] (default 3) */
#include "model_transformer/train.h"
#include "transformer_bench.h"

typedef enum mode { FORWARD, GRAD, STEP } mode;
static const char *const MODE_NAMES[] = {"forward", "forward+backward", "train step (adamw)"};

static void die(const char *what, const wf_error *err)
{
    fprintf(stderr, "%s: %s\n", what, err->msg);
    exit(1);
}

/* One unit of work of the mode on batch b. */
static void run_once(mode md, const wf_tf_model *m, const wf_tf_adapter *ad, wf_tf_engine *eng,
                     const wf_tf_batch *b, float *grad, float *logits, uint64_t seed)
{
    wf_error err;
    double loss, norm;
    float scale = 1.0f / (float)b->n;
    if (md == FORWARD && wf_tf_forward_adapted(m, ad, b->ids, b->lens, b->n, logits, &err))
        die("forward", &err);
    if (md == GRAD && wf_tf_grad(m, ad, b, seed, scale, grad, &loss, &err))
        die("grad", &err);
    if (md == STEP && (eng->ops->accumulate(eng->ctx, b, seed, scale, &loss, &err) ||
                       eng->ops->step(eng->ctx, 1e-5, &norm, &err)))
        die("engine", &err);
}

static void run_case(const wf_tf_model *m, wf_tf_adapter *ad, mode md, size_t len, double seconds,
                     double peak)
{
    bench_batch bb;
    bench_batch_make(&bb, len);
    size_t n = bb.n;
    wf_tf_batch b = {bb.seqs, bb.lens, bb.labels, n};
    float *grad = calloc(ad->n_params, sizeof *grad), *logits = malloc(sizeof(float) * 3 * n);
    wf_tf_optim_opts o;
    wf_tf_optim_defaults(&o);
    o.total_steps = 1000000;
    wf_tf_engine eng = {0};
    wf_error err;
    if (md == STEP && wf_tf_engine_cpu(m, ad, &o, &eng, &err))
        die("engine", &err);
    int runs = 0;
    double t0 = bench_now(), t;
    do {
        run_once(md, m, ad, &eng, &b, grad, logits, (uint64_t)runs + 1);
        runs++;
    } while ((t = bench_now() - t0) < seconds);
    double flops = wf_tf_forward_flops(wf_tf_model_config(m), bb.lens, n) * (md == FORWARD ? 1 : 3);
    double gflops = flops * runs / t / 1e9;
    printf("len %4zu x %2zu %-18s: %8.0f tokens/s  %7.2f ms/batch  %6.2f GFLOP/s (%.0f%% of "
           "sgemm)\n",
           len, n, MODE_NAMES[md], (double)(n * len) * runs / t, t / runs * 1e3, gflops,
           100 * gflops / peak);
    if (md == STEP)
        eng.ops->destroy(eng.ctx);
    free(grad), free(logits);
    bench_batch_free(&bb);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    wf_tf_model *m = bench_tiny_model();
    wf_error err;
    wf_tf_lora_opts lo = {.rank = 16, .alpha = 32, .dropout = 0.05, .targets = 0x7f};
    wf_tf_adapter *ad = NULL;
    if (wf_tf_adapter_new(m, &lo, WF_HEAD_CORAL, 1, &ad, &err))
        die("adapter", &err);
    double peak = bench_sgemm_gflops(2048);
    printf("model: Qwen3-like hidden 256, 4 layers, 8 heads, 4 kv heads, head_dim 32, "
           "intermediate 768; LoRA rank 16 on all projections (%zu trained values); "
           "OpenBLAS threads %d\n",
           ad->n_params, openblas_get_num_threads());
    printf("sgemm 2048^3: %.2f GFLOP/s\n", peak);
    for (int i = 0; i < 2; i++)
        for (int md = FORWARD; md <= STEP; md++)
            run_case(m, ad, (mode)md, i ? 512 : 128, seconds, peak);
    wf_tf_adapter_free(ad);
    wf_tf_free(m);
    return 0;
}
