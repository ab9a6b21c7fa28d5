/* Shared by the files of the config module; not part of the public API. */
#ifndef WF_CONFIG_INTERNAL_H
#define WF_CONFIG_INTERNAL_H

#include <jansson.h>

#include "wildfeed/config.h"

struct wf_config {
    json_t *values; /* schema key -> validated value; every key present */
    json_t *kafka;  /* librdkafka property (without "kafka.") -> JSON string */
};

/* Keys to apply, collected first so a failed load or set leaves the config
 * untouched. */
typedef struct wf_config_patch {
    json_t *values;
    json_t *kafka;
} wf_config_patch;

int wf_config_patch_init(wf_config_patch *p, wf_error *err);
void wf_config_patch_free(wf_config_patch *p);
/* Moves the patch into c and frees it. */
int wf_config_patch_apply(wf_config *c, wf_config_patch *p, wf_error *err);

/* Adds a schema key (steals v, which must already be checked). Errors when the
 * same key was already given in this patch. */
int wf_config_patch_value(wf_config_patch *p, const char *key, json_t *v, wf_error *err);
/* Adds a librdkafka property given as a JSON string, number or boolean
 * (borrowed); key is the full "kafka.<prop>" name for messages. */
int wf_config_patch_kafka(wf_config_patch *p, const char *key, json_t *v, wf_error *err);

const wf_config_key *wf_config_find_key(const char *key);
/* 1 when some schema key starts with prefix followed by a dot. */
int wf_config_is_section(const char *prefix);
int wf_config_is_kafka(const char *key);

/* Checks v against k's type and bounds. Returns a new reference to the value
 * as stored (numbers of DOUBLE keys become reals) or NULL after an error that
 * names the key. */
json_t *wf_config_check(const wf_config_key *k, json_t *v, wf_error *err);

#endif
