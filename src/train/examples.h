/* Labelled examples that own their text, for training and evaluation: read
 * from the store's samples or from a WildFB JSONL file (as `wildfeed export`
 * writes it). items[i] borrows every string from cands[i], which is never
 * moved, so items stay valid while the set grows. The set is owned by its
 * user (wf_examples_free). */
#ifndef WF_TRAIN_EXAMPLES_H
#define WF_TRAIN_EXAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/model.h"
#include "wildfeed/sample.h"
#include "wildfeed/store.h"

typedef struct wf_examples {
    wf_example *items;    /* n examples, ready for wf_model_train / wf_eval_run */
    wf_candidate **cands; /* owned; cands[i] carries user_id, id, ... of items[i] */
    size_t n, cap;
} wf_examples;

void wf_examples_init(wf_examples *e);
/* Frees everything and leaves e empty (initialised). */
void wf_examples_free(wf_examples *e);

/* Appends a copy of the conversation in parts with label (1..4, else
 * WF_EINVAL). */
int wf_examples_add(wf_examples *e, const wf_candidate_parts *parts, int label, wf_error *err);

/* Appends the samples of split with sequence number > after_seq, in the
 * store's id order. */
int wf_examples_from_store(wf_store *s, wf_store_split split, int64_t after_seq, wf_examples *e,
                           wf_error *err);

/* Moves the examples whose id falls in the validation part
 * (wf_split_is_validation) from `from` to the end of `to`, keeping the
 * order of both; moves none when that would take all of them. WF_ENOMEM
 * moves nothing. */
int wf_examples_take_validation(wf_examples *from, double fraction, wf_examples *to, wf_error *err);

/* Appends one WildFB JSON line: "label" 1..4 and "messages" ending with the
 * user query and the assistant response; the messages before them are the
 * history, or "history" when "messages" holds only those two. WF_EPARSE
 * when the line is not such a record. */
int wf_examples_add_jsonl(wf_examples *e, const char *line, size_t len, wf_error *err);
/* Appends every good line of a JSONL file (.gz too); bad lines are counted
 * in *bad_lines (may be NULL), not fatal. */
int wf_examples_load_jsonl(const char *path, wf_examples *e, size_t *bad_lines, wf_error *err);

#endif
