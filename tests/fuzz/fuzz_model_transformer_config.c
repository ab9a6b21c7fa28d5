/* Arbitrary bytes as config.json: an error or a configuration whose values
 * are within the bounds the loader relies on, never a crash. */
#include <stdint.h>
#include <stdlib.h>

#include "model_transformer/transformer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wf_tf_config c;
    wf_error err;
    int rc = wf_tf_config_parse((const char *)data, size, "fuzz", &c, &err);
    if (rc == 0) {
        if (c.hidden < 1 || c.layers < 1 || c.heads < 1 || c.kv_heads < 1 || c.vocab < 1 ||
            c.intermediate < 1 || c.head_dim < 2 || c.head_dim % 2 || c.heads % c.kv_heads ||
            c.num_labels < 1 || c.pad_token_id >= c.vocab || !(c.rms_eps > 0) ||
            !(c.rope.theta > 0))
            abort();
        if (c.rope.kind == WF_TF_ROPE_LLAMA3 &&
            !(c.rope.high_freq_factor > c.rope.low_freq_factor && c.rope.factor > 0))
            abort();
    } else if (rc != WF_EINVAL && rc != WF_EPARSE) {
        abort();
    }
    return 0;
}
