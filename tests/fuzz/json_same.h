/* Shared by the JSON parser's differential fuzz target and unit test: the
 * tape's invariants, and value equality with a jansson document. */
#ifndef WF_TESTS_JSON_SAME_H
#define WF_TESTS_JSON_SAME_H

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/json.h"
#include "wildfeed/text.h"

/* Checks the subtree at v (aborts on a broken invariant); returns the node
 * after it. */
static const wf_jval *wf_test_check_tape(const wf_jval *v, const wf_jval *end)
{
    if (v >= end)
        abort();
    switch (wf_json_type(v)) {
    case WF_JSON_STRING:
    case WF_JSON_REAL:
        if (v->u.s[v->n] != '\0' || !wf_utf8_valid(v->u.s, v->n))
            abort();
        return v + 1;
    case WF_JSON_ARRAY:
    case WF_JSON_OBJECT: break;
    default: return v + 1;
    }
    const wf_jval *m = v + 1;
    for (uint32_t i = 0; i < v->n; i++) {
        if (wf_json_is(v, WF_JSON_OBJECT)) {
            if (!wf_json_is(m, WF_JSON_STRING) || memchr(m->u.s, '\0', m->n))
                abort();
            m = wf_test_check_tape(m, end);
        }
        m = wf_test_check_tape(m, end);
    }
    if (m != v + v->u.span)
        abort();
    return m;
}

static int wf_test_json_same(const wf_jval *v, const json_t *j)
{
    switch (wf_json_type(v)) {
    case WF_JSON_NULL: return json_is_null(j);
    case WF_JSON_TRUE: return json_is_true(j);
    case WF_JSON_FALSE: return json_is_false(j);
    case WF_JSON_INT: return json_is_integer(j) && json_integer_value(j) == v->u.i;
    case WF_JSON_REAL: return json_is_real(j) && json_real_value(j) == wf_json_number(v);
    case WF_JSON_STRING:
        return json_is_string(j) && json_string_length(j) == v->n &&
               memcmp(json_string_value(j), v->u.s, v->n) == 0;
    case WF_JSON_ARRAY:
        if (!json_is_array(j) || json_array_size(j) != v->n)
            return 0;
        for (uint32_t i = 0; i < v->n; i++)
            if (!wf_test_json_same(wf_json_at(v, i), json_array_get(j, i)))
                return 0;
        return 1;
    case WF_JSON_OBJECT: break;
    }
    if (!json_is_object(j) || json_object_size(j) != v->n)
        return 0;
    const wf_jval *k = wf_json_first(v);
    for (uint32_t i = 0; i < v->n; i++, k = wf_json_next(k + 1)) {
        const json_t *m = json_object_getn(j, k->u.s, k->n);
        if (!m || !wf_test_json_same(k + 1, m) || wf_json_get(v, k->u.s, k->n) != k + 1)
            return 0;
    }
    return 1;
}

#endif
