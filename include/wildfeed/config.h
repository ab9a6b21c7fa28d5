/* Configuration: one JSON document whose every key has a default.
 *
 * Keys are dotted names ("source.topics"). A file may nest them
 * ({"source": {"topics": [...]}}) or spell them flat; both mean the same.
 * Every key is declared in a schema table (src/config/keys_*.c) with its type,
 * default, bounds and help; unknown keys and bad values are errors that name
 * the key. Keys under "kafka." are passed to librdkafka verbatim.
 *
 * A wf_config is owned by whoever created it (wf_config_free). Getters return
 * borrowed pointers valid until the next set/load on the same config. Asking
 * for a key that is not in the schema is a programming error and aborts. */
#ifndef WILDFEED_CONFIG_H
#define WILDFEED_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/err.h"

typedef enum wf_cfg_type {
    WF_CFG_STR,
    WF_CFG_INT,
    WF_CFG_DOUBLE,
    WF_CFG_BOOL,
    WF_CFG_STRLIST, /* JSON array of strings; "a,b,c" with --set */
    WF_CFG_ENUM     /* string restricted to `choices` */
} wf_cfg_type;

typedef struct wf_config_key {
    const char *key;
    wf_cfg_type type;
    const char *def;     /* default, as JSON text: "1000", "\"rules\"", "[\"a\"]" */
    double min, max;     /* bounds for INT/DOUBLE; ignored when min > max */
    const char *choices; /* "a|b|c" for ENUM */
    const char *help;
} wf_config_key;

/* Prefix whose sub-keys are free-form strings (librdkafka properties). */
#define WF_CONFIG_KAFKA_PREFIX "kafka."

typedef struct wf_config wf_config;

wf_config *wf_config_new(void); /* every key at its default; NULL on OOM */
void wf_config_free(wf_config *c);

/* Merges a JSON file into c. Errors name the file and the key. */
int wf_config_load_file(wf_config *c, const char *path, wf_error *err);
/* Merges a JSON text (same rules as a file). */
int wf_config_load_string(wf_config *c, const char *json, wf_error *err);
/* Applies "key=value". The value is parsed per the key's type: a number, a
 * boolean (true/false/1/0), a string as written, a list as JSON array or
 * comma-separated text. */
int wf_config_set(wf_config *c, const char *assignment, wf_error *err);

/* STR and ENUM keys; for "kafka.<prop>" the property, or NULL when unset. */
const char *wf_config_str(const wf_config *c, const char *key);
int64_t wf_config_int(const wf_config *c, const char *key);
double wf_config_double(const wf_config *c, const char *key);
int wf_config_bool(const wf_config *c, const char *key);
size_t wf_config_list_len(const wf_config *c, const char *key);
const char *wf_config_list_at(const wf_config *c, const char *key, size_t i);

/* Calls fn for every "kafka.<property>" key set (defaults included), with the
 * property name without the prefix. */
void wf_config_foreach_kafka(const wf_config *c,
                             void (*fn)(void *ctx, const char *prop, const char *value), void *ctx);

/* The effective configuration as pretty JSON, nested by dots (caller frees). */
char *wf_config_dump(const wf_config *c);

/* The schema, for documentation: a NULL-key-terminated array per area. */
const wf_config_key *const *wf_config_schema(void);

#endif
