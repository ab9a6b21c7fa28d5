/* A GPU that fails for good in the middle of service: the transformer
 * backend trains and scores on the GPU, then a kernel of this program
 * writes to an illegal address, which poisons the process's CUDA context
 * (every later CUDA call fails). Scoring must go on, on the CPU, with the
 * same logits to bf16 precision; the model must report itself degraded
 * (what /readyz and /metrics show); and training must be refused, over the
 * same base and over a fresh one, rather than run for days on the CPU. Its
 * own process, since nothing in it can use the GPU afterwards.
 *
 * usage: check_lost BASE_DIR   (a Hugging Face Qwen3 directory with its
 * tokenizer.json: run.sh passes the oracle's) */
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

extern "C" {
#include "gpucheck.h"
#include "wildfeed/model.h"
}

#define N_EX 16
#define TOL 2e-2

__global__ void write_to_nowhere(int *p)
{
    *p = 1;
}

static const char *const WORDS[] = {"", "wrong, that fails", "unclear, not quite", "fine, it works",
                                    "great, thanks a lot"};

static void examples(wf_example *ex, char (*texts)[96])
{
    for (int i = 0; i < N_EX; i++) {
        int label = 1 + i % 4;
        snprintf(texts[i], sizeof texts[i], "reply %d: %s", i, WORDS[label]);
        memset(&ex[i], 0, sizeof ex[i]);
        ex[i].in.text = texts[i];
        ex[i].label = label;
    }
}

static void options(wf_train_opts *o, const char *base)
{
    memset(o, 0, sizeof *o);
    o->head = WF_HEAD_CORAL;
    o->seed = 7;
    o->patience = 10;
    o->base = base;
    o->device = "cuda";
    o->max_len = 256;
    o->token_budget = 4096;
    o->lora_rank = 4;
    o->lora_alpha = 8;
    o->lora_lr = 1e-3;
    o->lora_epochs = 1;
    o->lora_micro_batch = 4;
    o->lora_accum = 1;
    o->lora_warmup_ratio = 0.1;
    o->lora_max_grad_norm = 1.0;
}

static int score(const wf_model *m, const wf_example *ex, float *z, wf_error *err)
{
    wf_model_input in[N_EX];
    for (int i = 0; i < N_EX; i++)
        in[i] = ex[i].in;
    return wf_model_score(m, in, N_EX, z, err);
}

/* Training after the fault is refused (it would take days on the CPU). */
static void expect_refused(gc_tally *t, const char *check, int rc, const wf_error *err)
{
    if (rc == WF_ESTATE)
        gc_pass(t, check, "refused: %s", err->msg);
    else
        gc_fail(t, check, "rc=%d (want WF_ESTATE) error=%s", rc, rc ? err->msg : "none");
}

/* Scoring after the fault, on the CPU; training refused. */
static void after_fault(gc_tally *t, const wf_model *m, const wf_example *ex, const float *z_gpu,
                        const wf_train_opts *o)
{
    float z[N_EX * WF_LOGITS];
    wf_error err = {0, {0}};
    if (score(m, ex, z, &err))
        gc_fail(t, "score_after_fault", "error=%s", err.msg);
    else
        gc_report(t, "score_after_fault", gc_rel_l2(z, z_gpu, N_EX * WF_LOGITS), TOL,
                  "(CPU logits against the GPU's before the fault)");
    const char *why = wf_model_degraded(m);
    if (why)
        gc_pass(t, "degraded_after_fault", "reason=\"%s\"", why);
    else
        gc_fail(t, "degraded_after_fault", "the model does not report the lost GPU");
    wf_model *next = NULL;
    expect_refused(t, "train_after_fault",
                   wf_model_train_like("transformer", m, ex, N_EX, NULL, 0, o, &next, NULL, &err),
                   &err);
    wf_model_free(next);
    /* A fresh base (other sequence limit: not shared) finds the device
     * poisoned at load, under auto too. */
    wf_train_opts fresh = *o;
    fresh.device = "auto";
    fresh.max_len = o->max_len / 2;
    expect_refused(t, "fresh_base_after_fault",
                   wf_model_train("transformer", ex, N_EX, NULL, 0, &fresh, &next, NULL, &err),
                   &err);
    wf_model_free(next);
}

int main(int argc, char **argv)
{
    gc_tally t = {0, 0};
    double t0 = gc_now();
    setvbuf(stdout, NULL, _IOLBF, 0);
    int count = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: check_lost BASE_DIR\n");
        return 2;
    }
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        printf("SKIP no CUDA device\n");
        return 2;
    }
    static char texts[N_EX][96];
    wf_example ex[N_EX];
    examples(ex, texts);
    wf_train_opts o;
    options(&o, argv[1]);
    wf_model *m = NULL;
    wf_error err = {0, {0}};
    if (wf_model_train("transformer", ex, N_EX, NULL, 0, &o, &m, NULL, &err)) {
        gc_fail(&t, "train_on_gpu", "error=%s", err.msg);
        return gc_finish(&t, "check_lost", t0);
    }
    float z_gpu[N_EX * WF_LOGITS];
    if (score(m, ex, z_gpu, &err) || wf_model_degraded(m))
        gc_fail(&t, "score_on_gpu", "error=%s degraded=%s", err.msg,
                wf_model_degraded(m) ? wf_model_degraded(m) : "no");
    else
        gc_pass(&t, "score_on_gpu", "before the fault");
    write_to_nowhere<<<1, 1>>>((int *)16);
    cudaError_t e = cudaDeviceSynchronize();
    if (e == cudaSuccess)
        gc_fail(&t, "poison", "the illegal write did not fail");
    else
        gc_pass(&t, "poison", "context poisoned: %s", cudaGetErrorName(e));
    after_fault(&t, m, ex, z_gpu, &o);
    wf_model_free(m);
    return gc_finish(&t, "check_lost", t0);
}
