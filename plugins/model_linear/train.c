/* Training of the linear model: mini-batch Adam on the mean ordinal BCE,
 * with lazy (sparse) updates: only the weights a batch touches move, so an
 * epoch costs the features it reads, not the 2^hash_bits weights. Everything
 * runs in one thread in a fixed order, so a seed and a data order give the
 * same bits. The best epoch on the eval loss is kept. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_linear/linear.h"
#include "model_linear/linear_internal.h"
#include "model_linear/train_internal.h"

static int check_opts(const wf_example *train, size_t n_train, const wf_example *eval,
                      size_t n_eval, const wf_train_opts *o, wf_error *err)
{
    if (n_train == 0)
        return wf_error_set(err, WF_EINVAL, "linear: no training samples");
    if (o->hash_bits < 10 || o->hash_bits > 26)
        return wf_error_set(err, WF_EINVAL, "linear: hash_bits %d is not 10..26", o->hash_bits);
    if (o->epochs < 1 || o->batch < 1 || o->patience < 0)
        return wf_error_set(err, WF_EINVAL, "linear: epochs and batch must be >= 1");
    if (!(o->lr > 0.0) || !isfinite(o->lr) || !(o->l2 >= 0.0) || !isfinite(o->l2))
        return wf_error_set(err, WF_EINVAL, "linear: lr must be > 0 and l2 >= 0");
    for (size_t i = 0; i < n_train + n_eval; i++) {
        int y = i < n_train ? train[i].label : eval[i - n_train].label;
        if (y < 1 || y > WF_LABELS)
            return wf_error_set(err, WF_EINVAL, "linear: %s example %zu has label %d, not 1..4",
                                i < n_train ? "training" : "eval", i < n_train ? i : i - n_train,
                                y);
    }
    return 0;
}

/* Biases start at the logits of the label prior, so the first epochs learn
 * features rather than the base rates. */
static void init_bias(wf_lin *l, const wf_example *train, size_t n)
{
    size_t above[WF_LOGITS] = {0};
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < WF_LOGITS; k++)
            above[k] += train[i].label > k + 1;
    for (int k = 0; k < WF_LOGITS; k++) {
        double p = (above[k] + 1.0) / (n + 2.0);
        l->b[k] = (float)log(p / (1.0 - p));
    }
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void shuffle(size_t *perm, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(splitmix(rng) % i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

/* Loss of one example; g[k] = dLoss/dz_k for the caller to scale. */
static double example_loss(wf_lin_trainer *t, const wf_example *ex, double g[WF_LOGITS])
{
    double z[WF_LOGITS];
    wf_lin_trainer_logits(t, &ex->in, z);
    double loss = 0.0;
    for (int k = 0; k < WF_LOGITS; k++) {
        double y = ex->label > k + 1;
        loss += fmax(z[k], 0.0) - z[k] * y + log1p(exp(-fabs(z[k])));
        g[k] = 1.0 / (1.0 + exp(-z[k])) - y;
    }
    return loss / WF_LOGITS;
}

static double run_epoch(wf_lin_trainer *t, const wf_example *train, const size_t *perm, size_t n,
                        int batch)
{
    double total = 0.0;
    for (size_t start = 0; start < n; start += (size_t)batch) {
        size_t end = start + (size_t)batch < n ? start + (size_t)batch : n;
        double scale = 1.0 / (WF_LOGITS * (double)(end - start));
        for (size_t i = start; i < end; i++) {
            double g[WF_LOGITS];
            total += example_loss(t, &train[perm[i]], g);
            for (int k = 0; k < WF_LOGITS; k++)
                g[k] *= scale;
            wf_lin_trainer_accumulate(t, g);
        }
        wf_lin_trainer_step(t);
    }
    return total / (double)n;
}

static double eval_loss(wf_lin_trainer *t, const wf_example *eval, size_t n)
{
    double total = 0.0, g[WF_LOGITS];
    for (size_t i = 0; i < n; i++)
        total += example_loss(t, &eval[i], g);
    return total / (double)n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The epochs; on return t's model holds the kept weights. 1 when cancelled
 * before the last epoch ran. */
static int train_loop(wf_lin_trainer *t, const wf_example *train, size_t n_train,
                      const wf_example *eval, size_t n_eval, const wf_train_opts *o, size_t *perm,
                      wf_train_report *rep)
{
    uint64_t rng = o->seed;
    double best = INFINITY;
    int stale = 0;
    for (size_t i = 0; i < n_train; i++)
        perm[i] = i;
    for (int e = 0; e < o->epochs; e++) {
        if (wf_train_cancelled(o))
            return 1;
        shuffle(perm, n_train, &rng);
        double tl = run_epoch(t, train, perm, n_train, o->batch);
        rep->epochs_run = e + 1;
        double el = n_eval ? eval_loss(t, eval, n_eval) : 0.0;
        if (!n_eval || el < best) {
            best = el;
            stale = 0;
            rep->train_loss = tl;
            rep->eval_loss = el;
            wf_lin_trainer_keep(t);
        } else if (++stale > o->patience) {
            break;
        }
    }
    wf_lin_trainer_restore(t);
    return 0;
}

int wf_linear_train(const wf_example *train, size_t n_train, const wf_example *eval, size_t n_eval,
                    const wf_train_opts *o, wf_model **out, wf_train_report *report, wf_error *err)
{
    *out = NULL;
    int rc = check_opts(train, n_train, eval, n_eval, o, err);
    if (rc)
        return rc;
    double t0 = now_s();
    wf_lin *l = wf_lin_new(o->head, o->hash_bits);
    wf_lin_trainer *t = l ? wf_lin_trainer_new(l, o) : NULL;
    size_t *perm = malloc(n_train * sizeof *perm);
    if (!l || !t || !perm) {
        wf_lin_trainer_free(t);
        wf_lin_free(l);
        free(perm);
        return wf_error_set(err, WF_ENOMEM, "linear: out of memory for %d hash bits", o->hash_bits);
    }
    init_bias(l, train, n_train);
    wf_train_report rep = {.samples = n_train};
    if (train_loop(t, train, n_train, eval, n_eval, o, perm, &rep))
        rc = wf_error_set(err, WF_ECANCELED, "linear: cancelled after %d epochs", rep.epochs_run);
    else if (wf_lin_trainer_failed(t))
        rc = wf_error_set(err, WF_ENOMEM, "linear: out of memory");
    wf_lin_trainer_free(t);
    free(perm);
    rep.seconds = now_s() - t0;
    if (!rc && !(*out = wf_lin_wrap(l, o->head)))
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    if (rc)
        wf_lin_free(l);
    else if (report)
        *report = rep;
    return rc;
}
