/* Feature extraction of the linear model (DESIGN §6): hashed word unigrams
 * and bigrams, lower-cased, with CJK characters as tokens of their own, in
 * separate namespaces for the query and the response, plus a few dense
 * features after the hashed space. One pass over each text, no allocation:
 * indices go to a sink in chunks. The history is not used (see README.md). */
#ifndef WF_MODEL_LINEAR_FEATURES_H
#define WF_MODEL_LINEAR_FEATURES_H

#include <stddef.h>
#include <stdint.h>

/* Bumped whenever the features change: a model trained on other features
 * scores garbage, so the loader refuses a different version. */
#define WF_LIN_FEATURE_VERSION "1"
#define WF_LIN_DENSE 8

/* Receives the features of one input. The hashed features of a namespace
 * arrive as index chunks with value 1 each; end_ns then says how many there
 * were, and they all take the value 1/sqrt(count). */
typedef struct wf_lin_sink {
    void (*chunk)(struct wf_lin_sink *s, const uint32_t *idx, size_t n);
    void (*end_ns)(struct wf_lin_sink *s, size_t count);
    void (*dense)(struct wf_lin_sink *s, uint32_t idx, float value);
} wf_lin_sink;

/* Features of (query, response) in a space of 2^hash_bits hashed indices
 * followed by WF_LIN_DENSE dense ones. */
void wf_lin_extract(int hash_bits, const char *query, size_t qlen, const char *response,
                    size_t rlen, wf_lin_sink *sink);

/* Finds the query and response in a text rendered with the default template
 * (the "## User Query" and "## Assistant Response" sections); when they are
 * not there the whole text is the response and the query is empty. */
void wf_lin_split_text(const char *text, size_t len, const char **query, size_t *qlen,
                       const char **response, size_t *rlen);

#endif
