/* Topic similarity for hindsight mining: cosine over hashed character
 * n-gram count vectors (n-grams of code points, so Chinese works too).
 * Needs no model. */
#ifndef WF_FEEDBACK_SIMILARITY_H
#define WF_FEEDBACK_SIMILARITY_H

#include <stddef.h>

/* Cosine similarity in [0, 1] of the two texts' character n-gram vectors
 * (case-folded, whitespace runs collapsed). 0 when either text is empty. */
double wf_text_similarity(const char *a, size_t na, const char *b, size_t nb, int ngram);

#endif
