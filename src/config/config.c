#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

/* A default that fails its own schema is a bug in a keys_*.c table. */
static void bad_default(const wf_config_key *k, const char *why)
{
    fprintf(stderr, "wildfeed: invalid default for configuration key '%s': %s\n", k->key, why);
    abort();
}

static int add_default(wf_config_patch *p, const wf_config_key *k)
{
    json_error_t jerr;
    json_t *v = json_loads(k->def, JSON_DECODE_ANY, &jerr);
    if (!v) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return WF_ENOMEM;
        bad_default(k, jerr.text);
    }
    wf_error err;
    int rc;
    if (wf_config_is_kafka(k->key)) {
        rc = wf_config_patch_kafka(p, k->key, v, &err);
    } else {
        json_t *checked = wf_config_check(k, v, &err);
        rc = checked ? wf_config_patch_value(p, k->key, checked, &err) : err.code;
    }
    json_decref(v);
    if (rc == WF_EINVAL)
        bad_default(k, err.msg);
    return rc;
}

wf_config *wf_config_new(void)
{
    wf_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->values = json_object();
    c->kafka = json_object();
    wf_config_patch p;
    if (!c->values || !c->kafka || wf_config_patch_init(&p, NULL) < 0) {
        wf_config_free(c);
        return NULL;
    }
    int rc = 0;
    for (const wf_config_key *const *t = wf_config_schema(); *t && rc == 0; t++)
        for (const wf_config_key *k = *t; k->key && rc == 0; k++)
            rc = add_default(&p, k);
    if (rc == 0)
        rc = wf_config_patch_apply(c, &p, NULL);
    else
        wf_config_patch_free(&p);
    if (rc < 0) {
        wf_config_free(c);
        return NULL;
    }
    return c;
}

void wf_config_free(wf_config *c)
{
    if (!c)
        return;
    json_decref(c->values);
    json_decref(c->kafka);
    free(c);
}

/* Reading a key that is not in the schema, or with the wrong getter, is a
 * programming error: fail loudly rather than run on a made-up value. */
static json_t *get(const wf_config *c, const char *key, wf_cfg_type t1, wf_cfg_type t2)
{
    const wf_config_key *k = wf_config_find_key(key);
    if (!k || (k->type != t1 && k->type != t2)) {
        fprintf(stderr, "wildfeed: configuration key '%s' %s\n", key,
                k ? "read with the wrong type" : "is not in the schema");
        abort();
    }
    return json_object_get(c->values, key);
}

const char *wf_config_str(const wf_config *c, const char *key)
{
    if (wf_config_is_kafka(key))
        return json_string_value(json_object_get(c->kafka, key + strlen(WF_CONFIG_KAFKA_PREFIX)));
    return json_string_value(get(c, key, WF_CFG_STR, WF_CFG_ENUM));
}

int64_t wf_config_int(const wf_config *c, const char *key)
{
    return json_integer_value(get(c, key, WF_CFG_INT, WF_CFG_INT));
}

double wf_config_double(const wf_config *c, const char *key)
{
    return json_real_value(get(c, key, WF_CFG_DOUBLE, WF_CFG_DOUBLE));
}

int wf_config_bool(const wf_config *c, const char *key)
{
    return json_is_true(get(c, key, WF_CFG_BOOL, WF_CFG_BOOL));
}

size_t wf_config_list_len(const wf_config *c, const char *key)
{
    return json_array_size(get(c, key, WF_CFG_STRLIST, WF_CFG_STRLIST));
}

const char *wf_config_list_at(const wf_config *c, const char *key, size_t i)
{
    return json_string_value(json_array_get(get(c, key, WF_CFG_STRLIST, WF_CFG_STRLIST), i));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void wf_config_foreach_kafka(const wf_config *c,
                             void (*fn)(void *ctx, const char *prop, const char *value), void *ctx)
{
    size_t n = json_object_size(c->kafka), i = 0;
    const char **props = malloc((n ? n : 1) * sizeof *props);
    if (!props)
        return;
    const char *prop;
    json_t *v;
    json_object_foreach(c->kafka, prop, v) props[i++] = prop;
    /* Sorted, so that logs and tests see the same order every run. */
    qsort(props, n, sizeof *props, cmp_str);
    for (i = 0; i < n; i++)
        fn(ctx, props[i], json_string_value(json_object_get(c->kafka, props[i])));
    free(props);
}
