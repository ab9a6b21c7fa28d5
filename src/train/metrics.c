/* Evaluation metrics over plain arrays (DESIGN §7), so that each one can be
 * checked against values computed by hand. */
#include <math.h>
#include <stdlib.h>

#include "wildfeed/eval.h"

#define ECE_BINS 15

double wf_eval_accuracy(const float *logits, const int *labels, size_t n)
{
    if (n == 0)
        return NAN;
    size_t hits = 0;
    for (size_t i = 0; i < n; i++)
        hits += wf_predicted_label(logits + i * WF_LOGITS) == labels[i];
    return (double)hits / (double)n;
}

double wf_eval_mae(const float *logits, const int *labels, size_t n)
{
    if (n == 0)
        return NAN;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += fabs(wf_reward(logits + i * WF_LOGITS) - labels[i]);
    return sum / (double)n;
}

double wf_eval_ece(const float *logits, const int *labels, size_t n)
{
    if (n == 0)
        return NAN;
    double conf[ECE_BINS] = {0}, hits[ECE_BINS] = {0};
    size_t count[ECE_BINS] = {0};
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * WF_LOGITS;
        double p[WF_LABELS];
        wf_class_probs(z, p);
        int pred = wf_predicted_label(z);
        double c = p[pred - 1];
        int b = (int)(c * ECE_BINS);
        if (b >= ECE_BINS)
            b = ECE_BINS - 1;
        if (b < 0)
            b = 0;
        conf[b] += c;
        hits[b] += pred == labels[i];
        count[b]++;
    }
    /* sum over bins of (n_b / n) |acc_b - conf_b| = sum |hits_b - conf_b| / n */
    double ece = 0.0;
    for (int b = 0; b < ECE_BINS; b++)
        ece += fabs(hits[b] - conf[b]);
    return ece / (double)n;
}

typedef struct ranked {
    double v;
    size_t i;
} ranked;

/* NaN sorts first, so that the order stays total whatever a model emits. */
static int cmp_ranked(const void *pa, const void *pb)
{
    double a = ((const ranked *)pa)->v, b = ((const ranked *)pb)->v;
    if (isnan(a) || isnan(b))
        return !isnan(a) - !isnan(b);
    return (a > b) - (a < b);
}

/* rank[i]: the 1-based rank of v[i], tied values sharing their mean rank. */
static int average_ranks(const double *v, size_t n, double *rank, wf_error *err)
{
    ranked *r = malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return wf_error_set(err, WF_ENOMEM, "out of memory ranking %zu scores", n);
    for (size_t i = 0; i < n; i++)
        r[i] = (ranked){v[i], i};
    qsort(r, n, sizeof *r, cmp_ranked);
    for (size_t lo = 0; lo < n;) {
        size_t hi = lo + 1;
        while (hi < n && cmp_ranked(&r[lo], &r[hi]) == 0)
            hi++;
        double mean = (double)(lo + 1 + hi) / 2.0; /* ranks lo+1 .. hi */
        for (size_t k = lo; k < hi; k++)
            rank[r[k].i] = mean;
        lo = hi;
    }
    free(r);
    return 0;
}

/* Mann-Whitney: the rank sum of the good side, less its minimum, over the
 * number of good-bad pairs; average ranks make a tie count half. */
int wf_eval_auc(const double *score, const int *labels, size_t n, double *auc, wf_error *err)
{
    double *rank = malloc((n ? n : 1) * sizeof *rank);
    if (!rank)
        return wf_error_set(err, WF_ENOMEM, "out of memory ranking %zu scores", n);
    int rc = average_ranks(score, n, rank, err);
    if (rc == 0) {
        double good = 0, bad = 0, sum = 0;
        for (size_t i = 0; i < n; i++) {
            if (labels[i] >= 3) {
                good++;
                sum += rank[i];
            } else {
                bad++;
            }
        }
        *auc = good > 0 && bad > 0 ? (sum - good * (good + 1) / 2.0) / (good * bad) : NAN;
    }
    free(rank);
    return rc;
}

static double pearson(const double *x, const double *y, size_t n)
{
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

int wf_eval_spearman(const double *score, const int *labels, size_t n, double *rho, wf_error *err)
{
    if (n == 0) {
        *rho = NAN;
        return 0;
    }
    double *buf = malloc(3 * n * sizeof *buf);
    if (!buf)
        return wf_error_set(err, WF_ENOMEM, "out of memory ranking %zu scores", n);
    double *label_v = buf, *rs = buf + n, *rl = buf + 2 * n;
    for (size_t i = 0; i < n; i++)
        label_v[i] = labels[i];
    int rc = average_ranks(score, n, rs, err);
    if (rc == 0)
        rc = average_ranks(label_v, n, rl, err);
    if (rc == 0)
        *rho = pearson(rs, rl, n);
    free(buf);
    return rc;
}

double wf_eval_pairwise(const double *chosen, const double *rejected, size_t n)
{
    if (n == 0)
        return NAN;
    double wins = 0.0;
    for (size_t i = 0; i < n; i++)
        wins += chosen[i] > rejected[i] ? 1.0 : chosen[i] == rejected[i] ? 0.5 : 0.0;
    return wins / (double)n;
}

int wf_eval_metrics_compute(const float *logits, const int *labels, size_t n, wf_eval_metrics *out,
                            wf_error *err)
{
    *out = (wf_eval_metrics){.n = n, .pairs = 0, .pairwise = NAN};
    out->accuracy = wf_eval_accuracy(logits, labels, n);
    out->mae = wf_eval_mae(logits, labels, n);
    out->ece = wf_eval_ece(logits, labels, n);
    double *reward = calloc(n ? n : 1, sizeof *reward);
    if (!reward)
        return wf_error_set(err, WF_ENOMEM, "out of memory scoring %zu examples", n);
    for (size_t i = 0; i < n; i++)
        reward[i] = wf_reward(logits + i * WF_LOGITS);
    int rc = wf_eval_auc(reward, labels, n, &out->auc, err);
    if (rc == 0)
        rc = wf_eval_spearman(reward, labels, n, &out->spearman, err);
    free(reward);
    return rc;
}
