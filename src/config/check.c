#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/describe.h"
#include "config/internal.h"
#include "config/keys.h"

static int has_bounds(const wf_config_key *k)
{
    return k->min <= k->max;
}

void wf_config_describe(const wf_config_key *k, char *buf, size_t n)
{
    const char *name = "string";
    switch (k->type) {
    case WF_CFG_STR: break;
    case WF_CFG_INT: name = "integer"; break;
    case WF_CFG_DOUBLE: name = "number"; break;
    case WF_CFG_BOOL: name = "boolean"; break;
    case WF_CFG_STRLIST: name = "list of strings"; break;
    case WF_CFG_ENUM: snprintf(buf, n, "one of %s", k->choices); return;
    }
    if ((k->type != WF_CFG_INT && k->type != WF_CFG_DOUBLE) || !has_bounds(k))
        snprintf(buf, n, "%s", name);
    else if (k->max >= WF_CFG_NO_MAX)
        snprintf(buf, n, "%s >= %.15g", name, k->min);
    else
        snprintf(buf, n, "%s in [%.15g, %.15g]", name, k->min, k->max);
}

/* The offending value as compact JSON, cut to a readable length. */
static void show_value(json_t *v, char *buf, size_t n)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!text) {
        snprintf(buf, n, "(unprintable)");
        return;
    }
    if (strlen(text) > 60)
        snprintf(buf, n, "%.57s...", text);
    else
        snprintf(buf, n, "%s", text);
    free(text);
}

static json_t *bad_value(const wf_config_key *k, json_t *v, wf_error *err)
{
    char want[96], got[64];
    wf_config_describe(k, want, sizeof want);
    show_value(v, got, sizeof got);
    wf_error_set(err, WF_EINVAL, "configuration key '%s': expected %s, got %s", k->key, want, got);
    return NULL;
}

static int in_bounds(const wf_config_key *k, double x)
{
    return !has_bounds(k) || (x >= k->min && x <= k->max);
}

static int choice_ok(const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = choices; p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0)
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static int all_strings(json_t *v)
{
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!json_is_string(json_array_get(v, i)))
            return 0;
    return 1;
}

json_t *wf_config_check(const wf_config_key *k, json_t *v, wf_error *err)
{
    switch (k->type) {
    case WF_CFG_STR:
        if (json_is_string(v))
            return json_incref(v);
        break;
    case WF_CFG_ENUM:
        if (json_is_string(v) && choice_ok(k->choices, json_string_value(v)))
            return json_incref(v);
        break;
    case WF_CFG_INT:
        if (json_is_integer(v) && in_bounds(k, (double)json_integer_value(v)))
            return json_incref(v);
        break;
    case WF_CFG_DOUBLE:
        if (json_is_number(v) && in_bounds(k, json_number_value(v))) {
            json_t *r = json_real(json_number_value(v));
            if (!r)
                wf_error_set(err, WF_ENOMEM, "out of memory");
            return r;
        }
        break;
    case WF_CFG_BOOL:
        if (json_is_boolean(v))
            return json_incref(v);
        break;
    case WF_CFG_STRLIST:
        if (json_is_array(v) && all_strings(v))
            return json_incref(v);
        break;
    }
    return bad_value(k, v, err);
}
