/* A strict RFC 8259 parser for input records (not a public API).
 *
 * A document is parsed into one allocation: a flat array of nodes in
 * document order (a "tape") followed by the decoded strings. Each string is
 * unescaped, length-tracked (it may hold U+0000) and NUL-terminated. A
 * container's members follow it, an object's as key node then value node;
 * `span` skips a container's whole subtree, so lookups walk siblings
 * without recursion. Nothing in a document points into the input buffer.
 *
 * Differences from jansson (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES |
 * JSON_ALLOW_NUL), which this replaced on the ingest path:
 * - an integer outside int64 is a real number (jansson refuses the
 *   document), and a real number outside double's range is accepted (its
 *   value reads as +-HUGE_VAL);
 * - nesting deeper than WF_JSON_MAX_DEPTH is refused (jansson: 2048);
 * - a raw NUL byte right after a number or a literal ("[1\0]", "true\0")
 *   is refused (jansson skips it);
 * - when a document has several faults, the one reported may differ. */
#ifndef WF_INGEST_JSON_H
#define WF_INGEST_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/err.h"

#define WF_JSON_MAX_DEPTH 256

typedef enum wf_jtype {
    WF_JSON_NULL = 0,
    WF_JSON_FALSE,
    WF_JSON_TRUE,
    WF_JSON_INT,
    WF_JSON_REAL,
    WF_JSON_STRING,
    WF_JSON_ARRAY,
    WF_JSON_OBJECT
} wf_jtype;

typedef struct wf_jval {
    uint32_t type; /* wf_jtype */
    uint32_t n;    /* string or real: bytes of text; array: elements; object: members */
    union {
        const char *s; /* string: decoded text; real: the number as written */
        int64_t i;     /* integer */
        size_t span;   /* container: nodes in its subtree, itself included */
    } u;
} wf_jval;

/* What went wrong, for the caller's reason: encoding, a NUL in a key (a
 * field-level fault), or anything else. */
typedef enum wf_json_fault {
    WF_JSON_OK = 0,
    WF_JSON_SYNTAX, /* malformed text, depth, duplicate keys, bad escapes */
    WF_JSON_UTF8,   /* raw bytes that are not UTF-8 */
    WF_JSON_NUL_KEY /* an object key containing \u0000 */
} wf_json_fault;

typedef struct wf_json_error {
    wf_json_fault fault;
    size_t pos; /* byte offset where the fault was found */
    char text[160];
} wf_json_error;

/* A parsed document: one block, owned by whoever parsed it, released with
 * free(). The root value is nodes[0]. */
typedef struct wf_json_doc {
    size_t n_nodes;
    wf_jval nodes[];
} wf_json_doc;

/* Parses buf[0..len). Returns 0 and *out, or WF_EPARSE with je filled, or
 * WF_ENOMEM (je->fault WF_JSON_OK). *out is NULL on failure. */
int wf_json_parse(const char *buf, size_t len, wf_json_doc **out, wf_json_error *je);

/* Length of the longest prefix of s[0..n) that is well-formed UTF-8: where
 * a record's first bad byte is. */
size_t wf_json_utf8_prefix(const char *s, size_t n);

static inline wf_jtype wf_json_type(const wf_jval *v)
{
    return (wf_jtype)v->type;
}
static inline int wf_json_is(const wf_jval *v, wf_jtype t)
{
    return v && v->type == (uint32_t)t;
}
static inline int wf_json_is_number(const wf_jval *v)
{
    return v && (v->type == WF_JSON_INT || v->type == WF_JSON_REAL);
}

/* Whether v is a string equal to the C string s (a string holding U+0000
 * never is). */
int wf_json_str_eq(const wf_jval *v, const char *s);

/* "object", "array", "string", "integer", "number", "boolean", "null". */
const char *wf_json_type_name(const wf_jval *v);

/* The node after v and all it contains: v's next sibling, if it has one. */
static inline const wf_jval *wf_json_next(const wf_jval *v)
{
    return v + (v->type >= WF_JSON_ARRAY ? v->u.span : 1);
}

/* A container's first element (array) or first key (object); that key's
 * value is the node after it. Only meaningful when v->n > 0. */
static inline const wf_jval *wf_json_first(const wf_jval *v)
{
    return v + 1;
}

/* An object's member named key[0..klen), or NULL (also when obj is not an
 * object). Linear in the object's members. */
const wf_jval *wf_json_get(const wf_jval *obj, const char *key, size_t klen);
/* An array's element i, or NULL (also when arr is not an array). */
const wf_jval *wf_json_at(const wf_jval *arr, size_t i);

/* An integer's or a real's value as a double (reals are converted on each
 * call, with strtod); 0 for anything else. */
double wf_json_number(const wf_jval *v);

#endif
