#include <string.h>

#include "config/internal.h"

/* The object at the dotted path's parent, created on the way. */
static json_t *parent_of(json_t *root, const char *key, const char **leaf)
{
    json_t *obj = root;
    const char *seg = key;
    for (const char *dot; obj && (dot = strchr(seg, '.')) != NULL; seg = dot + 1) {
        char name[256];
        size_t n = (size_t)(dot - seg);
        if (n >= sizeof name)
            return NULL;
        memcpy(name, seg, n);
        name[n] = '\0';
        json_t *next = json_object_get(obj, name);
        if (!next) {
            next = json_object();
            if (json_object_set_new(obj, name, next) < 0)
                return NULL;
        }
        obj = json_is_object(next) ? next : NULL;
    }
    *leaf = seg;
    return obj;
}

static json_t *nested(const wf_config *c)
{
    json_t *root = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(c->values, key, v)
    {
        const char *leaf;
        json_t *parent = parent_of(root, key, &leaf);
        if (!parent || json_object_set(parent, leaf, v) < 0) {
            json_decref(root);
            return NULL;
        }
    }
    /* librdkafka properties stay flat under "kafka": their dots are theirs. */
    if (root && json_object_size(c->kafka) &&
        json_object_set_new(root, "kafka", json_deep_copy(c->kafka)) < 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

char *wf_config_dump(const wf_config *c)
{
    json_t *root = nested(c);
    if (!root)
        return NULL;
    /* 15 significant digits print 0.05 as 0.05 and still round-trip. */
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    json_decref(root);
    return text;
}
