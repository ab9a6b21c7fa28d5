/* RFC 6901 JSON pointers, compiled once (at parser creation) and resolved
 * against parsed documents many times. */
#ifndef WF_INGEST_JPTR_H
#define WF_INGEST_JPTR_H

#include <stddef.h>

#include "ingest/json.h"

#include "wildfeed/err.h"

/* One reference token, unescaped (~1 -> '/', ~0 -> '~'). `index` is the
 * array index the token denotes, or -1 when it is not a valid index. */
typedef struct wf_jptr_tok {
    char *key;
    size_t len; /* of key */
    long index;
} wf_jptr_tok;

/* A compiled pointer; owns its tokens. No tokens means the whole document. */
typedef struct wf_jptr {
    wf_jptr_tok *toks;
    size_t ntok;
} wf_jptr;

/* Compiles text ("" or "/a/b~1c/0"). Errors (no leading '/', a '~' not
 * followed by 0 or 1) name the pointer. */
int wf_jptr_compile(wf_jptr *p, const char *text, wf_error *err);
void wf_jptr_free(wf_jptr *p);

/* The value the pointer designates in root, or NULL when absent. */
const wf_jval *wf_jptr_get(const wf_jptr *p, const wf_jval *root);

#endif
