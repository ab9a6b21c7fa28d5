/* Tensor-core fragments for the k_*.cu kernels that multiply tiles held in
 * shared memory: mma.sync m16n8k16 with bf16 operands and fp32
 * accumulation, in the register layouts the PTX ISA defines (g = lane / 4,
 * t = lane % 4):
 * - A (16 x 16, row-major) holds rows g and g + 8 at columns 2t, 2t + 1 and
 *   2t + 8, 2t + 9;
 * - B (16 x 8, column-major) holds rows (k) 2t, 2t + 1 and 2t + 8, 2t + 9 of
 *   column g;
 * - C (16 x 8) holds rows g and g + 8 at columns 2t, 2t + 1.
 * Shared tiles are row-major with an even row stride, so a pair of adjacent
 * bf16 is one aligned 32-bit load. */
#ifndef WF_MMA_CUH
#define WF_MMA_CUH

#include "kernels.cuh"

namespace wf_k_detail
{

__device__ __forceinline__ void mma_bf16(float c[4], const uint32_t a[4], const uint32_t b[2])
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/* Two adjacent bf16 of shared memory (the lower index in the low half). */
__device__ __forceinline__ uint32_t mma_pair(const wf_bf16 *p)
{
    return *(const uint32_t *)p;
}

/* Two floats as one bf16 pair (round to nearest even), lo in the low half. */
__device__ __forceinline__ uint32_t mma_pack(float lo, float hi)
{
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *(uint32_t *)&v;
}

__device__ __forceinline__ uint32_t mma_pack16(wf_bf16 lo, wf_bf16 hi)
{
    return (uint32_t)__bfloat16_as_ushort(lo) | (uint32_t)__bfloat16_as_ushort(hi) << 16;
}

/* A from a tile stored [m][k]: p = tile + (m0 + g) * ld + k0 + 2t. */
__device__ __forceinline__ void mma_a_rows(uint32_t a[4], const wf_bf16 *p, int ld)
{
    a[0] = mma_pair(p);
    a[1] = mma_pair(p + 8 * ld);
    a[2] = mma_pair(p + 8);
    a[3] = mma_pair(p + 8 * ld + 8);
}

/* A from a tile stored [k][m] (a transposed read): p = tile + (k0 + 2t) *
 * ld + m0 + g. */
__device__ __forceinline__ void mma_a_cols(uint32_t a[4], const wf_bf16 *p, int ld)
{
    a[0] = mma_pack16(p[0], p[ld]);
    a[1] = mma_pack16(p[8], p[ld + 8]);
    a[2] = mma_pack16(p[8 * ld], p[9 * ld]);
    a[3] = mma_pack16(p[8 * ld + 8], p[9 * ld + 8]);
}

/* B from a tile stored [k][n]: p = tile + (k0 + 2t) * ld + n0 + g. */
__device__ __forceinline__ void mma_b_cols(uint32_t b[2], const wf_bf16 *p, int ld)
{
    b[0] = mma_pack16(p[0], p[ld]);
    b[1] = mma_pack16(p[8 * ld], p[9 * ld]);
}

} // namespace wf_k_detail

#endif
