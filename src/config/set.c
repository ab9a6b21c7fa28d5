#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* "a, b ,c" -> ["a","b","c"]; items are trimmed and empty items skipped, so
 * an empty value is an empty list. */
static json_t *split_list(const char *s)
{
    json_t *arr = json_array();
    while (arr && *s) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        const char *b = s, *e = end;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > b && json_array_append_new(arr, json_stringn(b, (size_t)(e - b))) < 0) {
            json_decref(arr);
            return NULL;
        }
        s = comma ? comma + 1 : end;
    }
    return arr;
}

static json_t *parse_int(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s && !*end && errno == 0)
        return json_integer(v);
    return json_string(s);
}

static json_t *parse_double(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (*s && !*end && isfinite(v))
        return json_real(v);
    return json_string(s);
}

static json_t *parse_bool(const char *s)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
        return json_false();
    return json_string(s);
}

/* Turns the text of --set into a JSON value for k; text that does not parse
 * as the key's type stays a string so that the check reports it. */
static json_t *parse_text(const wf_config_key *k, const char *s, wf_error *err)
{
    json_t *v = NULL;
    const char *p = s + strspn(s, " \t");
    switch (k->type) {
    case WF_CFG_STR:
    case WF_CFG_ENUM: v = json_string(s); break;
    case WF_CFG_INT: v = parse_int(s); break;
    case WF_CFG_DOUBLE: v = parse_double(s); break;
    case WF_CFG_BOOL: v = parse_bool(s); break;
    case WF_CFG_STRLIST:
        if (*p == '[') {
            json_error_t jerr;
            v = json_loads(s, 0, &jerr);
            if (!v) {
                wf_error_set(err, WF_EINVAL, "configuration key '%s': malformed JSON list: %s",
                             k->key, jerr.text);
                return NULL;
            }
        } else {
            v = split_list(s);
        }
        break;
    }
    if (!v)
        wf_error_set(err, WF_EINVAL, "configuration key '%s': value is not valid UTF-8", k->key);
    return v;
}

static int set_key(wf_config_patch *p, const char *key, const char *text, wf_error *err)
{
    if (wf_config_is_kafka(key)) {
        json_t *s = json_string(text);
        if (!s)
            return wf_error_set(err, WF_EINVAL, "configuration key '%s': value is not valid UTF-8",
                                key);
        int rc = wf_config_patch_kafka(p, key, s, err);
        json_decref(s);
        return rc;
    }
    const wf_config_key *k = wf_config_find_key(key);
    if (!k)
        return wf_error_set(err, WF_EINVAL,
                            wf_config_is_section(key)
                                ? "configuration key '%s' is a section: --set needs a full key"
                                : "unknown configuration key '%s'",
                            key);
    json_t *v = parse_text(k, text, err);
    if (!v)
        return err->code;
    json_t *checked = wf_config_check(k, v, err);
    json_decref(v);
    return checked ? wf_config_patch_value(p, key, checked, err) : err->code;
}

int wf_config_set(wf_config *c, const char *assignment, wf_error *err)
{
    wf_error local;
    if (!err)
        err = &local;
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return wf_error_set(err, WF_EINVAL, "--set expects key=value, got '%s'", assignment);
    char key[256];
    size_t n = (size_t)(eq - assignment);
    if (n >= sizeof key)
        return wf_error_set(err, WF_EINVAL, "configuration key '%.64s...' is too long", assignment);
    memcpy(key, assignment, n);
    key[n] = '\0';
    wf_config_patch p;
    int rc = wf_config_patch_init(&p, err);
    if (rc < 0)
        return rc;
    rc = set_key(&p, key, eq + 1, err);
    if (rc < 0) {
        wf_config_patch_free(&p);
        return rc;
    }
    return wf_config_patch_apply(c, &p, err);
}
