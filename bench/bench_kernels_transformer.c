/* Speed of the CUDA path (issue 7): scoring and training tokens/s of a
 * Qwen3-0.6B-shaped model at sequence lengths 512 and 2048, and the model
 * FLOP utilisation against 989 TFLOP/s (H100 SXM, bf16 dense), counted by
 * wf_tf_forward_flops (training: 3x the forward). Training is the engine's
 * accumulate + step with LoRA rank 16 (alpha 32, dropout 0.05) on every
 * projection, as tests/gpu/baseline.py runs transformers + PEFT.
 *
 * The model is a directory (tests/gpu/baseline.py --save writes the same
 * random model it measures) or, without --model, random weights of the
 * Qwen3-0.6B shape built here (a few seconds and 2.4 GB of memory). The API
 * is synchronous, so a call's return is the end of its device work.
 *
 * One line per case, which tests/gpu/run.sh puts beside the baseline's:
 *   BENCH impl=wildfeed mode=score|score_lora|train seq=L batch=N tokens=T
 *         tok_s=X ms=Y mfu=Z status=ok
 *
 * usage: bench_kernels_transformer [--model DIR] [--seconds S]
 *            [--score-tokens N] [--train-tokens N] [--len 512|2048]
 *            [--variants] [--quick]
 * --variants adds training without dropout (train_nodrop) and of the head
 * alone (train_head), to show what the adapters cost; --quick makes one
 * warm-up and one timed call per case, for a profiler.
 * Without a usable GPU it prints "no CUDA device: skipped" and exits 0. */
#include <stdlib.h>
#include <string.h>

#include "../tests/gpu/gpucheck.h"
#include "model_transformer/tf_internal.h"
#include "model_transformer/train.h"
#include "wf_cuda.h"

#define PEAK_FLOPS 989e12
#define LORA_ALL 0x7fu

typedef struct bench_opts {
    const char *model;
    double seconds;
    size_t score_tokens, train_tokens;
    size_t only_len; /* 0: 512 and 2048 */
    int variants;    /* also train without dropout, and the head alone */
    int quick;       /* one warm-up and one call per case (for profilers) */
} bench_opts;

static float *rand_tensor(size_t n, double center, double scale, uint64_t *rng)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; x && i < n; i++)
        x[i] = (float)(center + scale * gc_uniform(rng));
    return x;
}

/* Random weights of Qwen3-0.6B's shape: matrices scaled by 1/sqrt(fan-in),
 * norm weights near 1. */
static int random_model(wf_tf_model **out, wf_error *err)
{
    wf_tf_model *m = calloc(1, sizeof *m);
    if (!m)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    wf_tf_config *c = &m->cfg;
    *c = (wf_tf_config){.arch = WF_TF_QWEN3,
                        .seq_cls = 1,
                        .hidden = 1024,
                        .layers = 28,
                        .heads = 16,
                        .kv_heads = 8,
                        .head_dim = 128,
                        .intermediate = 3072,
                        .vocab = 151936,
                        .rms_eps = 1e-6,
                        .rope = {.theta = 1e6},
                        .tie_word_embeddings = 1,
                        .num_labels = 3,
                        .pad_token_id = 151643,
                        .qk_norm = 1};
    size_t h = 1024, qd = 16 * 128, kvd = 8 * 128, in = 3072, hd = 128;
    uint64_t rng = 42;
    int ok = 1;
    m->max_len = 4096;
    m->embed = rand_tensor((size_t)c->vocab * h, 0, 1, &rng);
    m->final_norm = rand_tensor(h, 1, 0.1, &rng);
    m->head_w = rand_tensor(3 * h, 0, 1 / 32.0, &rng);
    m->inv_freq = malloc(hd / 2 * sizeof *m->inv_freq);
    m->layers = calloc((size_t)c->layers, sizeof *m->layers);
    ok = m->embed && m->final_norm && m->head_w && m->inv_freq && m->layers;
    for (int i = 0; ok && i < c->layers; i++) {
        wf_tf_layer *l = &m->layers[i];
        l->in_norm = rand_tensor(h, 1, 0.1, &rng);
        l->post_norm = rand_tensor(h, 1, 0.1, &rng);
        l->q_norm = rand_tensor(hd, 1, 0.1, &rng);
        l->k_norm = rand_tensor(hd, 1, 0.1, &rng);
        l->wq = rand_tensor(qd * h, 0, 1 / 32.0, &rng);
        l->wk = rand_tensor(kvd * h, 0, 1 / 32.0, &rng);
        l->wv = rand_tensor(kvd * h, 0, 1 / 32.0, &rng);
        l->wo = rand_tensor(h * qd, 0, 1 / sqrt((double)qd), &rng);
        l->w_gate = rand_tensor(in * h, 0, 1 / 32.0, &rng);
        l->w_up = rand_tensor(in * h, 0, 1 / 32.0, &rng);
        l->w_down = rand_tensor(h * in, 0, 1 / sqrt((double)in), &rng);
        ok = l->in_norm && l->post_norm && l->q_norm && l->k_norm && l->wq && l->wk && l->wv &&
             l->wo && l->w_gate && l->w_up && l->w_down;
    }
    if (!ok) {
        wf_tf_free(m);
        return wf_error_set(err, WF_ENOMEM, "out of memory for the random model");
    }
    m->head_from_checkpoint = 1;
    wf_tf_rope_freqs(c, m->inv_freq);
    *out = m;
    return 0;
}

