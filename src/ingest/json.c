/* The document structure: an iterative parser (an explicit stack of open
 * containers, so depth costs no C stack) writing the node tape. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/json_lex.h"
#include "wildfeed/text.h"

/* Keys of objects up to this size are compared pairwise; larger objects
 * are sorted, so a hostile object of many keys costs O(k log k). */
#define WF_JSON_PAIRWISE_KEYS 16
#define WF_JSON_EXCERPT 32
/* Slack after the string area for copy_plain's 16-byte stores. */
#define WF_JSON_SLACK 32

/* The input from tok to at (one character when at is tok), for a message:
 * at most WF_JSON_EXCERPT bytes, cut at a character boundary, control
 * characters shown as '?'. */
static void excerpt(char *dst, size_t cap, const unsigned char *tok, const unsigned char *at,
                    const unsigned char *end)
{
    size_t left = (size_t)(end - tok);
    size_t n = at > tok ? (size_t)(at - tok) : tok[0] < 0x80 ? 1 : wf_jp_utf8_seq(tok, left);
    if (n > left)
        n = left;
    if (n > WF_JSON_EXCERPT)
        n = WF_JSON_EXCERPT;
    while (n > 0 && !wf_utf8_valid((const char *)tok, n))
        n--;
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = tok[i] < 0x20 || tok[i] == 0x7F ? '?' : (char)tok[i];
    dst[n] = '\0';
}

int wf_jp_fail(wf_jparser *j, wf_json_fault fault, const unsigned char *at,
               const unsigned char *tok, const char *fmt, ...)
{
    wf_json_error *je = j->je;
    je->fault = fault;
    je->pos = (size_t)(at - j->start);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(je->text, sizeof je->text, fmt, ap);
    va_end(ap);
    char near[WF_JSON_EXCERPT + 1];
    if (tok && tok < j->end && n >= 0 && (size_t)n < sizeof je->text) {
        excerpt(near, sizeof near, tok, at, j->end);
        if (near[0])
            snprintf(je->text + n, sizeof je->text - (size_t)n, " near '%s'", near);
    }
    return WF_EPARSE;
}

static int next_byte(wf_jparser *j)
{
    const unsigned char *p = j->p, *end = j->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    j->p = p;
    return p < end ? *p : -1;
}

static wf_jval *new_node(wf_jparser *j)
{
    /* cap bounds the nodes any input of this length can hold */
    return j->nn < j->cap ? &j->nodes[j->nn++] : NULL;
}

static int key_cmp(const void *a, const void *b)
{
    const wf_jval *x = *(const wf_jval *const *)a, *y = *(const wf_jval *const *)b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return memcmp(x->u.s, y->u.s, x->n);
}

static const wf_jval *first_duplicate(const wf_jval **keys, size_t n)
{
    if (n <= WF_JSON_PAIRWISE_KEYS) {
        for (size_t a = 1; a < n; a++)
            for (size_t b = 0; b < a; b++)
                if (key_cmp(&keys[a], &keys[b]) == 0)
                    return keys[a];
        return NULL;
    }
    qsort(keys, n, sizeof *keys, key_cmp);
    for (size_t a = 1; a < n; a++)
        if (key_cmp(&keys[a], &keys[a - 1]) == 0)
            return keys[a];
    return NULL;
}

/* Refuses an object that names a member twice: consumers that keep the
 * first and those that keep the last would read different records. */
static int check_keys(wf_jparser *j, const wf_jval *obj)
{
    if (obj->n < 2)
        return 0;
    const wf_jval *small[WF_JSON_PAIRWISE_KEYS];
    const wf_jval **keys = small;
    if (obj->n > WF_JSON_PAIRWISE_KEYS && !(keys = malloc(obj->n * sizeof *keys))) {
        j->nomem = 1;
        return WF_ENOMEM;
    }
    const wf_jval *k = wf_json_first(obj);
    for (uint32_t i = 0; i < obj->n; i++, k = wf_json_next(k + 1))
        keys[i] = k;
    const wf_jval *dup = first_duplicate(keys, obj->n);
    if (keys != small)
        free(keys);
    if (!dup)
        return 0;
    char name[WF_JSON_EXCERPT + 1];
    excerpt(name, sizeof name, (const unsigned char *)dup->u.s,
            (const unsigned char *)dup->u.s + dup->n, (const unsigned char *)dup->u.s + dup->n);
    return wf_jp_fail(j, WF_JSON_SYNTAX, j->p, NULL, "duplicate object key '%s'", name);
}

static int open_container(wf_jparser *j, wf_jtype type)
{
    if (j->depth == WF_JSON_MAX_DEPTH)
        return wf_jp_fail(j, WF_JSON_SYNTAX, j->p, NULL, "nesting deeper than %d",
                          WF_JSON_MAX_DEPTH);
    wf_jval *v = new_node(j);
    if (!v)
        return wf_jp_fail(j, WF_JSON_SYNTAX, j->p, NULL, "too many values");
    v->type = type;
    v->n = 0;
    j->stack[j->depth++] = j->nn - 1;
    j->p++;
    return 0;
}

static int literal(wf_jparser *j, wf_jval *v, const char *word, size_t n, wf_jtype type)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return wf_jp_fail(j, WF_JSON_SYNTAX, j->p, j->p, "invalid token");
    v->type = type;
    v->n = 0;
    v->u.i = 0;
    j->p += n;
    return 0;
}

