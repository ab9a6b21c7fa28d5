/* The CUDA path against the CPU reference on whole tiny models (issue 7):
 * Qwen3 (q/k norm, head_dim 128), Qwen2 (q/k/v biases, head_dim 64) and
 * Llama (4:1 grouped-query attention, llama3 RoPE scaling), each with a
 * fresh random batch of sequences of 1 to 300 tokens (crossing the 128-row
 * attention blocks). For each: logits with the base head and with a random
 * adapter whose B is non-zero; the gradient (whole, LoRA A, LoRA B, head)
 * and the loss; three engine steps from the same start; dynamic batching
 * under a small token budget; a sequence over the budget; two threads on one
 * model; and a plan too big for the card. One PASS/FAIL line per item, with
 * the measured error (gpucheck.h); bf16 paths at TOL.
 *
 * usage: check_model [SEED]   (default: the clock; printed either way) */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gpucheck.h"
#include "model_transformer/adapter.h"
#include "model_transformer/train.h"
#include "modelcheck.h"
#include "wf_cuda.h"

/* bf16 through whole models: the H200 runs measured 0.4-1.5e-2 on logits
 * (as the oracle's bf16 bound, 2e-2, against transformers) and 0.6-1.6e-2 on
 * gradients and optimiser moves, where a LoRA gradient sums bf16-rounded
 * activations over every token of the batch; a real fault gave 0.4-0.6. */
#define TOL 2e-2
#define TOL_GRAD 2.5e-2
#define SMALL_BUDGET 512
#define LOGITS 3

static const size_t LENS[] = {1, 2, 17, 64, 127, 128, 129, 255, 300};
#define NSEQ (sizeof LENS / sizeof LENS[0])

#define LLAMA3_ROPE                                                                                \
    ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,"          \
    "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":128}"

typedef struct mcase {
    const char *name;
    tiny_spec spec;
    wf_head_kind head;
} mcase;

static const mcase CASES[] = {
    {"qwen3",
     {"Qwen3ForSequenceClassification", 128, 2, 4, 2, 128, 256, 512, 3, 1, 0, NULL, 0},
     WF_HEAD_CORAL},
    {"qwen2",
     {"Qwen2ForSequenceClassification", 256, 2, 4, 2, 64, 512, 512, 3, 0, 1, NULL, 0},
     WF_HEAD_INDEPENDENT},
    {"llama",
     {"LlamaForSequenceClassification", 256, 2, 8, 2, 32, 512, 512, 3, 0, 0, LLAMA3_ROPE, 0},
     WF_HEAD_CORAL},
};

/* Parts of the flat parameter vector, for per-part errors. */
enum { PART_A = 0, PART_B, PART_HEAD, NPARTS };
static const char *const PART_NAMES[NPARTS] = {"lora_a", "lora_b", "head"};

typedef struct batch_data {
    int32_t *ids;
    const int32_t *seq[NSEQ];
    size_t lens[NSEQ];
    int labels[NSEQ];
    wf_tf_batch b;
} batch_data;

/* What every check of one model case works on. */
typedef struct ctx {
    gc_tally *t;
    const char *name;
    const wf_tf_model *m;
    wf_cuda_model *cm;
    wf_tf_adapter *ad; /* random, B non-zero */
    uint8_t *part;     /* [ad->n_params] */
    batch_data bd;
    uint64_t seed;
    float *cpu_grad;  /* [ad->n_params]: wf_tf_grad's for the batch, or NULL */
    double grad_norm; /* of cpu_grad, to make clipping bite */
} ctx;

static const char *cname(const ctx *c, const char *item, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s.%s", c->name, item);
    return buf;
}

static int fill_batch(batch_data *bd, int vocab, uint64_t *rng)
{
    size_t total = 0;
    for (size_t i = 0; i < NSEQ; i++)
        total += LENS[i];
    bd->ids = malloc(total * sizeof *bd->ids);
    if (!bd->ids)
        return -1;
    for (size_t i = 0; i < total; i++)
        bd->ids[i] = (int32_t)((gc_uniform(rng) + 1.0) * 0.5 * vocab) % vocab;
    size_t at = 0;
    for (size_t i = 0; i < NSEQ; i++) {
        bd->seq[i] = bd->ids + at;
        bd->lens[i] = LENS[i];
        bd->labels[i] = 1 + (int)(i % 4);
        at += LENS[i];
    }
    bd->b = (wf_tf_batch){bd->seq, bd->lens, bd->labels, NSEQ};
    return 0;
}

