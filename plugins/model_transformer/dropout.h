/* LoRA dropout masks drawn from a counter-based hash, so the CPU path, its
 * recomputation during backward, and the CUDA kernels all draw the same
 * mask for the same (seed, layer, projection, element) without storing it.
 * Header-only and usable from CUDA device code. */
#ifndef WF_TF_DROPOUT_H
#define WF_TF_DROPOUT_H

#include <stdint.h>

#ifdef __CUDACC__
#define WF_TF_HD __host__ __device__ __forceinline__
#else
#define WF_TF_HD static inline
#endif

WF_TF_HD uint64_t wf_tf_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* 1 when element idx (token * in + feature of the packed batch) of the
 * adapter input of (layer, proj) is kept under dropout probability p. Kept
 * elements are scaled by 1 / (1 - p) by the caller. */
WF_TF_HD int wf_tf_dropout_keep(uint64_t seed, int layer, int proj, uint64_t idx, float p)
{
    uint64_t h = wf_tf_mix64(seed ^ wf_tf_mix64(((uint64_t)layer << 8 | (uint64_t)proj) + 1) ^
                             (idx * 0x9e3779b97f4a7c15ull));
    return (float)(h >> 40) * (1.0f / 16777216.0f) >= p;
}

#endif
