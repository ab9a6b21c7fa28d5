/* LoRA dropout masks drawn from a counter-based hash, so the CPU path, its
 * recomputation during backward, and the CUDA kernels all draw the same
 * mask for the same (seed, layer, projection, element) without storing it.
 * Header-only and usable from CUDA device code. The hash works on 32-bit
 * words: 64-bit multiplies are slow on GPUs. */
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

/* Masks are drawn per token row: a row key from (mask key, token index in
 * the packed batch), then one 32-bit hash per pair of features whose two
 * 16-bit halves decide the pair's two elements: half a hash per element,
 * where three made the GPU's dropout pass (kernels/k_lora.cu) wait on
 * arithmetic rather than memory. */
WF_TF_HD uint32_t wf_tf_dropout_row(uint32_t key, uint64_t token)
{
    uint32_t hi = wf_tf_hash32((uint32_t)(token >> 32) + 0x9e3779b9U);
    return wf_tf_hash32(key ^ wf_tf_hash32((uint32_t)token ^ hi));
}

/* A 16-bit draw u keeps its element when u >= the threshold of p, so the
 * drop probability is threshold / 65536 (p rounded to 1/65536, and kept
 * under 1 so the scale below stays finite). */
WF_TF_HD uint32_t wf_tf_dropout_threshold(double p)
{
    double t = p * 65536.0 + 0.5;
    return t < 1.0 ? 0U : t >= 65535.0 ? 65535U : (uint32_t)t;
}

/* The scale of kept elements, 1 / (1 - the drop probability drawn). */
WF_TF_HD float wf_tf_dropout_scale(uint32_t threshold)
{
    return 65536.0f / (float)(65536U - threshold);
}

/* Bit 0: feature 2 pair of the row is kept; bit 1: feature 2 pair + 1. */
WF_TF_HD uint32_t wf_tf_dropout_pair(uint32_t row, uint32_t pair, uint32_t threshold)
{
    uint32_t h = wf_tf_hash32(row ^ pair);
    return (uint32_t)((h & 0xffffU) >= threshold) | (uint32_t)((h >> 16) >= threshold) << 1;
}

/* Whether feature f of token is kept: the same draw, one element at a
 * time. */
WF_TF_HD int wf_tf_dropout_keep(uint64_t seed, int layer, int proj, uint64_t token, uint32_t f,
                                uint32_t threshold)
{
    uint32_t row = wf_tf_dropout_row(wf_tf_dropout_key(seed, layer, proj), token);
    return (int)(wf_tf_dropout_pair(row, f >> 1, threshold) >> (f & 1)) & 1;
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
