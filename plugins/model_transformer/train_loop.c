/* The training loop shared by the CPU and CUDA engines: seeded shuffles,
 * micro-batches accumulated into optimiser steps, the learning-rate
 * schedule, an eval loss after each epoch, and the best epoch kept. The
 * loop owns the order of everything, so an engine only does arithmetic and
 * a run is determined by the seed and the data. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_transformer/dropout.h"
#include "model_transformer/train.h"

typedef struct loop {
    const wf_tf_train_opts *o;
    wf_tf_optim_opts optim; /* o->optim with total_steps filled in */
    wf_tf_engine eng;
    const wf_tf_seq *train, *eval;
    size_t n_train, n_eval;
    size_t *perm;           /* [n_train] */
    const int32_t **ids;    /* [micro_batch]: one micro-batch's view */
    size_t *lens;           /* [micro_batch] */
    int *labels;            /* [micro_batch] */
    float *logits;          /* [micro_batch * 3] */
    size_t step, micro;     /* optimiser steps and micro-batches so far */
    uint64_t shuffle_state; /* the shuffle's generator */
} loop;

static int check_seqs(const wf_tf_seq *s, size_t n, const char *which, wf_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i].label < 1 || s[i].label > WF_LABELS)
            return wf_error_set(err, WF_EINVAL,
                                "transformer train: %s sample %zu has label %d, not 1..4", which, i,
                                s[i].label);
        if (s[i].len < 1 || !s[i].ids)
            return wf_error_set(err, WF_EINVAL, "transformer train: %s sample %zu has no tokens",
                                which, i);
    }
    return 0;
}

static int check_args(const wf_tf_seq *train, size_t n_train, const wf_tf_seq *eval, size_t n_eval,
                      const wf_tf_train_opts *o, wf_error *err)
{
    if (n_train == 0)
        return wf_error_set(err, WF_EINVAL, "transformer train: no training samples");
    if (o->epochs < 1 || o->patience < 0 || o->micro_batch < 1 || o->accum < 1)
        return wf_error_set(err, WF_EINVAL,
                            "transformer train: epochs, micro_batch and accum must be >= 1 and "
                            "patience >= 0");
    if (o->micro_batch > SIZE_MAX / o->accum)
        return wf_error_set(err, WF_EINVAL, "transformer train: micro_batch * accum overflows");
    int rc = check_seqs(train, n_train, "training", err);
    return rc ? rc : check_seqs(eval, n_eval, "eval", err);
}

static uint64_t next_random(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ull;
    return wf_tf_mix64(*s);
}

static void shuffle(loop *lp)
{
    for (size_t i = lp->n_train; i > 1; i--) {
        size_t j = (size_t)(next_random(&lp->shuffle_state) % i);
        size_t t = lp->perm[i - 1];
        lp->perm[i - 1] = lp->perm[j];
        lp->perm[j] = t;
    }
}

/* Points the micro-batch view at seqs[order[0 .. n)] (order NULL: seqs[0 ..
 * n) as they are). */
static wf_tf_batch view(loop *lp, const wf_tf_seq *seqs, const size_t *order, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const wf_tf_seq *s = &seqs[order ? order[i] : i];
        lp->ids[i] = s->ids;
        lp->lens[i] = s->len;
        lp->labels[i] = s->label;
    }
    return (wf_tf_batch){.ids = lp->ids, .lens = lp->lens, .labels = lp->labels, .n = n};
}

static int diverged(const loop *lp, const char *what, double value, wf_error *err)
{
    return wf_error_set(err, WF_ESTATE,
                        "transformer train: %s is %g at step %zu: training diverged; lower the "
                        "learning rate",
                        what, value, lp->step);
}

static int cancelled(const loop *lp, wf_error *err)
{
    if (!lp->o->cancelled || !lp->o->cancelled(lp->o->cancel_ctx))
        return 0;
    return wf_error_set(err, WF_ECANCELED, "transformer train: cancelled after %zu steps",
                        lp->step);
}

/* One optimiser step over perm[start .. end): the micro-batches' gradients
 * are scaled by 1 / (end - start), so the step follows the mean gradient
 * whatever the split. Adds the samples' losses to *loss_sum. */
static int run_step(loop *lp, size_t start, size_t end, double *loss_sum, wf_error *err)
{
    if (cancelled(lp, err))
        return WF_ECANCELED;
    float scale = (float)(1.0 / (double)(end - start));
    void *ctx = lp->eng.ctx;
    for (size_t at = start; at < end; at += lp->o->micro_batch) {
        size_t n = end - at < lp->o->micro_batch ? end - at : lp->o->micro_batch;
        wf_tf_batch b = view(lp, lp->train, lp->perm + at, n);
        uint64_t seed = wf_tf_mix64(lp->o->seed ^ wf_tf_mix64(++lp->micro));
        double loss = 0.0;
        int rc = lp->eng.ops->accumulate(ctx, &b, seed, scale, &loss, err);
        if (rc)
            return rc;
        if (!isfinite(loss))
            return diverged(lp, "the loss", loss, err);
        *loss_sum += loss;
    }
    double norm = 0.0;
    int rc = lp->eng.ops->step(ctx, wf_tf_lr_at(&lp->optim, lp->step), &norm, err);
    if (!rc && !isfinite(norm))
        return diverged(lp, "the gradient norm", norm, err);
    lp->step++;
    return rc;
}

