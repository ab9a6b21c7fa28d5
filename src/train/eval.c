/* Scoring a model over labelled examples and a preference set, and the
 * metrics' JSON and text renderings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/eval.h"
#include "wildfeed/log.h"

/* Inputs per scoring call: big enough to amortise a backend's per-call
 * cost, small enough to keep the scratch arrays in cache. */
#define EVAL_BATCH 256

/* The model, and whether to stop: asked before every batch. */
typedef struct scorer {
    const wf_model *m;
    int (*cancelled)(void *ctx); /* may be NULL */
    void *ctx;
} scorer;

/* Scores k inputs into logits. A batch the model refuses with WF_EINVAL
 * (an input it cannot take, such as a response longer than a transformer's
 * max_len) is scored again item by item, and the refused items are marked
 * in refused: one odd sample must not fail a whole evaluation. */
static int score_batch(const scorer *sc, const wf_model_input *in, size_t k, float *logits,
                       unsigned char *refused, wf_error *err)
{
    const wf_model *m = sc->m;
    if (sc->cancelled && sc->cancelled(sc->ctx))
        return wf_error_set(err, WF_ECANCELED, "evaluation cancelled: shutting down");
    int rc = wf_model_score(m, in, k, logits, err);
    if (rc != WF_EINVAL)
        return rc;
    for (size_t i = 0; i < k; i++) {
        rc = wf_model_score(m, in + i, 1, logits + i * WF_LOGITS, err);
        if (rc == WF_EINVAL)
            refused[i] = 1;
        else if (rc < 0)
            return rc;
    }
    return 0;
}

static int score_examples(const scorer *sc, const wf_example *ex, size_t n, float *logits,
                          unsigned char *refused, wf_error *err)
{
    wf_model_input batch[EVAL_BATCH];
    for (size_t at = 0; at < n; at += EVAL_BATCH) {
        size_t k = n - at < EVAL_BATCH ? n - at : EVAL_BATCH;
        for (size_t i = 0; i < k; i++)
            batch[i] = ex[at + i].in;
        int rc = score_batch(sc, batch, k, logits + at * WF_LOGITS, refused + at, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Rewards of every chosen and rejected response; a batch holds the two
 * sides of EVAL_BATCH / 2 pairs. Returns the pairs kept (both sides
 * scored), packed at the front, or a negative error. */
static long score_prefs(const scorer *sc, const wf_pref_set *prefs, double *chosen,
                        double *rejected, wf_error *err)
{
    wf_model_input batch[EVAL_BATCH];
    float logits[EVAL_BATCH * WF_LOGITS];
    size_t n = wf_pref_count(prefs), kept = 0;
    for (size_t at = 0; at < n; at += EVAL_BATCH / 2) {
        size_t k = n - at < EVAL_BATCH / 2 ? n - at : EVAL_BATCH / 2;
        unsigned char refused[EVAL_BATCH] = {0};
        for (size_t i = 0; i < k; i++)
            wf_pref_get(prefs, at + i, &batch[2 * i], &batch[2 * i + 1]);
        int rc = score_batch(sc, batch, 2 * k, logits, refused, err);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < k; i++) {
            if (refused[2 * i] || refused[2 * i + 1])
                continue;
            chosen[kept] = wf_reward(logits + 2 * i * WF_LOGITS);
            rejected[kept++] = wf_reward(logits + (2 * i + 1) * WF_LOGITS);
        }
    }
    return (long)kept;
}

/* The metrics over the examples the model scored. */
static int eval_examples(const scorer *sc, const wf_example *ex, size_t n, wf_eval_metrics *out,
                         wf_error *err)
{
    size_t alloc_n = n ? n : 1, kept = 0;
    float *logits = malloc(alloc_n * WF_LOGITS * sizeof *logits);
    int *labels = malloc(alloc_n * sizeof *labels);
    unsigned char *refused = calloc(alloc_n, 1);
    int rc = logits && labels && refused ? 0 : wf_error_set(err, WF_ENOMEM, "out of memory");
    if (rc == 0)
        rc = score_examples(sc, ex, n, logits, refused, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (refused[i])
            continue;
        memmove(logits + kept * WF_LOGITS, logits + i * WF_LOGITS, WF_LOGITS * sizeof *logits);
        labels[kept++] = ex[i].label;
    }
    if (rc == 0)
        rc = wf_eval_metrics_compute(logits, labels, kept, out, err);
    out->refused = n - kept;
    free(logits);
    free(labels);
    free(refused);
    return rc;
}

static int eval_prefs(const scorer *sc, const wf_pref_set *prefs, wf_eval_metrics *out,
                      wf_error *err)
{
    size_t n = wf_pref_count(prefs);
    double *r = malloc(2 * (n ? n : 1) * sizeof *r);
    if (!r)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    long kept = score_prefs(sc, prefs, r, r + n, err);
    if (kept >= 0) {
        out->pairs = (size_t)kept;
        out->refused += n - (size_t)kept;
        out->pairwise = wf_eval_pairwise(r, r + n, (size_t)kept);
    }
    free(r);
    return kept < 0 ? (int)kept : 0;
}

int wf_eval_run(const wf_model *m, const wf_example *ex, size_t n, const wf_pref_set *prefs,
                wf_eval_metrics *out, wf_error *err)
{
    return wf_eval_run_until(m, ex, n, prefs, NULL, NULL, out, err);
}

int wf_eval_run_until(const wf_model *m, const wf_example *ex, size_t n, const wf_pref_set *prefs,
                      int (*cancelled)(void *ctx), void *ctx, wf_eval_metrics *out, wf_error *err)
{
    scorer sc = {m, cancelled, ctx};
    for (size_t i = 0; i < n; i++)
        if (ex[i].label < 1 || ex[i].label > WF_LABELS)
            return wf_error_set(err, WF_EINVAL, "example %zu: label %d is not 1..4", i,
                                ex[i].label);
    int rc = eval_examples(&sc, ex, n, out, err);
    if (rc == 0 && prefs)
        rc = eval_prefs(&sc, prefs, out, err);
    if (rc == 0 && out->refused) {
        char count[24];
        snprintf(count, sizeof count, "%zu", out->refused);
        wf_log(WF_LOG_WARN, "evaluation: inputs the model cannot score left out", "count", count,
               NULL);
    }
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