/* n sequences of len random ids below the special tokens. */
typedef struct batch {
    int32_t *ids;
    const int32_t **seq;
    size_t *lens;
    int *labels;
    size_t n;
} batch;

static int batch_make(batch *b, size_t len, size_t tokens, int vocab)
{
    b->n = tokens / len ? tokens / len : 1;
    b->ids = malloc(b->n * len * sizeof *b->ids);
    b->seq = malloc(b->n * sizeof *b->seq);
    b->lens = malloc(b->n * sizeof *b->lens);
    b->labels = malloc(b->n * sizeof *b->labels);
    if (!b->ids || !b->seq || !b->lens || !b->labels)
        return -1;
    uint64_t rng = len;
    int top = vocab > 1024 ? vocab - 1024 : vocab;
    for (size_t i = 0; i < b->n * len; i++)
        b->ids[i] = (int32_t)((gc_uniform(&rng) + 1.0) * 0.5 * top) % top;
    for (size_t i = 0; i < b->n; i++) {
        b->seq[i] = b->ids + i * len;
        b->lens[i] = len;
        b->labels[i] = 1 + (int)(i % 4);
    }
    return 0;
}

static void batch_free(batch *b)
{
    free(b->ids), free(b->seq), free(b->lens), free(b->labels);
}

typedef struct bench_case {
    const char *mode;
    wf_cuda_model *cm;
    const wf_cuda_adapter *ca; /* scoring */
    wf_tf_engine *engine;      /* training */
    batch b;
    float *logits;
    uint64_t seed;
} bench_case;

static int run_once(bench_case *bc, wf_error *err)
{
    if (!bc->engine)
        return wf_cuda_forward(bc->cm, bc->ca, bc->b.seq, bc->b.lens, bc->b.n, bc->logits, err);
    wf_tf_batch tb = {bc->b.seq, bc->b.lens, bc->b.labels, bc->b.n};
    double loss, norm;
    int rc = bc->engine->ops->accumulate(bc->engine->ctx, &tb, bc->seed++, 1.0f / (float)bc->b.n,
                                         &loss, err);
    return rc ? rc : bc->engine->ops->step(bc->engine->ctx, 1e-4, &norm, err);
}

/* Two warm-up calls, then calls until both `seconds` and three calls have
 * passed (quick: one of each). */
