/* Candidates and samples (DESIGN §1, §4).
 *
 * A candidate is one assistant turn with the user's next message: history
 * before the query, the query, the response and the feedback. It owns all its
 * strings in a single allocation, so it can outlive the event it came from
 * (an asynchronous judge may hold it for seconds).
 *
 * A sample is a candidate with its annotation, label, source and rendered
 * model input; it owns the candidate. */
#ifndef WILDFEED_SAMPLE_H
#define WILDFEED_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/event.h"

typedef struct wf_candidate {
    char *id; /* "<conversation_id>_turn<t>" */
    const char *conversation_id;
    int turn;              /* t: user->assistant exchanges before this one, from 0 */
    int64_t response_turn; /* the log's turn number of the assistant message, or -1 */
    const char *user_id;   /* "" when unknown */
    const char *language;  /* as logged, or detected ("English", "Chinese", ...) */
    const char *model;
    int64_t created_at;    /* unix seconds */
    const wf_msg *history; /* messages before the query, system messages excluded */
    size_t n_history;
    const char *query;
    const char *response;
    const char *feedback; /* the user's next message; "" for explicit-only */
} wf_candidate;

/* Everything a candidate is built from; strings are copied. */
typedef struct wf_candidate_parts {
    const char *conversation_id;
    int turn;
    int64_t response_turn;
    const char *user_id, *language, *model;
    int64_t created_at;
    const wf_msg *history;
    size_t n_history;
    const char *query, *response, *feedback;
} wf_candidate_parts;

/* Returns a new candidate owning copies of everything, or NULL on OOM. */
wf_candidate *wf_candidate_new(const wf_candidate_parts *parts);
/* The parts of c (borrowed from it), to build a copy with wf_candidate_new. */
void wf_candidate_parts_of(const wf_candidate *c, wf_candidate_parts *p);
void wf_candidate_free(wf_candidate *c);

typedef enum wf_label_source {
    WF_SRC_RULES = 0,
    WF_SRC_LLM,
    WF_SRC_EXPLICIT,
    WF_SRC_HINDSIGHT,
    WF_SRC_REFUSAL,
    WF_SRC_COUNT
} wf_label_source;

const char *wf_label_source_name(wf_label_source s);
/* Returns the source for a name, or -1. */
int wf_label_source_parse(const char *name);

/* Annotation level (1..5) to ordinal training label (1..4); 0 for neutral (3),
 * which is never trained on. */
int wf_label_from_annotation(int annotation);

typedef struct wf_sample {
    wf_candidate *cand; /* owned */
    int annotation;     /* 1..5 */
    int label;          /* 1..4 */
    wf_label_source source;
    char reason[160]; /* the judge's reason, truncated */
    int eval;         /* 1 when the id hashes into the eval split */
    char *text;       /* rendered model input, owned */
} wf_sample;

void wf_sample_free(wf_sample *s); /* frees cand, text and s itself */

/* 1 when id falls in the eval split: a stable hash of the id below fraction. */
int wf_split_is_eval(const char *id, double eval_fraction);
/* 1 when id falls in the validation part of the train split (the trainer's
 * early stopping): a second hash of the id, independent of the first, so
 * that fraction of the train split is taken whatever the eval fraction. */
int wf_split_is_validation(const char *id, double fraction);

/* Appends one WildFB-compatible JSON line (with '\n'):
 * {"id","history","text","messages","user_feedback","label"} plus wildfeed's
 * own fields (annotation, source, reason, split, conversation_id, turn,
 * user_id, language, model, created_at) and, last, "type":"sample", which
 * marks it for input.shape auto. One format serves `wildfeed export`, the
 * fleet's samples topic and a trainer reading either (input.shape sample),
 * which takes every field but history, text and split as written. */
struct wf_strbuf;
void wf_sample_to_jsonl(const wf_sample *s, struct wf_strbuf *out);

#endif
