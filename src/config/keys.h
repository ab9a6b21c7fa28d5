/* Schema tables, one per area, so that each area adds its keys in its own
 * file. Every table ends with an entry whose key is NULL. Defaults are JSON
 * text; wf_config_new validates them like any other value. */
#ifndef WF_CONFIG_KEYS_H
#define WF_CONFIG_KEYS_H

#include "wildfeed/config.h"

/* Upper bound meaning "none" for INT keys (2^53: exact as a double). */
#define WF_CFG_NO_MAX 9007199254740992.0

#define WF_KEY_STR(k, def, help)                                                                   \
    {                                                                                              \
        k, WF_CFG_STR, def, 1, 0, NULL, help                                                       \
    }
#define WF_KEY_INT(k, def, lo, hi, help)                                                           \
    {                                                                                              \
        k, WF_CFG_INT, def, lo, hi, NULL, help                                                     \
    }
#define WF_KEY_DOUBLE(k, def, lo, hi, help)                                                        \
    {                                                                                              \
        k, WF_CFG_DOUBLE, def, lo, hi, NULL, help                                                  \
    }
#define WF_KEY_BOOL(k, def, help)                                                                  \
    {                                                                                              \
        k, WF_CFG_BOOL, def, 1, 0, NULL, help                                                      \
    }
#define WF_KEY_LIST(k, def, help)                                                                  \
    {                                                                                              \
        k, WF_CFG_STRLIST, def, 1, 0, NULL, help                                                   \
    }
#define WF_KEY_ENUM(k, def, choices, help)                                                         \
    {                                                                                              \
        k, WF_CFG_ENUM, def, 1, 0, choices, help                                                   \
    }
#define WF_KEY_END                                                                                 \
    {                                                                                              \
        NULL, WF_CFG_STR, NULL, 1, 0, NULL, NULL                                                   \
    }

extern const wf_config_key wf_keys_core[]; /* log.*, input.*, session.* */
extern const wf_config_key
    wf_keys_feedback[]; /* filter.*, hindsight.*, refusal.*, quota.*, sample.* */
extern const wf_config_key wf_keys_judge[];  /* judge.* */
extern const wf_config_key wf_keys_store[];  /* store.* */
extern const wf_config_key wf_keys_source[]; /* source.*, kafka defaults */
extern const wf_config_key wf_keys_model[];  /* model.*, train.*, server.* */

#endif