static void bench_run(bench_case *bc, const wf_tf_config *c, size_t len, const bench_opts *o)
{
    wf_error err;
    int rc = 0, calls = 0, warm = o->quick ? 1 : 2, least = o->quick ? 1 : 3;
    double t0 = 0, t = 0, seconds = o->quick ? 0 : o->seconds;
    for (int i = 0; rc == 0 && i < warm; i++)
        rc = run_once(bc, &err);
    if (rc == 0)
        t0 = gc_now();
    while (rc == 0 && ((t = gc_now() - t0) < seconds || calls < least)) {
        rc = run_once(bc, &err);
        calls += rc == 0;
    }
    size_t tokens = bc->b.n * len;
    printf("BENCH impl=wildfeed mode=%s seq=%zu batch=%zu tokens=%zu ", bc->mode, len, bc->b.n,
           tokens);
    if (rc) {
        printf("status=error msg=\"%s\"\n", err.msg);
    } else {
        double per = t / calls, flops = wf_tf_forward_flops(c, bc->b.lens, bc->b.n);
        if (bc->engine)
            flops *= 3.0;
        printf("tok_s=%.0f ms=%.2f mfu=%.4f status=ok\n", tokens / per, per * 1e3,
               flops / per / PEAK_FLOPS);
    }
    fflush(stdout);
}

static void bench_train(wf_cuda_model *cm, wf_tf_engine *engine, const char *mode,
                        const wf_tf_config *c, size_t len, const bench_opts *o)
{
    bench_case tc = {.mode = mode, .cm = cm, .engine = engine, .seed = 1};
    if (batch_make(&tc.b, len, o->train_tokens, c->vocab) == 0)
        bench_run(&tc, c, len, o);
    batch_free(&tc.b);
}

static void bench_len(wf_cuda_model *cm, const wf_cuda_adapter *base, const wf_cuda_adapter *lora,
                      wf_tf_engine *engine, const wf_tf_config *c, size_t len, const bench_opts *o)
{
    bench_case bc = {.cm = cm, .seed = 1};
    if (batch_make(&bc.b, len, o->score_tokens, c->vocab) == 0 &&
        (bc.logits = malloc(bc.b.n * 3 * sizeof *bc.logits))) {
        bc.mode = "score";
        bc.ca = base;
        bench_run(&bc, c, len, o);
        bc.mode = "score_lora";
        bc.ca = lora;
        bench_run(&bc, c, len, o);
    }
    free(bc.logits);
    batch_free(&bc.b);
    bench_train(cm, engine, "train", c, len, o);
}

/* Training with other LoRA settings, to see what the adapters and their
 * dropout cost: a fresh adapter and engine for each. */
static int bench_variants(wf_cuda_model *cm, const wf_tf_model *m, const wf_tf_optim_opts *oo,
                          const bench_opts *o, wf_error *err)
{
    static const struct {
        const char *mode;
        wf_tf_lora_opts lora;
    } variants[] = {{"train_nodrop", {16, 32, 0.0, LORA_ALL}}, {"train_head", {16, 32, 0.0, 0}}};
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        wf_tf_adapter *ad = NULL;
        wf_tf_engine e = {0};
        int rc = wf_tf_adapter_new(m, &variants[v].lora, WF_HEAD_CORAL, 1, &ad, err);
        if (rc == 0 && (rc = wf_cuda_engine(cm, ad, oo, &e, err)) == 0)
            for (size_t len = 512; len <= 2048; len *= 4)
                if (!o->only_len || o->only_len == len)
                    bench_train(cm, &e, variants[v].mode, wf_tf_model_config(m), len, o);
        if (e.ops)
            e.ops->destroy(e.ctx);
        wf_tf_adapter_free(ad);
        if (rc)
            return rc;
    }
    return 0;
}