/* One pass over the training set; *mean_loss = its mean sample loss. */
static int run_epoch(loop *lp, double *mean_loss, wf_error *err)
{
    shuffle(lp);
    size_t per_step = lp->o->micro_batch * lp->o->accum;
    double sum = 0.0;
    for (size_t start = 0; start < lp->n_train; start += per_step) {
        size_t end = lp->n_train - start < per_step ? lp->n_train : start + per_step;
        int rc = run_step(lp, start, end, &sum, err);
        if (rc)
            return rc;
    }
    *mean_loss = sum / (double)lp->n_train;
    return 0;
}

/* The mean ordinal loss over the eval set, in micro-batches. */
static int eval_loss(loop *lp, double *mean_loss, wf_error *err)
{
    double sum = 0.0;
    for (size_t at = 0; at < lp->n_eval; at += lp->o->micro_batch) {
        size_t n = lp->n_eval - at < lp->o->micro_batch ? lp->n_eval - at : lp->o->micro_batch;
        wf_tf_batch b = view(lp, lp->eval + at, NULL, n);
        int rc = lp->eng.ops->forward(lp->eng.ctx, b.ids, b.lens, n, lp->logits, err);
        if (rc)
            return rc;
        for (size_t i = 0; i < n; i++) {
            float dz[WF_LOGITS];
            sum += wf_tf_ordinal_loss(lp->logits + WF_LOGITS * i, b.labels[i], dz);
        }
    }
    *mean_loss = sum / (double)lp->n_eval;
    return 0;
}

/* The epochs. best receives the values of each epoch that improves the
 * eval loss (every epoch when there is no eval set); the run stops once
 * more than patience epochs in a row have not. */
static int run_epochs(loop *lp, wf_tf_adapter *best, wf_train_report *rep, wf_error *err)
{
    double best_loss = INFINITY;
    int stale = 0;
    for (int e = 0; e < lp->o->epochs; e++) {
        double tl = 0.0, el = 0.0;
        int rc = run_epoch(lp, &tl, err);
        if (!rc && lp->n_eval)
            rc = eval_loss(lp, &el, err);
        if (!rc && !isfinite(el)) /* else no epoch would ever count as best */
            rc = diverged(lp, "the eval loss", el, err);
        if (rc)
            return rc;
        rep->epochs_run = e + 1;
        if (!lp->n_eval || el < best_loss) {
            best_loss = el;
            stale = 0;
            rep->train_loss = tl;
            rep->eval_loss = el;
            if ((rc = lp->eng.ops->download(lp->eng.ctx, best, err)) != 0)
                return rc;
        } else if (++stale > lp->o->patience) {
            break;
        }
    }
    return 0;
}

static int loop_alloc(loop *lp, wf_error *err)
{
    size_t mb = lp->o->micro_batch;
    lp->perm = malloc(lp->n_train * sizeof *lp->perm);
    lp->ids = malloc(mb * sizeof *lp->ids);
    lp->lens = malloc(mb * sizeof *lp->lens);
    lp->labels = malloc(mb * sizeof *lp->labels);
    lp->logits = malloc(mb * WF_LOGITS * sizeof *lp->logits);
    if (!lp->perm || !lp->ids || !lp->lens || !lp->labels || !lp->logits)
        return wf_error_set(err, WF_ENOMEM, "transformer train: out of memory");
    for (size_t i = 0; i < lp->n_train; i++)
        lp->perm[i] = i;
    return 0;
}

static void loop_free(loop *lp)
{
    free(lp->perm);
    free(lp->ids);
    free(lp->lens);
    free(lp->labels);
    free(lp->logits);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* On an error after training began, ad still ends with the best values
 * kept so far (its starting values when no epoch finished). */
int wf_tf_train(wf_tf_adapter *ad, const wf_tf_seq *train, size_t n_train, const wf_tf_seq *eval,
                size_t n_eval, const wf_tf_train_opts *o, wf_tf_engine_maker make_engine,
                void *make_arg, wf_train_report *report, wf_error *err)
{
    int rc = check_args(train, n_train, eval, n_eval, o, err);
    if (rc)
        return rc;
    double t0 = now_s();
    size_t per_step = o->micro_batch * o->accum;
    loop lp = {.o = o,
               .optim = o->optim,
               .train = train,
               .eval = eval,
               .n_train = n_train,
               .n_eval = n_eval,
               .shuffle_state = o->seed};
    lp.optim.total_steps = (size_t)o->epochs * ((n_train + per_step - 1) / per_step);
    wf_tf_adapter *best = NULL;
    if ((rc = loop_alloc(&lp, err)) != 0 || (rc = wf_tf_adapter_clone(ad, &best, err)) != 0 ||
        (rc = make_engine(make_arg, ad, &lp.optim, &lp.eng, err)) != 0) {
        loop_free(&lp);
        wf_tf_adapter_free(best);
        return rc;
    }
    wf_train_report rep = {.samples = n_train};
    rc = run_epochs(&lp, best, &rep, err);
    lp.eng.ops->destroy(lp.eng.ctx);
    memcpy(ad->params, best->params, ad->n_params * sizeof *ad->params);
    wf_tf_adapter_free(best);
    loop_free(&lp);
    rep.seconds = now_s() - t0;
    if (!rc && report)
        *report = rep;
    return rc;
}