/* part[i] names the part params[i] belongs to, from the adapter's own
 * pointers (so it follows adapter.h's layout whatever it is). */
static uint8_t *part_mask(const wf_tf_adapter *ad, const wf_tf_config *cfg)
{
    uint8_t *part = malloc(ad->n_params);
    if (!part)
        return NULL;
    memset(part, PART_HEAD, ad->n_params);
    for (int l = 0; l < ad->layers; l++)
        for (int p = 0; p < WF_TF_NPROJ; p++) {
            const wf_tf_lora *lo = &ad->proj[l][p];
            if (!lo->a)
                continue;
            size_t in, out, r = (size_t)ad->lora.rank;
            wf_tf_proj_dims(cfg, (wf_tf_proj)p, &in, &out);
            memset(part + (lo->a - ad->params), PART_A, r * in);
            memset(part + (lo->b - ad->params), PART_B, out * r);
        }
    return part;
}

/* B and the head biases away from their fresh values, so that every part
 * of the adapter shows in the logits and the gradient of A is non-zero. */
static void randomize_adapter(ctx *c, uint64_t *rng)
{
    for (size_t i = 0; i < c->ad->n_params; i++)
        if (c->part[i] == PART_B)
            c->ad->params[i] = (float)(0.1 * gc_uniform(rng));
    for (int k = 0; k < LOGITS; k++)
        c->ad->head_b[k] += (float)(0.5 * gc_uniform(rng));
}

static void check_forward(ctx *c, const wf_tf_adapter *ad, const char *item)
{
    char check[96];
    cname(c, item, check, sizeof check);
    float cpu[NSEQ * LOGITS], gpu[NSEQ * LOGITS];
    wf_error err;
    wf_cuda_adapter *ca = NULL;
    if (wf_tf_forward_adapted(c->m, ad, c->bd.seq, c->bd.lens, NSEQ, cpu, &err)) {
        gc_fail(c->t, check, "cpu forward: %s", err.msg);
        return;
    }
    if (wf_cuda_adapter_upload(c->cm, ad, &ca, &err) ||
        wf_cuda_forward(c->cm, ca, c->bd.seq, c->bd.lens, NSEQ, gpu, &err))
        gc_fail(c->t, check, "cuda: %s", err.msg);
    else
        gc_report(c->t, check, gc_rel_l2(gpu, cpu, NSEQ * LOGITS), TOL,
                  "max_abs=%.3e cpu_norm=%.3e", gc_max_abs_diff(gpu, cpu, NSEQ * LOGITS),
                  gc_norm(cpu, NSEQ * LOGITS));
    if (ca)
        wf_cuda_adapter_free(ca);
}

/* got against want, whole and per part. */
static void report_parts(ctx *c, const char *what, const float *got, const float *want, double tol)
{
    char item[64], check[96];
    size_t n = c->ad->n_params;
    snprintf(item, sizeof item, "%s.all", what);
    gc_report(c->t, cname(c, item, check, sizeof check), gc_rel_l2(got, want, n), tol,
              "max_abs=%.3e n=%zu", gc_max_abs_diff(got, want, n), n);
    for (uint8_t p = 0; p < NPARTS; p++) {
        snprintf(item, sizeof item, "%s.%s", what, PART_NAMES[p]);
        gc_report(c->t, cname(c, item, check, sizeof check),
                  gc_rel_l2_part(got, want, n, c->part, p), tol, "part of %zu params", n);
    }
}

#define GRAD_SCALE (1.0f / NSEQ)

static uint64_t grad_seed(const ctx *c)
{
    return c->seed ^ 0xd7011u;
}

/* The second call adds on top of the CPU's gradient: the contract adds
 * into grad, so it must add the same values again. */
static void check_accumulates(ctx *c, const float *cpu, const float *gpu)
{
    char check[96];
    size_t n = c->ad->n_params;
    float *twice = malloc(n * sizeof *twice);
    double loss = 0;
    wf_error err;
    cname(c, "grad_accumulates", check, sizeof check);
    if (!twice) {
        gc_fail(c->t, check, "out of memory");
        return;
    }
    memcpy(twice, cpu, n * sizeof *twice);
    if (wf_cuda_grad(c->cm, c->ad, &c->bd.b, grad_seed(c), GRAD_SCALE, twice, &loss, &err)) {
        gc_fail(c->t, check, "cuda grad: %s", err.msg);
    } else {
        for (size_t i = 0; i < n; i++)
            twice[i] -= cpu[i];
        gc_report(c->t, check, gc_rel_l2(twice, gpu, n), 1e-5, "loss_again=%.6f", loss);
    }
    free(twice);
}

