/* Scoring a model over labelled examples and a preference set, and the
 * metrics' JSON and text renderings. */
#include <math.h>
#include <stdlib.h>

#include "wildfeed/eval.h"

/* Inputs per scoring call: big enough to amortise a backend's per-call
 * cost, small enough to keep the scratch arrays in cache. */
#define EVAL_BATCH 256

static int score_examples(const wf_model *m, const wf_example *ex, size_t n, float *logits,
                          wf_error *err)
{
    wf_model_input batch[EVAL_BATCH];
    for (size_t at = 0; at < n; at += EVAL_BATCH) {
        size_t k = n - at < EVAL_BATCH ? n - at : EVAL_BATCH;
        for (size_t i = 0; i < k; i++)
            batch[i] = ex[at + i].in;
        int rc = wf_model_score(m, batch, k, logits + at * WF_LOGITS, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Rewards of every chosen and rejected response; a batch holds the two
 * sides of EVAL_BATCH / 2 pairs. */
static int score_prefs(const wf_model *m, const wf_pref_set *prefs, double *chosen,
                       double *rejected, wf_error *err)
{
    wf_model_input batch[EVAL_BATCH];
    float logits[EVAL_BATCH * WF_LOGITS];
    size_t n = wf_pref_count(prefs);
    for (size_t at = 0; at < n; at += EVAL_BATCH / 2) {
        size_t k = n - at < EVAL_BATCH / 2 ? n - at : EVAL_BATCH / 2;
        for (size_t i = 0; i < k; i++)
            wf_pref_get(prefs, at + i, &batch[2 * i], &batch[2 * i + 1]);
        int rc = wf_model_score(m, batch, 2 * k, logits, err);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < k; i++) {
            chosen[at + i] = wf_reward(logits + 2 * i * WF_LOGITS);
            rejected[at + i] = wf_reward(logits + (2 * i + 1) * WF_LOGITS);
        }
    }
    return 0;
}

static int eval_examples(const wf_model *m, const wf_example *ex, size_t n, wf_eval_metrics *out,
                         wf_error *err)
{
    size_t alloc_n = n ? n : 1;
    float *logits = malloc(alloc_n * WF_LOGITS * sizeof *logits);
    int *labels = malloc(alloc_n * sizeof *labels);
    int rc = logits && labels ? 0 : wf_error_set(err, WF_ENOMEM, "out of memory");
    if (rc == 0)
        rc = score_examples(m, ex, n, logits, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        labels[i] = ex[i].label;
    if (rc == 0)
        rc = wf_eval_metrics_compute(logits, labels, n, out, err);
    free(logits);
    free(labels);
    return rc;
}

static int eval_prefs(const wf_model *m, const wf_pref_set *prefs, wf_eval_metrics *out,
                      wf_error *err)
{
    size_t n = wf_pref_count(prefs);
    double *r = malloc(2 * (n ? n : 1) * sizeof *r);
    if (!r)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    int rc = score_prefs(m, prefs, r, r + n, err);
    if (rc == 0) {
        out->pairs = n;
        out->pairwise = wf_eval_pairwise(r, r + n, n);
    }
    free(r);
    return rc;
}

int wf_eval_run(const wf_model *m, const wf_example *ex, size_t n, const wf_pref_set *prefs,
                wf_eval_metrics *out, wf_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (ex[i].label < 1 || ex[i].label > WF_LABELS)
            return wf_error_set(err, WF_EINVAL, "example %zu: label %d is not 1..4", i,
                                ex[i].label);
    int rc = eval_examples(m, ex, n, out, err);
    if (rc == 0 && prefs)
        rc = eval_prefs(m, prefs, out, err);
    return rc;
}

/* NaN marks an undefined metric: null in JSON, n/a in text. */
static void json_num(wf_strbuf *b, const char *key, double v, int last)
{
    if (isnan(v))
        wf_strbuf_printf(b, "\"%s\":null%s", key, last ? "" : ",");
    else
        wf_strbuf_printf(b, "\"%s\":%.10g%s", key, v, last ? "" : ",");
}

void wf_eval_metrics_json(const wf_eval_metrics *m, wf_strbuf *out)
{
    wf_strbuf_printf(out, "{\"n\":%zu,", m->n);
    json_num(out, "accuracy", m->accuracy, 0);
    json_num(out, "mae", m->mae, 0);
    json_num(out, "ece", m->ece, 0);
    json_num(out, "auc", m->auc, 0);
    json_num(out, "spearman", m->spearman, 0);
    wf_strbuf_printf(out, "\"pairs\":%zu,", m->pairs);
    json_num(out, "pairwise", m->pairs ? m->pairwise : NAN, 1);
    wf_strbuf_putc(out, '}');
}

static void text_num(wf_strbuf *b, const char *name, double v)
{
    if (isnan(v))
        wf_strbuf_printf(b, "%-10s n/a\n", name);
    else
        wf_strbuf_printf(b, "%-10s %.4f\n", name, v);
}

void wf_eval_metrics_text(const wf_eval_metrics *m, wf_strbuf *out)
{
    wf_strbuf_printf(out, "%-10s %zu\n", "samples", m->n);
    text_num(out, "accuracy", m->accuracy);
    text_num(out, "mae", m->mae);
    text_num(out, "ece", m->ece);
    text_num(out, "auc", m->auc);
    text_num(out, "spearman", m->spearman);
    wf_strbuf_printf(out, "%-10s %zu\n", "pairs", m->pairs);
    text_num(out, "pairwise", m->pairwise);
}
