/* Lazy Adam for the linear model: the batch gradient lives in a dense array,
 * but only the indices a batch touched are listed, updated and cleared.
 * Bias correction counts each weight's own updates: with the global step
 * count, a rare feature's first moments (m = 0.1 g, v = 0.001 g^2) would
 * give it steps three times larger than a frequent one's, and the model
 * would memorise rare n-grams before it learns the common ones. For the
 * same reason a weight's step is scaled by the share of the batch's examples
 * that hold its feature: Adam alone moves a feature seen once as far as one
 * seen in every example, and hashed n-grams are mostly seen once. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_linear/train_internal.h"

#define BETA1 0.9
#define BETA2 0.999
#define ADAM_EPS 1e-8
/* Bias corrections are tabulated up to here; beyond, 0.999^n < 1e-7. */
#define CORRECTED_STEPS 16384

/* Features of one example: indices and values, grown as needed. */
typedef struct feats {
    wf_lin_sink base;
    uint32_t *idx;
    float *val;
    size_t n, cap, ns_start;
    int oom;
} feats;

struct wf_lin_trainer {
    wf_lin *l;
    double lr, l2;
    float *m, *v, *grad, *best_w; /* n_vec * dim each */
    float best_b[WF_LOGITS];
    float mb[WF_LOGITS], vb[WF_LOGITS];
    double gb[WF_LOGITS];
    uint32_t *stamp, batch;      /* stamp[i] == batch: i is in touched */
    uint32_t *touched, *updates; /* updates[i]: Adam steps index i took */
    uint32_t *hits;              /* hits[i]: examples of this batch with index i */
    uint32_t batch_size;
    double bc1[CORRECTED_STEPS], bc2[CORRECTED_STEPS]; /* 1 - beta^n */
    size_t n_touched;
    uint32_t bias_updates;
    feats f;
};

static int grow(feats *f, size_t need)
{
    if (need <= f->cap)
        return 0;
    size_t cap = f->cap ? f->cap : 1024;
    while (cap < need)
        cap *= 2;
    uint32_t *idx = realloc(f->idx, cap * sizeof *idx);
    if (idx)
        f->idx = idx;
    float *val = idx ? realloc(f->val, cap * sizeof *val) : NULL;
    if (!val) {
        f->oom = 1;
        return -1;
    }
    f->val = val;
    f->cap = cap;
    return 0;
}

static void f_chunk(wf_lin_sink *s, const uint32_t *idx, size_t n)
{
    feats *f = (feats *)s;
    if (grow(f, f->n + n) < 0)
        return;
    memcpy(f->idx + f->n, idx, n * sizeof *idx);
    f->n += n;
}

static void f_end_ns(wf_lin_sink *s, size_t count)
{
    feats *f = (feats *)s;
    float v = count ? (float)(1.0 / sqrt((double)count)) : 0.0f;
    for (size_t i = f->ns_start; i < f->n; i++)
        f->val[i] = v;
    f->ns_start = f->n;
}

static void f_dense(wf_lin_sink *s, uint32_t idx, float value)
{
    feats *f = (feats *)s;
    if (grow(f, f->n + 1) < 0)
        return;
    f->idx[f->n] = idx;
    f->val[f->n++] = value;
    f->ns_start = f->n;
}

wf_lin_trainer *wf_lin_trainer_new(wf_lin *l, const wf_train_opts *o)
{
    wf_lin_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    size_t n = (size_t)l->n_vec * l->dim;
    t->l = l;
    t->lr = o->lr;
    t->l2 = o->l2;
    t->f.base = (wf_lin_sink){f_chunk, f_end_ns, f_dense};
    double p1 = 1.0, p2 = 1.0;
    for (int n = 0; n < CORRECTED_STEPS; n++) {
        t->bc1[n] = 1.0 - p1;
        t->bc2[n] = 1.0 - p2;
        p1 *= BETA1;
        p2 *= BETA2;
    }
    t->m = calloc(n, sizeof *t->m);
    t->v = calloc(n, sizeof *t->v);
    t->grad = calloc(n, sizeof *t->grad);
    t->best_w = calloc(n, sizeof *t->best_w);
    t->stamp = calloc(l->dim, sizeof *t->stamp);
    t->touched = malloc(l->dim * sizeof *t->touched);
    t->updates = calloc(l->dim, sizeof *t->updates);
    t->hits = calloc(l->dim, sizeof *t->hits);
    t->batch = 1;
    if (!t->m || !t->v || !t->grad || !t->best_w || !t->stamp || !t->touched || !t->updates ||
        !t->hits) {
        wf_lin_trainer_free(t);
        return NULL;
    }
    return t;
}

