/* The built-in `rules` judge: a multilingual (English, Chinese) lexicon and
 * pattern classifier of feedback messages. Precision first: when unsure it
 * says 3 (neutral). */
#ifndef WILDFEED_JUDGE_RULES_H
#define WILDFEED_JUDGE_RULES_H

#include <stddef.h>

#include "wildfeed/judge.h"

typedef struct wf_rules_result {
    int level;          /* 1..5 */
    int confident;      /* 1 when a strong cue decided it (cascade keeps these) */
    const char *reason; /* static text naming the cue */
} wf_rules_result;

/* Classifies feedback given the query and response it follows. Pure. */
void wf_rules_classify(const char *query, const char *response, const char *feedback,
                       wf_rules_result *out);

/* The judge plugin: verdicts are computed in submit() and handed back by
 * poll(); refusal validation is not offered. queue_cap bounds ready verdicts. */
wf_judge *wf_judge_rules_new(size_t queue_cap, wf_error *err);

#endif
