#include <string.h>

#include "config/internal.h"
#include "config/keys.h"

const wf_config_key *const *wf_config_schema(void)
{
    static const wf_config_key *const tables[] = {
        wf_keys_core,     wf_keys_source, wf_keys_store, wf_keys_judge,
        wf_keys_feedback, wf_keys_model,  NULL,
    };
    return tables;
}

const wf_config_key *wf_config_find_key(const char *key)
{
    for (const wf_config_key *const *t = wf_config_schema(); *t; t++)
        for (const wf_config_key *k = *t; k->key; k++)
            if (strcmp(k->key, key) == 0)
                return k;
    return NULL;
}

int wf_config_is_section(const char *prefix)
{
    size_t n = strlen(prefix);
    for (const wf_config_key *const *t = wf_config_schema(); *t; t++)
        for (const wf_config_key *k = *t; k->key; k++)
            if (strncmp(k->key, prefix, n) == 0 && k->key[n] == '.')
                return 1;
    return 0;
}

int wf_config_is_kafka(const char *key)
{
    return strncmp(key, WF_CONFIG_KAFKA_PREFIX, strlen(WF_CONFIG_KAFKA_PREFIX)) == 0;
}