/* Keeps the CPU gradient in c->cpu_grad for the later checks. */
static void check_grad(ctx *c)
{
    char check[96];
    size_t n = c->ad->n_params;
    float *cpu = calloc(n, sizeof *cpu), *gpu = calloc(n, sizeof *gpu);
    double loss_cpu = 0, loss_gpu = 0;
    wf_error err;
    cname(c, "grad", check, sizeof check);
    if (!cpu || !gpu) {
        gc_fail(c->t, check, "out of memory");
        free(cpu), free(gpu);
        return;
    }
    if (wf_tf_grad(c->m, c->ad, &c->bd.b, grad_seed(c), GRAD_SCALE, cpu, &loss_cpu, &err)) {
        gc_fail(c->t, check, "cpu grad: %s", err.msg);
        free(cpu), free(gpu);
        return;
    }
    c->cpu_grad = cpu;
    c->grad_norm = wf_tf_grad_norm(cpu, n);
    if (wf_cuda_grad(c->cm, c->ad, &c->bd.b, grad_seed(c), GRAD_SCALE, gpu, &loss_gpu, &err)) {
        gc_fail(c->t, check, "cuda grad: %s", err.msg);
    } else {
        report_parts(c, "grad", gpu, cpu, TOL_GRAD);
        gc_report(c->t, cname(c, "loss", check, sizeof check),
                  fabs(loss_gpu - loss_cpu) / fabs(loss_cpu), TOL, "cpu=%.6f cuda=%.6f", loss_cpu,
                  loss_gpu);
        check_accumulates(c, cpu, gpu);
    }
    free(gpu);
}

/* wf_cuda_grad's batch over the budget: the contract leaves it open (an
 * error, or packed batches whose dropout masks go on where the last one
 * stopped); when it is accepted it must give the CPU's gradient. */
static void check_grad_split(ctx *c, wf_cuda_model *small)
{
    char check[96];
    double loss = 0;
    wf_error err = {0};
    float *g = calloc(c->ad->n_params, sizeof *g);
    int rc = g ? wf_cuda_grad(small, c->ad, &c->bd.b, grad_seed(c), GRAD_SCALE, g, &loss, &err)
               : WF_ENOMEM;
    if (rc || !c->cpu_grad)
        printf("INFO check=%s.grad_over_budget rc=%d %s\n", c->name, rc,
               rc ? err.msg : "(no CPU gradient to compare)");
    else
        gc_report(c->t, cname(c, "grad_over_budget", check, sizeof check),
                  gc_rel_l2(g, c->cpu_grad, c->ad->n_params), TOL_GRAD, "budget=%d, accepted",
                  SMALL_BUDGET);
    free(g);
}

typedef struct engine_run {
    wf_tf_adapter *ad;
    wf_tf_engine e;
    double loss[3], norm[3];
    float logits[NSEQ * LOGITS];
} engine_run;

/* Three accumulate + step rounds, then the engine's logits and values. */
static int run_engine(ctx *c, engine_run *r, wf_error *err)
{
    for (int s = 0; s < 3; s++) {
        int rc = r->e.ops->accumulate(r->e.ctx, &c->bd.b, c->seed + 100 + (uint64_t)s, 1.0f / NSEQ,
                                      &r->loss[s], err);
        if (rc || (rc = r->e.ops->step(r->e.ctx, 1e-2, &r->norm[s], err)))
            return rc;
    }
    int rc = r->e.ops->forward(r->e.ctx, c->bd.seq, c->bd.lens, NSEQ, r->logits, err);
    return rc ? rc : r->e.ops->download(r->e.ctx, r->ad, err);
}

static int start_engine(ctx *c, engine_run *r, int cuda, const wf_tf_optim_opts *o, wf_error *err)
{
    int rc = wf_tf_adapter_clone(c->ad, &r->ad, err);
    if (rc)
        return rc;
    return cuda ? wf_cuda_engine(c->cm, r->ad, o, &r->e, err)
                : wf_tf_engine_cpu(c->m, r->ad, o, &r->e, err);
}

static void stop_engine(engine_run *r)
{
    if (r->e.ops)
        r->e.ops->destroy(r->e.ctx);
    wf_tf_adapter_free(r->ad);
}

