/* Evaluation (DESIGN §7): how well a model's ordinal output matches held-out
 * labels, and how often it prefers the chosen answer of a preference pair. */
#ifndef WILDFEED_EVAL_H
#define WILDFEED_EVAL_H

#include <stddef.h>

#include "wildfeed/model.h"
#include "wildfeed/strbuf.h"

typedef struct wf_eval_metrics {
    size_t n;          /* labelled examples */
    double accuracy;   /* most probable label == label */
    double mae;        /* mean |expected label - label|, expected = reward */
    double ece;        /* expected calibration error, 15 equal-width bins of confidence */
    double auc;        /* ROC-AUC of the reward, good (3-4) vs bad (1-2), across samples */
    double spearman;   /* rank correlation of reward and label (ties averaged) */
    size_t pairs;      /* preference pairs scored; 0 when no set */
    double pairwise;   /* share of pairs where chosen scores above rejected */
} wf_eval_metrics;

/* A preference set: pairs of model inputs, owned by the set. */
typedef struct wf_pref_set wf_pref_set;

/* Reads JSONL of {"prompt","chosen","rejected"} (responses to one prompt) or
 * HH-RLHF's {"chosen","rejected"} transcripts ("\n\nHuman: ...\n\nAssistant:
 * ..."; the last assistant turn is the response, the turns before it the
 * history and query). .gz is read too. Bad lines are counted, not fatal. */
int wf_pref_load(const char *path, wf_pref_set **out, size_t *bad_lines, wf_error *err);
size_t wf_pref_count(const wf_pref_set *s);
void wf_pref_free(wf_pref_set *s);

/* Scores examples (and prefs when non-NULL) with m and fills out. */
int wf_eval_run(const wf_model *m, const wf_example *ex, size_t n, const wf_pref_set *prefs,
                wf_eval_metrics *out, wf_error *err);

/* The metrics as one JSON object / as aligned text lines. */
void wf_eval_metrics_json(const wf_eval_metrics *m, wf_strbuf *out);
void wf_eval_metrics_text(const wf_eval_metrics *m, wf_strbuf *out);

#endif
