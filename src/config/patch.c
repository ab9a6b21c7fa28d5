#include <stdio.h>
#include <string.h>

#include "config/internal.h"

int wf_config_patch_init(wf_config_patch *p, wf_error *err)
{
    p->values = json_object();
    p->kafka = json_object();
    if (!p->values || !p->kafka) {
        wf_config_patch_free(p);
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    }
    return 0;
}

void wf_config_patch_free(wf_config_patch *p)
{
    json_decref(p->values);
    json_decref(p->kafka);
    p->values = p->kafka = NULL;
}

int wf_config_patch_apply(wf_config *c, wf_config_patch *p, wf_error *err)
{
    int rc = json_object_update(c->values, p->values) || json_object_update(c->kafka, p->kafka);
    wf_config_patch_free(p);
    return rc ? wf_error_set(err, WF_ENOMEM, "out of memory") : 0;
}

/* A file that gives one key twice (nested and flat) is ambiguous: refuse it
 * rather than let the order of the document decide. */
static int put_once(json_t *obj, const char *name, const char *key, json_t *v, wf_error *err)
{
    if (json_object_get(obj, name)) {
        json_decref(v);
        return wf_error_set(err, WF_EINVAL, "configuration key '%s' is given twice", key);
    }
    if (json_object_set_new(obj, name, v) < 0)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    return 0;
}

int wf_config_patch_value(wf_config_patch *p, const char *key, json_t *v, wf_error *err)
{
    return put_once(p->values, key, key, v, err);
}

int wf_config_patch_kafka(wf_config_patch *p, const char *key, json_t *v, wf_error *err)
{
    const char *prop = key + strlen(WF_CONFIG_KAFKA_PREFIX);
    if (!*prop)
        return wf_error_set(err, WF_EINVAL, "configuration key '%s': empty librdkafka property",
                            key);
    char num[64];
    const char *text = num;
    if (json_is_string(v))
        text = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(num, sizeof num, "%.15g", json_real_value(v));
    else if (json_is_boolean(v))
        text = json_is_true(v) ? "true" : "false";
    else
        return wf_error_set(err, WF_EINVAL,
                            "configuration key '%s': expected a string, number or boolean "
                            "(librdkafka property)",
                            key);
    json_t *s = json_string(text);
    if (!s)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    return put_once(p->kafka, prop, key, s, err);
}