/* The parameter change of each run, against each other. */
static void compare_engines(ctx *c, engine_run *cpu, engine_run *gpu, int verdict)
{
    char check[96];
    size_t n = c->ad->n_params, agree = 0, moved = 0;
    float *dc = malloc(n * sizeof *dc), *dg = malloc(n * sizeof *dg);
    if (!dc || !dg) {
        gc_fail(c->t, cname(c, "engine", check, sizeof check), "out of memory");
        free(dc), free(dg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        dc[i] = cpu->ad->params[i] - c->ad->params[i];
        dg[i] = gpu->ad->params[i] - c->ad->params[i];
        if (dc[i] != 0.0f) {
            moved++;
            agree += (dc[i] > 0) == (dg[i] > 0);
        }
    }
    if (verdict) {
        for (int s = 0; s < 3; s++) {
            char item[64];
            snprintf(item, sizeof item, "engine.step%d.loss", s);
            gc_report(c->t, cname(c, item, check, sizeof check),
                      fabs(gpu->loss[s] - cpu->loss[s]) / fabs(cpu->loss[s]), TOL,
                      "cpu=%.6f cuda=%.6f", cpu->loss[s], gpu->loss[s]);
            snprintf(item, sizeof item, "engine.step%d.grad_norm", s);
            gc_report(c->t, cname(c, item, check, sizeof check),
                      fabs(gpu->norm[s] - cpu->norm[s]) / fabs(cpu->norm[s]), TOL,
                      "cpu=%.6e cuda=%.6e", cpu->norm[s], gpu->norm[s]);
        }
        report_parts(c, "engine.delta", dg, dc, TOL_GRAD);
        gc_report(c->t, cname(c, "engine.logits", check, sizeof check),
                  gc_rel_l2(gpu->logits, cpu->logits, NSEQ * LOGITS), TOL, "after 3 steps");
    } else {
        /* Plain AdamW moves each value by about lr whatever its gradient's
         * size, so values with a near-zero gradient may move either way:
         * a figure for the lead, not a verdict. */
        printf("INFO check=%s.engine_adam rel=%.3e sign_agree=%.4f moved=%zu/%zu\n", c->name,
               gc_rel_l2(dg, dc, n), moved ? (double)agree / moved : 0.0, moved, n);
    }
    free(dc), free(dg);
}

/* eps 1 makes AdamW's update nearly linear in the gradient, so the
 * parameter change compares to the gradient's accuracy; eps 1e-8 is the
 * real optimiser. */
static void check_engine(ctx *c, double eps, int verdict)
{
    char check[96];
    wf_tf_optim_opts o;
    wf_tf_optim_defaults(&o);
    o.lr = 1e-2;
    o.eps = eps;
    o.weight_decay = 0.01;
    o.warmup_ratio = 0.0;
    o.total_steps = 3;
    o.max_grad_norm = c->grad_norm > 0 ? 0.5 * c->grad_norm : 1.0;
    engine_run cpu = {0}, gpu = {0};
    wf_error err;
    const char *item = verdict ? "engine" : "engine_adam";
    if (start_engine(c, &cpu, 0, &o, &err) || run_engine(c, &cpu, &err))
        gc_fail(c->t, cname(c, item, check, sizeof check), "cpu engine: %s", err.msg);
    else if (start_engine(c, &gpu, 1, &o, &err) || run_engine(c, &gpu, &err))
        gc_fail(c->t, cname(c, item, check, sizeof check), "cuda engine: %s", err.msg);
    else
        compare_engines(c, &cpu, &gpu, verdict);
    stop_engine(&cpu);
    stop_engine(&gpu);
}

/* A batch over the token budget is split; each sequence scored alone must
 * give the same logits, and so must the model with the large budget. */
static void check_batching(ctx *c, wf_cuda_model *small, const wf_cuda_adapter *cs,
                           const wf_cuda_adapter *ca)
{
    char check[96];
    float split[NSEQ * LOGITS], single[NSEQ * LOGITS], big[NSEQ * LOGITS];
    wf_error err;
    int rc = wf_cuda_forward(small, cs, c->bd.seq, c->bd.lens, NSEQ, split, &err);
    for (size_t i = 0; rc == 0 && i < NSEQ; i++)
        rc =
            wf_cuda_forward(small, cs, &c->bd.seq[i], &c->bd.lens[i], 1, single + i * LOGITS, &err);
    if (rc == 0)
        rc = wf_cuda_forward(c->cm, ca, c->bd.seq, c->bd.lens, NSEQ, big, &err);
    if (rc) {
        gc_fail(c->t, cname(c, "batching", check, sizeof check), "cuda: %s", err.msg);
        return;
    }
    gc_report(c->t, cname(c, "batching.split_vs_single", check, sizeof check),
              gc_rel_l2(split, single, NSEQ * LOGITS), TOL, "budget=%d max_abs=%.3e", SMALL_BUDGET,
              gc_max_abs_diff(split, single, NSEQ * LOGITS));
    gc_report(c->t, cname(c, "batching.split_vs_one_batch", check, sizeof check),
              gc_rel_l2(split, big, NSEQ * LOGITS), TOL, "max_abs=%.3e",
              gc_max_abs_diff(split, big, NSEQ * LOGITS));
}

static void check_too_long(ctx *c, wf_cuda_model *small, const wf_cuda_adapter *cs)
{
    char check[96];
    size_t len = SMALL_BUDGET + 88;
    int32_t *ids = calloc(len, sizeof *ids);
    const int32_t *seq[1] = {ids};
    float logits[LOGITS];
    wf_error err = {0};
    int rc = ids ? wf_cuda_forward(small, cs, seq, &len, 1, logits, &err) : WF_ENOMEM;
    if (rc == WF_EINVAL)
        gc_pass(c->t, cname(c, "too_long", check, sizeof check), "len=%zu budget=%d: %s", len,
                SMALL_BUDGET, err.msg);
    else
        gc_fail(c->t, cname(c, "too_long", check, sizeof check),
                "len=%zu budget=%d: rc=%d (want WF_EINVAL) %s", len, SMALL_BUDGET, rc, err.msg);
    free(ids);
}

static void check_small_budget(ctx *c, const wf_cuda_adapter *ca)
{
    char check[96];
    wf_cuda_opts o = {.device = 0, .token_budget = SMALL_BUDGET};
    wf_cuda_model *small = NULL;
    wf_cuda_adapter *cs = NULL;
    wf_error err;
    if (wf_cuda_model_new(c->m, &o, &small, &err) ||
        wf_cuda_adapter_upload(small, c->ad, &cs, &err)) {
        gc_fail(c->t, cname(c, "small_budget", check, sizeof check), "cuda: %s", err.msg);
    } else {
        check_batching(c, small, cs, ca);
        check_too_long(c, small, cs);
        check_grad_split(c, small);
    }
    if (cs)
        wf_cuda_adapter_free(cs);
    if (small)
        wf_cuda_model_free(small);
}

typedef struct thread_arg {
    const ctx *c;
    const wf_cuda_adapter *ca;
    float logits[3][NSEQ * LOGITS];
    int rc;
    wf_error err;
} thread_arg;

static void *score_thread(void *p)
{
    thread_arg *a = p;
    for (int i = 0; i < 3 && a->rc == 0; i++)
        a->rc = wf_cuda_forward(a->c->cm, a->ca, a->c->bd.seq, a->c->bd.lens, NSEQ, a->logits[i],
                                &a->err);
    return NULL;
}

/* Calls on one model are serialised by its lock: two threads scoring at
 * once get what one thread gets. */
static void check_threads(ctx *c, const wf_cuda_adapter *ca)
{
    char check[96];
    float alone[NSEQ * LOGITS];
    wf_error err;
    thread_arg args[2];
    pthread_t th[2];
    int started[2] = {0, 0};
    if (wf_cuda_forward(c->cm, ca, c->bd.seq, c->bd.lens, NSEQ, alone, &err)) {
        gc_fail(c->t, cname(c, "threads", check, sizeof check), "cuda: %s", err.msg);
        return;
    }
    for (int i = 0; i < 2; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].c = c;
        args[i].ca = ca;
        started[i] = pthread_create(&th[i], NULL, score_thread, &args[i]) == 0;
    }
    double worst = 0.0;
    const char *failed = NULL;
    for (int i = 0; i < 2; i++) {
        if (!started[i]) {
            failed = "pthread_create failed";
            continue;
        }
        pthread_join(th[i], NULL);
        if (args[i].rc)
            failed = args[i].err.msg;
        for (int k = 0; k < 3 && !args[i].rc; k++) {
            double e = gc_rel_l2(args[i].logits[k], alone, NSEQ * LOGITS);
            worst = e <= worst ? worst : e; /* keeps a NaN */
        }
    }
    if (failed)
        gc_fail(c->t, cname(c, "threads", check, sizeof check), "%s", failed);
    else
        gc_report(c->t, cname(c, "threads", check, sizeof check), worst, 1e-6,
                  "2 threads x 3 calls against one call alone");
}

