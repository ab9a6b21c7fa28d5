/* LoRA dropout masks drawn from a counter-based hash, so the CPU path, its
 * recomputation during backward, and the CUDA kernels all draw the same
 * mask for the same (seed, layer, projection, element) without storing it.
 * Header-only and usable from CUDA device code. The hash works on 32-bit
 * words: 64-bit multiplies are slow on GPUs, and the first version's made
 * the dropout kernels a third of a training step on an H200. */
#ifndef WF_TF_DROPOUT_H
#define WF_TF_DROPOUT_H

#include <stdint.h>

#ifdef __CUDACC__
#define WF_TF_HD __host__ __device__ __forceinline__
#else
#define WF_TF_HD static inline
#endif

/* A 32-bit integer finaliser (xorshift-multiply rounds) with full
 * avalanche. */
WF_TF_HD uint32_t wf_tf_hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

/* The key of one mask: a (seed, layer, projection) triple. */
WF_TF_HD uint32_t wf_tf_dropout_key(uint64_t seed, int layer, int proj)
{
    uint32_t where = wf_tf_hash32(((uint32_t)layer << 8 | (uint32_t)proj) + 1U);
    return wf_tf_hash32((uint32_t)seed ^ wf_tf_hash32((uint32_t)(seed >> 32) ^ where));
}

/* 1 when element idx (token * in + feature of the packed batch) is kept
 * under dropout probability p by the mask of key. Kept elements are scaled
 * by 1 / (1 - p) by the caller. */
WF_TF_HD int wf_tf_dropout_keep_key(uint32_t key, uint64_t idx, float p)
{
    uint32_t hi = wf_tf_hash32((uint32_t)(idx >> 32) + 0x9e3779b9U);
    uint32_t h = wf_tf_hash32(key ^ wf_tf_hash32((uint32_t)idx ^ hi));
    return (float)(h >> 8) * (1.0f / 16777216.0f) >= p;
}

WF_TF_HD int wf_tf_dropout_keep(uint64_t seed, int layer, int proj, uint64_t idx, float p)
{
    return wf_tf_dropout_keep_key(wf_tf_dropout_key(seed, layer, proj), idx, p);
}

/* 64-bit mixing for the draws that need no device speed (initial values,
 * seeds). */
WF_TF_HD uint64_t wf_tf_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

#endif
