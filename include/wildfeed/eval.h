/* Evaluation (DESIGN §7): how well a model's ordinal output matches held-out
 * labels, and how often it prefers the chosen answer of a preference pair. */
#ifndef WILDFEED_EVAL_H
#define WILDFEED_EVAL_H

#include <stddef.h>

#include "wildfeed/model.h"
#include "wildfeed/strbuf.h"

typedef struct wf_eval_metrics {
    size_t n;        /* labelled examples */
    double accuracy; /* most probable label == label */
    double mae;      /* mean |expected label - label|, expected = reward */
    double ece;      /* expected calibration error, 15 equal-width bins of confidence */
    double auc;      /* ROC-AUC of the reward, good (3-4) vs bad (1-2), across samples */
    double spearman; /* rank correlation of reward and label (ties averaged) */
    size_t pairs;    /* preference pairs scored; 0 when no set */
    double pairwise; /* share of pairs where chosen scores above rejected, ties half */
    size_t refused;  /* examples and pairs left out: the model cannot score them (WF_EINVAL) */
} wf_eval_metrics;

/* The metrics as pure functions over arrays: logits[i * WF_LOGITS ..] and
 * labels[i] (1..4) of n examples, or one score per example. A metric the
 * data leaves undefined is NaN (rendered null): every one when n is 0, the
 * AUC when the good or the bad side is empty, Spearman's rho when the scores
 * or the labels are all equal, the pairwise accuracy without pairs. Ties
 * count half in the AUC and the pairwise accuracy. */
double wf_eval_accuracy(const float *logits, const int *labels, size_t n);
double wf_eval_mae(const float *logits, const int *labels, size_t n);
/* 15 bins of equal width over the predicted label's probability; a
 * confidence c falls in bin floor(15 c), 1.0 in the last. */
double wf_eval_ece(const float *logits, const int *labels, size_t n);
/* These two rank the scores, hence allocate: WF_ENOMEM. */
int wf_eval_auc(const double *score, const int *labels, size_t n, double *auc, wf_error *err);
int wf_eval_spearman(const double *score, const int *labels, size_t n, double *rho, wf_error *err);
double wf_eval_pairwise(const double *chosen, const double *rejected, size_t n);
/* n and the five sample metrics of out from logits; pairs and pairwise are
 * set to 0 and NaN. */
int wf_eval_metrics_compute(const float *logits, const int *labels, size_t n, wf_eval_metrics *out,
                            wf_error *err);

/* A preference set: pairs of model inputs, owned by the set. */
typedef struct wf_pref_set wf_pref_set;

/* Reads JSONL of {"prompt","chosen","rejected"} (responses to one prompt;
 * a prompt may itself be an HH-RLHF transcript ending with the human turn)
 * or HH-RLHF's {"chosen","rejected"} transcripts ("\n\nHuman: ...\n\nAssistant:
 * ..."; the last assistant turn is the response, the turns before it the
 * history and query; both must agree on those). .gz is read too. Bad lines
 * are counted, not fatal. */
int wf_pref_load(const char *path, wf_pref_set **out, size_t *bad_lines, wf_error *err);
/* An empty set, and one line added to it (either format): WF_EPARSE when
 * the line is not a pair, WF_ENOMEM. NULL from wf_pref_new on OOM. */
wf_pref_set *wf_pref_new(void);
int wf_pref_add_line(wf_pref_set *s, const char *line, size_t len, wf_error *err);
size_t wf_pref_count(const wf_pref_set *s);
/* Pair i as two model inputs that share the history and query; the strings
 * are borrowed from the set. */
void wf_pref_get(const wf_pref_set *s, size_t i, wf_model_input *chosen, wf_model_input *rejected);
void wf_pref_free(wf_pref_set *s);

/* Scores examples (and prefs when non-NULL) with m, in batches of at most
 * 256 inputs, and fills out. A label outside 1..4 is WF_EINVAL. An input
 * the model refuses (WF_EINVAL) is left out of the metrics and counted in
 * out->refused, with its pair; any other scoring error is passed on. */
int wf_eval_run(const wf_model *m, const wf_example *ex, size_t n, const wf_pref_set *prefs,
                wf_eval_metrics *out, wf_error *err);
/* wf_eval_run that asks cancelled(ctx) before each batch and stops with
 * WF_ECANCELED when it says so, so that a shutdown does not wait for a
 * whole eval split scored by a transformer on a CPU. */
int wf_eval_run_until(const wf_model *m, const wf_example *ex, size_t n, const wf_pref_set *prefs,
                      int (*cancelled)(void *ctx), void *ctx, wf_eval_metrics *out, wf_error *err);

/* The metrics as one JSON object {"n","accuracy","mae","ece","auc",
 * "spearman","pairs","pairwise"} (6 significant digits, undefined ones
 * null) / as aligned text lines (4 decimals, undefined ones n/a). */
void wf_eval_metrics_json(const wf_eval_metrics *m, wf_strbuf *out);
void wf_eval_metrics_text(const wf_eval_metrics *m, wf_strbuf *out);

#endif
