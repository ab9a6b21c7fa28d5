/* The parser's state and its token readers, shared by json.c (structure)
 * and json_string.c (strings and numbers). Internal to the JSON parser. */
#ifndef WF_INGEST_JSON_LEX_H
#define WF_INGEST_JSON_LEX_H

#include "ingest/json.h"

typedef struct wf_jparser {
    const unsigned char *start, *p, *end;
    wf_jval *nodes;
    size_t nn, cap;
    char *out; /* next free byte of the string area */
    wf_json_error *je;
    int nomem;
    int depth;
    size_t stack[WF_JSON_MAX_DEPTH]; /* node indexes of the open containers */
} wf_jparser;

/* Records a fault found at `at`; the excerpt of the input from tok to at
 * (when tok is not NULL) is quoted in the message. Returns WF_EPARSE. */
int wf_jp_fail(wf_jparser *j, wf_json_fault fault, const unsigned char *at,
               const unsigned char *tok, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* j->p at the opening quote: decodes the string into the string area and
 * fills node. *has_nul is set when it contains U+0000. */
int wf_jp_string(wf_jparser *j, wf_jval *node, int *has_nul);
/* j->p at '-' or a digit. */
int wf_jp_number(wf_jparser *j, wf_jval *node);

/* Length of the well-formed UTF-8 sequence at s (n > 0 bytes left, s[0]
 * >= 0x80), or 0. */
size_t wf_jp_utf8_seq(const unsigned char *s, size_t n);

#endif
