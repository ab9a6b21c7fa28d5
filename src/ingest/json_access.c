/* Reading a parsed document: lookups by key and index, type names, number
 * values. */
#include <stdlib.h>
#include <string.h>

#include "ingest/json.h"

const char *wf_json_type_name(const wf_jval *v)
{
    switch (wf_json_type(v)) {
    case WF_JSON_OBJECT: return "object";
    case WF_JSON_ARRAY: return "array";
    case WF_JSON_STRING: return "string";
    case WF_JSON_INT: return "integer";
    case WF_JSON_REAL: return "number";
    case WF_JSON_TRUE:
    case WF_JSON_FALSE: return "boolean";
    case WF_JSON_NULL: return "null";
    }
    return "unknown";
}

int wf_json_str_eq(const wf_jval *v, const char *s)
{
    return wf_json_is(v, WF_JSON_STRING) && strlen(s) == v->n && memcmp(v->u.s, s, v->n) == 0;
}

const wf_jval *wf_json_get(const wf_jval *obj, const char *key, size_t klen)
{
    if (!wf_json_is(obj, WF_JSON_OBJECT))
        return NULL;
    const wf_jval *k = wf_json_first(obj);
    for (uint32_t i = 0; i < obj->n; i++, k = wf_json_next(k + 1))
        if (k->n == klen && memcmp(k->u.s, key, klen) == 0)
            return k + 1;
    return NULL;
}

const wf_jval *wf_json_at(const wf_jval *arr, size_t i)
{
    if (!wf_json_is(arr, WF_JSON_ARRAY) || i >= arr->n)
        return NULL;
    const wf_jval *v = wf_json_first(arr);
    while (i-- > 0)
        v = wf_json_next(v);
    return v;
}

double wf_json_number(const wf_jval *v)
{
    if (wf_json_is(v, WF_JSON_INT))
        return (double)v->u.i;
    /* the text passed the JSON number grammar, which strtod reads whole */
    return wf_json_is(v, WF_JSON_REAL) ? strtod(v->u.s, NULL) : 0;
}