/* A scalar value at j->p (c is its first byte). */
static int scalar(wf_jparser *j, int c)
{
    wf_jval *v = new_node(j);
    int has_nul;
    if (!v)
        return wf_jp_fail(j, WF_JSON_SYNTAX, j->p, NULL, "too many values");
    switch (c) {
    case '"': return wf_jp_string(j, v, &has_nul);
    case 't': return literal(j, v, "true", 4, WF_JSON_TRUE);
    case 'f': return literal(j, v, "false", 5, WF_JSON_FALSE);
    case 'n': return literal(j, v, "null", 4, WF_JSON_NULL);
    case -1: return wf_jp_fail(j, WF_JSON_SYNTAX, j->p, NULL, "premature end of input");
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return wf_jp_number(j, v);
        return wf_jp_fail(j, WF_JSON_SYNTAX, j->p, j->p, "invalid token");
    }
}

static int member_key(wf_jparser *j, int c)
{
    if (c != '"')
        return wf_jp_fail(j, WF_JSON_SYNTAX, j->p, j->p,
                          c < 0 ? "premature end of input" : "string expected");
    wf_jval *k = new_node(j);
    int has_nul;
    if (!k)
        return wf_jp_fail(j, WF_JSON_SYNTAX, j->p, NULL, "too many values");
    const unsigned char *tok = j->p;
    if (wf_jp_string(j, k, &has_nul) < 0)
        return WF_EPARSE;
    if (has_nul)
        return wf_jp_fail(j, WF_JSON_NUL_KEY, j->p, tok, "object key contains NUL (\\u0000)");
    if (next_byte(j) != ':')
        return wf_jp_fail(j, WF_JSON_SYNTAX, j->p, j->p, "':' expected");
    j->p++;
    return 0;
}

/* After a value inside the innermost open container: a separator and the
 * next member, or the end of the container. Returns 1 when a value comes
 * next, 0 when the container closed. */
static int after_member(wf_jparser *j)
{
    wf_jval *top = &j->nodes[j->stack[j->depth - 1]];
    int c = next_byte(j);
    int is_obj = top->type == WF_JSON_OBJECT;
    if (c == ',') {
        j->p++;
        top->n++;
        if (is_obj && member_key(j, next_byte(j)) < 0)
            return WF_EPARSE;
        return 1;
    }
    if (c != (is_obj ? '}' : ']'))
        return wf_jp_fail(j, WF_JSON_SYNTAX, j->p, j->p,
                          c < 0    ? "premature end of input"
                          : is_obj ? "',' or '}' expected"
                                   : "',' or ']' expected");
    j->p++;
    top->u.span = j->nn - j->stack[--j->depth];
    return is_obj && check_keys(j, top) < 0 ? WF_EPARSE : 0;
}

/* A value, opening containers as it goes: returns 1 when a container was
 * opened and is not empty (its first member comes next), 0 otherwise. */
static int begin_value(wf_jparser *j)
{
    int c = next_byte(j);
    if (c != '{' && c != '[')
        return scalar(j, c) < 0 ? WF_EPARSE : 0;
    if (open_container(j, c == '{' ? WF_JSON_OBJECT : WF_JSON_ARRAY) < 0)
        return WF_EPARSE;
    wf_jval *top = &j->nodes[j->nn - 1];
    int close = c == '{' ? '}' : ']';
    c = next_byte(j);
    if (c == close) {
        j->p++;
        j->depth--;
        top->u.span = 1;
        return 0;
    }
    top->n = 1;
    if (top->type == WF_JSON_OBJECT && member_key(j, c) < 0)
        return WF_EPARSE;
    return 1;
}

static int parse_document(wf_jparser *j)
{
    for (;;) {
        int rc = begin_value(j);
        if (rc < 0)
            return rc;
        if (rc == 1)
            continue;
        /* a value ended: close containers until one takes another member */
        while (j->depth > 0 && (rc = after_member(j)) == 0)
            ;
        if (rc < 0)
            return rc;
        if (j->depth == 0)
            break;
    }
    if (next_byte(j) != -1)
        return wf_jp_fail(j, WF_JSON_SYNTAX, j->p, j->p, "end of input expected");
    return 0;
}

int wf_json_parse(const char *buf, size_t len, wf_json_doc **out, wf_json_error *je)
{
    *out = NULL;
    je->fault = WF_JSON_OK;
    je->pos = 0;
    je->text[0] = '\0';
    if (len >= UINT32_MAX) {
        je->fault = WF_JSON_SYNTAX;
        snprintf(je->text, sizeof je->text, "document too large");
        return WF_EPARSE;
    }
    /* A value of n nodes takes at least 2n - 1 bytes (a scalar at least
     * one, a container its brackets plus a separator between members), so
     * len / 2 + 1 nodes always suffice. A string decodes to fewer bytes than
     * its quoted text, and a number's text is followed by a byte it does
     * not need: decoded texts with their NULs fit in len + 1 bytes. */
    size_t cap = len / 2 + 1;
    wf_json_doc *doc = malloc(sizeof *doc + cap * sizeof(wf_jval) + len + 1 + WF_JSON_SLACK);
    if (!doc)
        return WF_ENOMEM;
    wf_jparser j = {.start = (const unsigned char *)buf,
                    .p = (const unsigned char *)buf,
                    .end = (const unsigned char *)buf + len,
                    .nodes = doc->nodes,
                    .cap = cap,
                    .out = (char *)(doc->nodes + cap),
                    .je = je};
    int rc = parse_document(&j);
    if (rc < 0) {
        free(doc);
        return j.nomem ? WF_ENOMEM : WF_EPARSE;
    }
    doc->n_nodes = j.nn;
    *out = doc;
    return 0;
}
