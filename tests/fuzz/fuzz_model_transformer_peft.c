/* Arbitrary bytes as adapter_config.json and as adapter_model.safetensors
 * for a small fixed base model: an error (WF_EPARSE / WF_ECORRUPT), or
 * options and values within what the rest of the code relies on; never a
 * crash. Inputs are copied to exact-size buffers so ASan sees overreads. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/test_model_transformer_tiny.h"
#include "model_transformer/peft.h"

/* hidden 8, one layer, 2 heads of 4 (one KV head), intermediate 16. */
static const tiny_spec SPEC = {"Qwen3ForCausalLM", 8, 1, 2, 1, 4, 16, 16, 0, 1, 0, NULL, 1};
/* The options the seed weights were saved with: rank 2 on every projection. */
static const wf_tf_lora_opts LORA = {.rank = 2, .alpha = 4, .dropout = 0, .targets = 0x7f};

/* The base model, loaded once; it stays for the process. */
static const wf_tf_model *base(void)
{
    static wf_tf_model *m;
    if (!m && tiny_load(&SPEC, 0, &m, NULL) != 0)
        abort();
    return m;
}

static void fuzz_config(const char *text, size_t size)
{
    wf_tf_lora_opts o;
    wf_error err;
    int rc = wf_tf_peft_config_parse(text, size, "fuzz", &o, &err);
    if (rc == 0) {
        if (o.rank < 1 || o.rank > 4096 || !(o.alpha > 0) || !isfinite(o.alpha) ||
            !(o.dropout >= 0 && o.dropout < 1) || o.targets >= (1u << WF_TF_NPROJ))
            abort();
    } else if (rc != WF_EPARSE && rc != WF_ECORRUPT) {
        abort();
    }
}

static void fuzz_weights(const uint8_t *bytes, size_t size)
{
    wf_st_file *f = NULL;
    wf_error err;
    if (wf_st_parse(bytes, size, "fuzz", &f, &err) != 0)
        return;
    wf_tf_adapter *ad = NULL;
    int rc = wf_tf_adapter_from_st(base(), &LORA, f, &ad, &err);
    if (rc == 0) {
        for (size_t i = 0; i < ad->n_params; i++)
            if (!isfinite(ad->params[i]))
                abort();
        wf_tf_adapter_free(ad);
    } else if (rc != WF_ECORRUPT || ad) {
        abort();
    }
    wf_st_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        abort();
    memcpy(copy, data, size);
    fuzz_config((const char *)copy, size);
    fuzz_weights(copy, size);
    free(copy);
    return 0;
}
