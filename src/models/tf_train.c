/* Training the transformer backend: LoRA adapters and the ordinal head on
 * a frozen base, through model_transformer's loop on the GPU when
 * model.device allows and one is found, else on the CPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/train.h"
#include "models/tf_backend.h"
#include "wildfeed/log.h"

/* Model FLOP/s of an H100's dense bf16 tensor cores, the MFU reference. */
#define TFB_PEAK_FLOPS 989e12

/* Tokenized examples: seqs[i] borrows ids[i]. */
typedef struct tok_set {
    wf_token_ids *ids;
    wf_tf_seq *seqs;
    size_t n, skipped;
} tok_set;

static void tok_set_free(tok_set *s)
{
    for (size_t i = 0; s->ids && i < s->n; i++)
        wf_token_ids_free(&s->ids[i]);
    free(s->ids);
    free(s->seqs);
    memset(s, 0, sizeof *s);
}

/* An example that cannot fit (a response longer than max_len) is left out
 * and counted, not fatal: one odd sample should not stop a retrain. */
static int tokenize_set(const wf_tfb_base *b, size_t max_len, const wf_example *ex, size_t n,
                        tok_set *out, wf_error *err)
{
    memset(out, 0, sizeof *out);
    out->ids = calloc(n ? n : 1, sizeof *out->ids);
    out->seqs = calloc(n ? n : 1, sizeof *out->seqs);
    if (!out->ids || !out->seqs)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (ex[i].label < 1 || ex[i].label > WF_LABELS)
            return wf_error_set(err, WF_EINVAL, "example %zu: label %d is not 1..4", i,
                                ex[i].label);
        wf_token_ids *ids = &out->ids[out->n];
        wf_error e = {0};
        int rc = wf_tfb_encode(b, max_len, &ex[i].in, ids, &e);
        if (rc == WF_EINVAL) {
            wf_token_ids_free(ids);
            memset(ids, 0, sizeof *ids);
            out->skipped++;
            continue;
        }
        if (rc < 0) {
            wf_token_ids_free(ids);
            return wf_error_set(err, rc, "example %zu: %s", i, e.msg);
        }
        out->seqs[out->n++] = (wf_tf_seq){ids->ids, ids->len, ex[i].label};
    }
    return 0;
}

static int lora_opts(const wf_train_opts *o, wf_tf_lora_opts *l, wf_error *err)
{
    if (o->lora_rank < 1)
        return wf_error_set(err, WF_EINVAL, "model.lora.rank: %d is not >= 1", o->lora_rank);
    if (!(o->lora_dropout >= 0 && o->lora_dropout < 1))
        return wf_error_set(err, WF_EINVAL, "model.lora.dropout: %g is not in [0, 1)",
                            o->lora_dropout);
    l->rank = o->lora_rank;
    l->alpha = o->lora_alpha;
    l->dropout = o->lora_dropout;
    wf_error e = {0};
    int rc = wf_tf_proj_parse(o->lora_targets ? o->lora_targets : "all", &l->targets, &e);
    return rc < 0 ? wf_error_set(err, rc, "model.lora.targets: %s", e.msg) : 0;
}

static int loop_opts(const wf_train_opts *o, wf_tf_train_opts *t, wf_error *err)
{
    if (o->lora_epochs < 1 || o->lora_micro_batch < 1 || o->lora_accum < 1)
        return wf_error_set(err, WF_EINVAL,
                            "train.lora.epochs, train.lora.micro_batch and train.lora.accum must "
                            "be >= 1 (got %d, %d, %d)",
                            o->lora_epochs, o->lora_micro_batch, o->lora_accum);
    memset(t, 0, sizeof *t);
    t->epochs = o->lora_epochs;
    t->patience = o->patience;
    t->micro_batch = (size_t)o->lora_micro_batch;
    t->accum = (size_t)o->lora_accum;
    t->seed = o->seed;
    wf_tf_optim_defaults(&t->optim);
    t->optim.lr = o->lora_lr;
    t->optim.weight_decay = o->lora_weight_decay;
    t->optim.warmup_ratio = o->lora_warmup_ratio;
    t->optim.max_grad_norm = o->lora_max_grad_norm;
    t->cancelled = o->cancelled;
    t->cancel_ctx = o->cancel_ctx;
    return 0;
}

/* The GPU's training plan, at WARN when the budget's activations did not
 * fit and training runs in smaller packed batches (slower, same result). */
static void log_plan(const wf_tfb_base *b, const wf_tf_engine *e)
{
    size_t tokens, bytes;
    wf_cuda_engine_plan(e, &tokens, &bytes);
    char t[24], mib[32], budget[24];
    snprintf(t, sizeof t, "%zu", tokens);
    snprintf(mib, sizeof mib, "%.1f", (double)bytes / 1048576.0);
    snprintf(budget, sizeof budget, "%zu", b->token_budget);
    int smaller = tokens < b->token_budget;
    wf_log(smaller ? WF_LOG_WARN : WF_LOG_INFO,
           smaller ? "training in packed batches smaller than model.token_budget: the budget's "
                     "activations do not fit the GPU"
                   : "training on the GPU",
           "batch_tokens", t, "token_budget", budget, "activations_mib", mib, NULL);
}

