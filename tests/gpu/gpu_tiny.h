/* The GPU checks' tiny models: a random Hugging Face directory
 * (test_model_transformer_tiny.h) written to a temporary folder, loaded,
 * and removed again. */
#ifndef WF_GPU_TINY_H
#define WF_GPU_TINY_H

#include <stdlib.h>
#include <unistd.h>

#include "../unit/test_model_transformer_tiny.h"
#include "model_transformer/transformer.h"

/* Loads the tiny model of spec s with longest sequence max_len (0: the
 * default) into *out. */
static inline int gpu_tiny_load(const tiny_spec *s, size_t max_len, wf_tf_model **out,
                                wf_error *err)
{
    char dir[] = "/tmp/wf-check-model-XXXXXX", path[4096];
    if (!mkdtemp(dir))
        return wf_error_set(err, WF_EIO, "mkdtemp failed");
    tiny_model *tm = malloc(sizeof *tm);
    int rc = tm ? 0 : wf_error_set(err, WF_ENOMEM, "out of memory");
    if (rc == 0) {
        wf_tf_load_opts lo = {.max_len = max_len};
        tiny_build(s, tm);
        rc = tiny_write(tm, dir) ? wf_error_set(err, WF_EIO, "%s: cannot write the model", dir)
                                 : wf_tf_load_dir(dir, &lo, out, err);
        tiny_free(tm);
    }
    free(tm);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    remove(path);
    rmdir(dir);
    return rc;
}

#endif
