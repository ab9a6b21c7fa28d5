#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/internal.h"

#define KEY_MAX 256

static int join(char *out, const char *prefix, const char *name, wf_error *err)
{
    int n = prefix[0] ? snprintf(out, KEY_MAX, "%s.%s", prefix, name)
                      : snprintf(out, KEY_MAX, "%s", name);
    if (n >= KEY_MAX)
        return wf_error_set(err, WF_EINVAL, "configuration key '%.64s...' is too long", out);
    return 0;
}

/* Everything under "kafka" is a librdkafka property; nested objects spell the
 * dotted property names ({"group": {"id": ...}} is group.id). */
static int walk_kafka(wf_config_patch *p, const char *prefix, json_t *obj, wf_error *err)
{
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v)
    {
        char key[KEY_MAX];
        int rc = join(key, prefix, name, err);
        if (rc == 0)
            rc = json_is_object(v) ? walk_kafka(p, key, v, err)
                                   : wf_config_patch_kafka(p, key, v, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int take_value(wf_config_patch *p, const char *key, json_t *v, wf_error *err)
{
    if (strcmp(key, "kafka") == 0 || wf_config_is_kafka(key)) {
        if (json_is_object(v))
            return walk_kafka(p, key, v, err);
        if (strcmp(key, "kafka") == 0)
            return wf_error_set(err, WF_EINVAL,
                                "configuration key 'kafka': expected an object of librdkafka "
                                "properties");
        return wf_config_patch_kafka(p, key, v, err);
    }
    const wf_config_key *k = wf_config_find_key(key);
    if (k) {
        json_t *checked = wf_config_check(k, v, err);
        return checked ? wf_config_patch_value(p, key, checked, err) : err->code;
    }
    return 1; /* not a leaf: the caller decides between section and unknown */
}

static int walk(wf_config_patch *p, const char *prefix, json_t *obj, wf_error *err)
{
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v)
    {
        char key[KEY_MAX];
        int rc = join(key, prefix, name, err);
        if (rc < 0)
            return rc;
        rc = take_value(p, key, v, err);
        if (rc == 1 && wf_config_is_section(key))
            rc = json_is_object(v) ? walk(p, key, v, err)
                                   : wf_error_set(err, WF_EINVAL,
                                                  "configuration key '%s' is a section: expected "
                                                  "an object",
                                                  key);
        else if (rc == 1)
            rc = wf_error_set(err, WF_EINVAL, "unknown configuration key '%s'", key);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int merge(wf_config *c, json_t *doc, wf_error *err)
{
    if (!json_is_object(doc))
        return wf_error_set(err, WF_EPARSE, "configuration must be a JSON object");
    wf_config_patch p;
    int rc = wf_config_patch_init(&p, err);
    if (rc < 0)
        return rc;
    rc = walk(&p, "", doc, err);
    if (rc < 0) {
        wf_config_patch_free(&p);
        return rc;
    }
    return wf_config_patch_apply(c, &p, err);
}

int wf_config_load_string(wf_config *c, const char *json, wf_error *err)
{
    wf_error local;
    if (!err)
        err = &local;
    json_error_t jerr;
    json_t *doc = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return wf_error_set(err, WF_EPARSE, "malformed configuration JSON at line %d column %d: %s",
                            jerr.line, jerr.column, jerr.text);
    int rc = merge(c, doc, err);
    json_decref(doc);
    return rc;
}

int wf_config_load_file(wf_config *c, const char *path, wf_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return wf_error_set(err, WF_EIO, "cannot read configuration file '%s': %s", path,
                            strerror(errno));
    json_error_t jerr;
    json_t *doc = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!doc)
        return wf_error_set(err, WF_EPARSE, "%s:%d:%d: malformed configuration JSON: %s", path,
                            jerr.line, jerr.column, jerr.text);
    wf_error inner;
    int rc = merge(c, doc, &inner);
    json_decref(doc);
    if (rc < 0)
        return wf_error_set(err, rc, "%s: %s", path, inner.msg);
    return 0;
}
