/* The start of the whole-model GPU checks (check_model, check_plan): a SKIP
 * line without a device, else the device and the seed printed. Their tiny
 * models come from test_model_transformer_tiny.h (tiny_load). */
#ifndef WF_MODELCHECK_H
#define WF_MODELCHECK_H

#include <stdlib.h>
#include <time.h>

#include "../unit/test_model_transformer_tiny.h"
#include "gpucheck.h"
#include "wf_cuda.h"

/* 0 (after the SKIP line) without a device; else 1, with the seed (argv[1],
 * else the clock) in *seed. */
static inline int mc_start(int argc, char **argv, const char *program, uint64_t *seed)
{
    if (wf_cuda_device_count() < 1) {
        puts("SKIP no CUDA device (no GPU here, or a build without CUDA)");
        return 0;
    }
    char dev[256];
    wf_cuda_device_name(0, dev, sizeof dev);
    *seed = argc > 1 ? strtoull(argv[1], NULL, 0) : (uint64_t)time(NULL);
    printf("%s: device %s, seed %llu\n", program, dev, (unsigned long long)*seed);
    return 1;
}

#endif
