#include "config/keys.h"

const wf_config_key wf_keys_model[] = {
    WF_KEY_ENUM("model.kind", "\"linear\"", "linear|transformer",
                "Reward model backend: linear (embedded, CPU) or transformer (Hugging Face "
                "model directory)."),
    WF_KEY_STR("model.dir", "\"models\"",
               "Root of the model registry: one folder per version and a CURRENT file."),
    WF_KEY_INT("train.min_new_samples", "1000", 1, WF_CFG_NO_MAX,
               "New samples since the last training that trigger a retraining."),
    WF_KEY_INT("train.interval_s", "3600", 1, WF_CFG_NO_MAX,
               "Seconds between time-triggered retrainings."),
    WF_KEY_STR("server.listen", "\"127.0.0.1:8470\"", "Address (host:port) of the scoring server."),
    WF_KEY_STR("server.admin_token_file", "\"\"",
               "File holding the admin bearer token; empty disables the admin endpoints."),
    WF_KEY_END,
};
