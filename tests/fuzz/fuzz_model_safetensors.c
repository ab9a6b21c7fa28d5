/* Arbitrary bytes as a safetensors file: never a crash or an out-of-bounds
 * read (the input is copied to an exact-size buffer so ASan sees overreads),
 * and whatever parses must hold tensors that tile its data exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/safetensors.h"

static void check_tiling(const wf_st_file *f, const uint8_t *buf, size_t size)
{
    const uint8_t *at = NULL, *end = buf + size;
    for (size_t i = 0; i < wf_st_count(f); i++) {
        const wf_st_tensor *t = wf_st_at(f, i);
        if (at && t->data != at)
            abort();
        if (t->data < buf || t->nbytes > (size_t)(end - t->data))
            abort();
        if (wf_st_find(f, t->name) == NULL)
            abort();
        float *out = malloc(t->numel ? t->numel * sizeof *out : 1);
        if (!out)
            abort();
        wf_st_to_f32(t, out);
        free(out);
        at = t->data + t->nbytes;
    }
    if (at && at != end)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        abort();
    memcpy(copy, data, size);
    wf_st_file *f = NULL;
    wf_error err = {0};
    if (wf_st_parse(copy, size, "fuzz", &f, &err) == 0) {
        check_tiling(f, copy, size);
        wf_st_meta(f, "kind");
        wf_st_close(f);
    } else if (f != NULL || err.code == 0) {
        abort();
    }
    free(copy);
    return 0;
}