static int bench_model(const wf_tf_model *m, const bench_opts *o, wf_error *err)
{
    const wf_tf_config *c = wf_tf_model_config(m);
    /* A batch holds at least one sequence, however few tokens were asked. */
    size_t budget = o->score_tokens > o->train_tokens ? o->score_tokens : o->train_tokens;
    budget = budget > 2048 ? budget : 2048;
    wf_cuda_opts co = {.device = 0, .token_budget = budget};
    wf_tf_lora_opts lo = {.rank = 16, .alpha = 32, .dropout = 0.05, .targets = LORA_ALL};
    wf_tf_optim_opts oo;
    wf_tf_optim_defaults(&oo);
    oo.lr = 1e-4;
    wf_cuda_model *cm = NULL;
    wf_cuda_adapter *base = NULL, *lora = NULL;
    wf_tf_adapter *ad = NULL;
    wf_tf_engine e = {0};
    double t0 = gc_now();
    int rc = wf_cuda_model_new(m, &co, &cm, err);
    if (rc == 0)
        printf("upload and plan: %.1f s (token budget %zu)\n", gc_now() - t0, budget);
    if (rc == 0 && !(rc = wf_tf_adapter_new(m, &lo, WF_HEAD_CORAL, 1, &ad, err)) &&
        !(rc = wf_cuda_adapter_upload(cm, NULL, &base, err)) &&
        !(rc = wf_cuda_adapter_upload(cm, ad, &lora, err)) &&
        !(rc = wf_cuda_engine(cm, ad, &oo, &e, err))) {
        for (size_t len = 512; len <= 2048; len *= 4)
            if (!o->only_len || o->only_len == len)
                bench_len(cm, base, lora, &e, c, len, o);
    }
    if (e.ops)
        e.ops->destroy(e.ctx);
    if (rc == 0 && o->variants)
        rc = bench_variants(cm, m, &oo, o, err);
    if (lora)
        wf_cuda_adapter_free(lora);
    if (base)
        wf_cuda_adapter_free(base);
    wf_tf_adapter_free(ad);
    if (cm)
        wf_cuda_model_free(cm);
    return rc;
}

static int parse_args(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){NULL, 3.0, 16384, 8192, 0, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--variants") == 0 || strcmp(argv[i], "--quick") == 0) {
            *(argv[i][2] == 'v' ? &o->variants : &o->quick) = 1;
            continue;
        }
        if (i + 1 == argc) /* an option without its value */
            return -1;
        const char *v = argv[++i];
        if (strcmp(argv[i - 1], "--model") == 0)
            o->model = v;
        else if (strcmp(argv[i - 1], "--seconds") == 0)
            o->seconds = atof(v);
        else if (strcmp(argv[i - 1], "--score-tokens") == 0)
            o->score_tokens = strtoull(v, NULL, 10);
        else if (strcmp(argv[i - 1], "--train-tokens") == 0)
            o->train_tokens = strtoull(v, NULL, 10);
        else if (strcmp(argv[i - 1], "--len") == 0)
            o->only_len = strtoull(v, NULL, 10);
        else
            return -1;
    }
    return o->score_tokens && o->train_tokens ? 0 : -1;
}

int main(int argc, char **argv)
{
    bench_opts o;
    if (parse_args(argc, argv, &o)) {
        fprintf(stderr, "usage: bench_kernels_transformer [--model DIR] [--seconds S] "
                        "[--score-tokens N] [--train-tokens N] [--len 512|2048] [--variants] "
                        "[--quick]\n");
        return 2;
    }
    if (wf_cuda_device_count() < 1) {
        puts("no CUDA device: skipped");
        return 0;
    }
    char dev[256];
    wf_cuda_device_name(0, dev, sizeof dev);
    wf_tf_model *m = NULL;
    wf_error err;
    double t0 = gc_now();
    wf_tf_load_opts lo = {.max_len = 4096, .head_seed = 1};
    int rc = o.model ? wf_tf_load_dir(o.model, &lo, &m, &err) : random_model(&m, &err);
    if (rc) {
        fprintf(stderr, "bench_kernels_transformer: %s\n", err.msg);
        return 1;
    }
    const wf_tf_config *c = wf_tf_model_config(m);
    printf("device %s; model %s: hidden %d, %d layers, %d heads, %d kv heads, head_dim %d, "
           "intermediate %d, vocab %d (%.1f s to load); MFU against %.0f TFLOP/s\n",
           dev, o.model ? o.model : "random Qwen3-0.6B shape", c->hidden, c->layers, c->heads,
           c->kv_heads, c->head_dim, c->intermediate, c->vocab, gc_now() - t0, PEAK_FLOPS / 1e12);
    rc = bench_model(m, &o, &err);
    if (rc)
        fprintf(stderr, "bench_kernels_transformer: %s\n", err.msg);
    wf_tf_free(m);
    return rc ? 1 : 0;
}
