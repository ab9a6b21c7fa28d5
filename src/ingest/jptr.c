#include "ingest/jptr.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* An array index is "0" or digits without a leading zero (RFC 6901 §4);
 * anything else ("-", "01", "1a") selects no array element. */
static long token_index(const char *s)
{
    if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
        return -1;
    long v = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9' || v > (LONG_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*c - '0');
    }
    return v;
}

/* Unescapes src[0..n) into a new string; NULL on a bad escape or OOM. */
static char *unescape_token(const char *src, size_t n, int *bad_escape)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] != '~') {
            out[o++] = src[i];
            continue;
        }
        if (i + 1 < n && (src[i + 1] == '0' || src[i + 1] == '1')) {
            out[o++] = src[i + 1] == '0' ? '~' : '/';
            i++;
            continue;
        }
        *bad_escape = 1;
        free(out);
        return NULL;
    }
    out[o] = '\0';
    return out;
}

static size_t count_tokens(const char *text)
{
    size_t n = 0;
    for (const char *c = text; *c; c++)
        n += *c == '/';
    return n;
}

int wf_jptr_compile(wf_jptr *p, const char *text, wf_error *err)
{
    p->toks = NULL;
    p->ntok = 0;
    if (text[0] == '\0')
        return 0;
    if (text[0] != '/')
        return wf_error_set(err, WF_EINVAL, "JSON pointer '%s' must be empty or start with '/'",
                            text);
    size_t n = count_tokens(text);
    p->toks = calloc(n, sizeof *p->toks);
    if (!p->toks)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    const char *start = text + 1;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(start, '/');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        int bad_escape = 0;
        char *key = unescape_token(start, len, &bad_escape);
        if (!key) {
            wf_jptr_free(p);
            if (bad_escape)
                return wf_error_set(err, WF_EINVAL,
                                    "JSON pointer '%s': '~' must be followed by 0 or 1", text);
            return wf_error_set(err, WF_ENOMEM, "out of memory");
        }
        p->toks[i].key = key;
        p->toks[i].len = strlen(key);
        p->toks[i].index = token_index(key);
        p->ntok = i + 1;
        start += len + 1;
    }
    return 0;
}

void wf_jptr_free(wf_jptr *p)
{
    for (size_t i = 0; i < p->ntok; i++)
        free(p->toks[i].key);
    free(p->toks);
    p->toks = NULL;
    p->ntok = 0;
}

const wf_jval *wf_jptr_get(const wf_jptr *p, const wf_jval *root)
{
    const wf_jval *v = root;
    for (size_t i = 0; i < p->ntok && v; i++) {
        const wf_jptr_tok *t = &p->toks[i];
        if (wf_json_is(v, WF_JSON_OBJECT))
            v = wf_json_get(v, t->key, t->len);
        else if (wf_json_is(v, WF_JSON_ARRAY) && t->index >= 0)
            v = wf_json_at(v, (size_t)t->index);
        else
            v = NULL;
    }
    return v;
}