/* The engine runs where the base lives: on its GPU copy when it has one. */
static int make_engine(void *arg, wf_tf_adapter *ad, const wf_tf_optim_opts *o, wf_tf_engine *out,
                       wf_error *err)
{
    wf_tfb_base *b = arg;
    if (!b->cm)
        return wf_tf_engine_cpu(b->m, ad, o, out, err);
    int rc = wf_cuda_engine(b->cm, ad, o, out, err);
    if (rc == 0)
        log_plan(b, out);
    return rc;
}

/* Tokens per second over the whole run, and on the GPU the model FLOPs
 * utilisation (training = 3 forward passes of work). The eval passes count
 * as time but not as work, so both figures err low. */
static void log_throughput(const wf_tfb_base *b, const tok_set *tr, const tok_set *ev,
                           const wf_train_report *rep)
{
    size_t *lens = malloc((tr->n ? tr->n : 1) * sizeof *lens);
    if (!lens)
        return;
    double tokens = 0;
    for (size_t i = 0; i < tr->n; i++)
        tokens += (double)(lens[i] = tr->seqs[i].len);
    double epochs = rep->epochs_run > 0 ? rep->epochs_run : 1;
    double secs = rep->seconds > 0 ? rep->seconds : 1e-9;
    double flops = 3.0 * wf_tf_forward_flops(wf_tf_model_config(b->m), lens, tr->n) * epochs;
    free(lens);
    char dev[112] = "cpu", n_train[24], skipped[24], tps[32], loss[32], mfu[16];
    if (b->cm) {
        char name[96];
        wf_cuda_device_name(0, name, sizeof name);
        snprintf(dev, sizeof dev, "cuda:0 %s", name);
    }
    snprintf(n_train, sizeof n_train, "%zu", tr->n);
    snprintf(skipped, sizeof skipped, "%zu", tr->skipped + ev->skipped);
    snprintf(tps, sizeof tps, "%.0f", tokens * epochs / secs);
    snprintf(loss, sizeof loss, "%.4f", rep->eval_loss);
    snprintf(mfu, sizeof mfu, "%.1f%%", 100.0 * flops / secs / TFB_PEAK_FLOPS);
    wf_log(WF_LOG_INFO, "transformer trained", "device", dev, "examples", n_train,
           "skipped_too_long", skipped, "tokens_per_s", tps, "eval_loss", loss,
           b->cm ? "mfu" : NULL, mfu, NULL);
}

/* The loop itself, once the base is loaded: *out gets a model holding
 * base (the caller's reference is taken over). */
static int train_on(wf_tfb_base *b, const tok_set *tr, const tok_set *ev, const wf_train_opts *o,
                    wf_model **out, wf_train_report *report, wf_error *err)
{
    wf_tf_lora_opts lo;
    wf_tf_train_opts to;
    wf_tf_adapter *ad = NULL;
    int rc = lora_opts(o, &lo, err);
    if (rc == 0)
        rc = loop_opts(o, &to, err);
    if (rc == 0 && atomic_load(&b->gpu_lost))
        rc = wf_error_set(err, WF_ESTATE,
                          "the GPU was lost: training waits for a restart of the process "
                          "(a GPU-sized training would take days on the CPU)");
    if (rc == 0 && tr->n == 0)
        rc = wf_error_set(err, WF_EINVAL, "no training example fits max_len %zu (%zu too long)",
                          b->max_len, tr->skipped);
    if (rc == 0)
        rc = wf_tf_adapter_new(b->m, &lo, o->head, o->seed, &ad, err);
    if (rc == 0)
        rc = wf_tf_train(ad, tr->seqs, tr->n, ev->seqs, ev->n, &to, make_engine, b, report, err);
    if (rc < 0) {
        (void)wf_tfb_gpu_failed(b); /* a lost GPU is marked for the scoring that goes on */
        wf_tf_adapter_free(ad);
        wf_tfb_base_unref(b);
        return rc;
    }
    log_throughput(b, tr, ev, report);
    return wf_tfb_model_new(b, ad, b->max_len, out, err);
}

int wf_transformer_train(const wf_model *like, const wf_example *train, size_t n_train,
                         const wf_example *eval, size_t n_eval, const wf_train_opts *o,
                         wf_model **out, wf_train_report *report, wf_error *err)
{
    *out = NULL;
    wf_train_report local;
    if (!report)
        report = &local;
    wf_tfb_base_opts bo = {.dir = o->base,
                           .max_len = o->max_len,
                           .token_budget = o->token_budget,
                           .head_seed = o->seed};
    wf_tfb_base *b = NULL;
    int rc = wf_tfb_device_parse(o->device, &bo.device, err);
    if (rc == 0 && !(b = wf_tfb_base_reuse(like, &bo)))
        rc = wf_tfb_base_load(&bo, &b, err);
    if (rc < 0)
        return rc;
    tok_set tr, ev;
    memset(&ev, 0, sizeof ev);
    rc = tokenize_set(b, b->max_len, train, n_train, &tr, err);
    if (rc == 0)
        rc = tokenize_set(b, b->max_len, eval, n_eval, &ev, err);
    if (rc == 0 && tr.skipped + ev.skipped > 0) {
        char n[24];
        snprintf(n, sizeof n, "%zu", tr.skipped + ev.skipped);
        wf_log(WF_LOG_WARN, "examples longer than model.max_len left out", "count", n, NULL);
    }
    if (rc == 0)
        rc = train_on(b, &tr, &ev, o, out, report, err);
    else
        wf_tfb_base_unref(b);
    tok_set_free(&tr);
    tok_set_free(&ev);
    return rc;
}