/* A plan that cannot fit any card (2^27 tokens of activations). */
static void check_enomem(gc_tally *t, const wf_tf_model *m)
{
    wf_cuda_opts o = {.device = 0, .token_budget = (size_t)1 << 27};
    wf_cuda_model *cm = NULL;
    wf_error err = {0};
    int rc = wf_cuda_model_new(m, &o, &cm, &err);
    if (rc == WF_ENOMEM)
        gc_pass(t, "enomem", "budget=%zu tokens: %s", o.token_budget, err.msg);
    else
        gc_fail(t, "enomem", "budget=%zu tokens: rc=%d (want WF_ENOMEM) %s", o.token_budget, rc,
                err.msg);
    if (cm)
        wf_cuda_model_free(cm);
}

static void run_checks(ctx *c)
{
    char check[96];
    wf_cuda_adapter *ca = NULL;
    wf_error err;
    check_forward(c, NULL, "forward_base");
    check_forward(c, c->ad, "forward_lora");
    check_grad(c);
    check_engine(c, 1.0, 1);
    check_engine(c, 1e-8, 0);
    if (wf_cuda_adapter_upload(c->cm, c->ad, &ca, &err)) {
        gc_fail(c->t, cname(c, "upload", check, sizeof check), "cuda: %s", err.msg);
        return;
    }
    check_small_budget(c, ca);
    check_threads(c, ca);
    wf_cuda_adapter_free(ca);
}