void wf_lin_trainer_free(wf_lin_trainer *t)
{
    if (!t)
        return;
    free(t->m);
    free(t->v);
    free(t->grad);
    free(t->best_w);
    free(t->stamp);
    free(t->touched);
    free(t->updates);
    free(t->hits);
    free(t->f.idx);
    free(t->f.val);
    free(t);
}

void wf_lin_trainer_logits(wf_lin_trainer *t, const wf_model_input *in, double z[WF_LOGITS])
{
    const wf_lin *l = t->l;
    const char *q, *r;
    size_t qlen, rlen;
    t->f.n = t->f.ns_start = 0;
    wf_lin_parts(in, &q, &qlen, &r, &rlen);
    wf_lin_extract(l->hash_bits, q, qlen, r, rlen, &t->f.base);
    double dot[WF_LOGITS] = {0};
    for (int k = 0; k < l->n_vec; k++) {
        const float *w = l->w + (size_t)k * l->dim;
        for (size_t j = 0; j < t->f.n; j++)
            dot[k] += (double)w[t->f.idx[j]] * t->f.val[j];
    }
    for (int k = 0; k < WF_LOGITS; k++)
        z[k] = dot[l->n_vec == 1 ? 0 : k] + l->b[k];
}

void wf_lin_trainer_accumulate(wf_lin_trainer *t, const double g[WF_LOGITS])
{
    const wf_lin *l = t->l;
    double shared = g[0] + g[1] + g[2]; /* CORAL: one vector feeds all three */
    t->batch_size++;
    for (int k = 0; k < WF_LOGITS; k++)
        t->gb[k] += g[k];
    for (size_t j = 0; j < t->f.n; j++) {
        uint32_t i = t->f.idx[j];
        if (t->stamp[i] != t->batch) {
            t->stamp[i] = t->batch;
            t->touched[t->n_touched++] = i;
            t->hits[i] = 0;
        }
        t->hits[i]++;
        for (int k = 0; k < l->n_vec; k++)
            t->grad[(size_t)k * l->dim + i] +=
                (float)((l->n_vec == 1 ? shared : g[k]) * t->f.val[j]);
    }
}

/* One Adam update of a weight after its n-th step; returns the change. */
static float adam(const wf_lin_trainer *t, float *m, float *v, double g, double lr, uint32_t n)
{
    *m = (float)(BETA1 * *m + (1.0 - BETA1) * g);
    *v = (float)(BETA2 * *v + (1.0 - BETA2) * g * g);
    double bc1 = n < CORRECTED_STEPS ? t->bc1[n] : 1.0, bc2 = n < CORRECTED_STEPS ? t->bc2[n] : 1.0;
    return (float)(lr * (*m / bc1) / (sqrt(*v / bc2) + ADAM_EPS));
}

void wf_lin_trainer_step(wf_lin_trainer *t)
{
    wf_lin *l = t->l;
    for (size_t j = 0; j < t->n_touched; j++) {
        uint32_t n = ++t->updates[t->touched[j]], hits = t->hits[t->touched[j]];
        double lr = t->lr * (hits < t->batch_size ? (double)hits / t->batch_size : 1.0);
        for (int k = 0; k < l->n_vec; k++) {
            size_t i = (size_t)k * l->dim + t->touched[j];
            double g = t->grad[i] + t->l2 * l->w[i];
            l->w[i] -= adam(t, &t->m[i], &t->v[i], g, lr, n);
            t->grad[i] = 0.0f;
        }
    }
    t->bias_updates++;
    for (int k = 0; k < WF_LOGITS; k++) {
        l->b[k] -= adam(t, &t->mb[k], &t->vb[k], t->gb[k], t->lr, t->bias_updates);
        t->gb[k] = 0.0;
    }
    /* CORAL's rank consistency needs b1 >= b2 >= b3. */
    for (int k = 1; l->n_vec == 1 && k < WF_LOGITS; k++)
        if (l->b[k] > l->b[k - 1])
            l->b[k] = l->b[k - 1];
    t->n_touched = 0;
    t->batch_size = 0;
    t->batch++;
}

void wf_lin_trainer_keep(wf_lin_trainer *t)
{
    memcpy(t->best_w, t->l->w, (size_t)t->l->n_vec * t->l->dim * sizeof *t->best_w);
    memcpy(t->best_b, t->l->b, sizeof t->best_b);
}

void wf_lin_trainer_restore(wf_lin_trainer *t)
{
    memcpy(t->l->w, t->best_w, (size_t)t->l->n_vec * t->l->dim * sizeof *t->best_w);
    memcpy(t->l->b, t->best_b, sizeof t->best_b);
}

int wf_lin_trainer_failed(const wf_lin_trainer *t)
{
    return t->f.oom;
}
