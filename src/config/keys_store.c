#include "config/keys.h"

const wf_config_key wf_keys_store[] = {
    WF_KEY_STR("store.path", "\"wildfeed.db\"",
               "SQLite file holding samples, conversation state and the model registry rows."),
    WF_KEY_ENUM("store.synchronous", "\"normal\"", "off|normal|full",
                "SQLite fsync policy: normal survives a process crash, full also a power loss, "
                "off neither."),
    WF_KEY_INT("store.batch_max", "2048", 1, 1000000,
               "Writes gathered into one store transaction before it is committed."),
    WF_KEY_INT("store.commit_interval_ms", "1000", 1, 600000,
               "Longest time a partly filled batch waits before it is committed (and its "
               "source offsets stored)."),
    WF_KEY_INT("store.busy_timeout_ms", "5000", 0, 3600000,
               "Milliseconds to wait for a store lock held by another connection."),
    WF_KEY_BOOL("store.quick_check", "false",
                "Run SQLite's quick_check at start-up; reads the whole file, so it costs time "
                "in proportion to the store's size."),
    WF_KEY_END,
};