static void run_case(const mcase *mc, uint64_t seed, int first, gc_tally *t)
{
    double t0 = gc_now();
    ctx c = {.t = t, .name = mc->name, .seed = seed};
    tiny_spec spec = mc->spec;
    spec.seed = seed;
    wf_tf_model *m = NULL;
    wf_error err;
    char check[96];
    if (tiny_load(&spec, 0, &m, &err)) {
        gc_fail(t, cname(&c, "load", check, sizeof check), "%s", err.msg);
        return;
    }
    c.m = m;
    printf("model %s: %s hidden %d, %d layers, %d heads, %d kv heads, head_dim %d, "
           "intermediate %d, vocab %d, head %s\n",
           mc->name, spec.arch, spec.hidden, spec.layers, spec.heads, spec.kv_heads, spec.head_dim,
           spec.inter, spec.vocab, wf_head_name(mc->head));
    if (first)
        check_enomem(t, m);
    uint64_t rng = seed;
    wf_tf_lora_opts lo = {.rank = 8, .alpha = 16, .dropout = 0.1, .targets = 0x7f};
    wf_cuda_opts o = {.device = 0, .token_budget = 0};
    int rc = wf_tf_adapter_new(m, &lo, mc->head, seed, &c.ad, &err);
    if (rc == 0 &&
        (fill_batch(&c.bd, spec.vocab, &rng) || !(c.part = part_mask(c.ad, wf_tf_model_config(m)))))
        rc = wf_error_set(&err, WF_ENOMEM, "out of memory");
    if (rc) {
        gc_fail(t, cname(&c, "setup", check, sizeof check), "%s", err.msg);
    } else if (wf_cuda_model_new(m, &o, &c.cm, &err)) {
        gc_fail(t, cname(&c, "model_new", check, sizeof check), "%s", err.msg);
    } else {
        randomize_adapter(&c, &rng);
        run_checks(&c);
        wf_cuda_model_free(c.cm);
    }
    printf("model %s: %.1f s\n", mc->name, gc_now() - t0);
    free(c.part);
    free(c.cpu_grad);
    free(c.bd.ids);
    wf_tf_adapter_free(c.ad);
    wf_tf_free(m);
}

int main(int argc, char **argv)
{
    double t0 = gc_now();
    gc_tally t = {0};
    uint64_t seed;
    if (!mc_start(argc, argv, "check_model", &seed))
        return 0;
    printf("check_model: tolerance %.0e (gradients %.1e), lengths 1..300 (%zu sequences)\n", TOL,
           TOL_GRAD, NSEQ);
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        run_case(&CASES[i], seed + i, i == 0, &t);
    return gc_finish(&t, "check_model", t0);
}
