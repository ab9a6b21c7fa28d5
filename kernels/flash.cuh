/* What the flash attention kernels share: the forward's (k_flash.cu) and
 * the backward's (k_flash_bwd.cu) tiles, tensor-core and copy helpers,
 * argument checks, and the forward launch the backward reuses when it must
 * recompute the output.
 *
 * Products are tensor-core mma.sync m16n8k16 (bf16 operands, fp32
 * accumulation) with the register layouts the PTX ISA defines (g = lane / 4,
 * t = lane % 4): A (16x16, row-major) holds rows g and g + 8 at columns 2t,
 * 2t + 1 and 2t + 8, 2t + 9; B (16x8, column-major) holds rows (k) 2t, 2t +
 * 1 and 2t + 8, 2t + 9 of column g; C (16x8) holds rows g and g + 8 at
 * columns 2t, 2t + 1. Two adjacent C tiles are therefore exactly an A
 * operand, so probabilities never leave registers on their way to the next
 * product. Operands in shared memory are read with ldmatrix (the helpers
 * below say how its layout maps onto these).
 *
 * Rows past a sequence's end are zero-filled in shared memory (cp.async
 * with a source size of 0 reads nothing), so no load leaves the sequence. */
#ifndef WF_FLASH_CUH
#define WF_FLASH_CUH

#include <math.h>

#include "kernels.cuh"

namespace wf_k_flash
{

/* bq: queries per backward step. */
constexpr int tile = 64, warps = 4, bq = 64;
/* Row padding of the shared tiles (16 bytes): keeps rows 16-byte aligned for
 * ldmatrix and cp.async, and puts the 8 rows one ldmatrix phase reads on
 * distinct banks (a row stride of 4 words modulo 32). */
constexpr int pad = 8;

__device__ __forceinline__ void mma(float c[4], const uint32_t a[4], const uint32_t b[2])
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/* Two adjacent C tiles (16 x 16 of fp32) as a bf16 A fragment. */
__device__ __forceinline__ void c_to_a(uint32_t a[4], const float lo[4], const float hi[4])
{
    a[0] = wf_k_detail::pack_bf16(lo[0], lo[1]);
    a[1] = wf_k_detail::pack_bf16(lo[2], lo[3]);
    a[2] = wf_k_detail::pack_bf16(hi[0], hi[1]);
    a[3] = wf_k_detail::pack_bf16(hi[2], hi[3]);
}

/* ---- ldmatrix ----
 * ldmatrix.m8n8.x4 reads four 8x8 b16 matrices: lanes 8i .. 8i + 7 give the
 * addresses of matrix i's rows 0..7 (16 bytes each, 16-byte aligned), and
 * register i of lane l receives from matrix i row l / 4, columns 2 (l % 4)
 * and + 1, the lower column in the low half: that is (g, 2t). With .trans it
 * receives rows 2t and 2t + 1 of column g instead. Each helper below takes
 * p, the top-left element of a 16x16 block of a shared tile (row stride ld),
 * and derives the lane's row address from that rule. */

__device__ __forceinline__ void ldsm(uint32_t r[4], const wf_bf16 *p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"((unsigned)__cvta_generic_to_shared(p)));
}

__device__ __forceinline__ void ldsm_t(uint32_t r[4], const wf_bf16 *p)
{
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"((unsigned)__cvta_generic_to_shared(p)));
}

/* A operand stored row-major [m][k]. Lane l addresses row l % 16, column
 * 8 (l / 16): matrices 0..3 are (rows 0-7, cols 0-7), (8-15, 0-7), (0-7,
 * 8-15), (8-15, 8-15), so registers 0..3 hold (g, 2t), (g + 8, 2t), (g, 2t
 * + 8), (g + 8, 2t + 8): a[0..3] exactly. */
__device__ __forceinline__ void ld_a(uint32_t a[4], const wf_bf16 *p, int ld)
{
    int l = threadIdx.x & 31;
    ldsm(a, p + (l & 15) * ld + (l >> 4) * 8);
}

/* B operands of two n tiles, stored [n][k] (K in Q K^T, Q and dO in the
 * backward's K Q^T and V dO^T). Lane l addresses row (n) l % 8 + 8 (l / 16),
 * column (k) 8 ((l / 8) % 2): matrices 0..3 are (n 0-7, k 0-7), (n 0-7, k
 * 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15); register i holds (n g, k 2t) of
 * matrix i, so b[0], b[1] are n tile 0's B and b[2], b[3] n tile 1's. */
__device__ __forceinline__ void ld_b_nk(uint32_t b[4], const wf_bf16 *p, int ld)
{
    int l = threadIdx.x & 31;
    ldsm(b, p + ((l & 7) + (l >> 4) * 8) * ld + (l & 8));
}

/* B operands of two n tiles, stored [k][n] (V in P V, dO in P^T dO, Q in
 * dS^T Q, K in dS K), transposed on load. Lane l addresses row (k) l % 16,
 * column (n) 8 (l / 16): matrices 0..3 are (k 0-7, n 0-7), (k 8-15, n 0-7),
 * (k 0-7, n 8-15), (k 8-15, n 8-15); with .trans register i holds (k 2t and
 * 2t + 1, n g) of matrix i, so b[0], b[1] are n tile 0's B and b[2], b[3] n
 * tile 1's. */
__device__ __forceinline__ void ld_b_kn(uint32_t b[4], const wf_bf16 *p, int ld)
{
    int l = threadIdx.x & 31;
    ldsm_t(b, p + (l & 15) * ld + (l >> 4) * 8);
}

/* A operand stored [k][m] (dS read from dS^T), transposed on load. Lane l
 * addresses row (k) l % 8 + 8 (l / 16), column (m) 8 ((l / 8) % 2):
 * matrices 0..3 are (k 0-7, m 0-7), (k 0-7, m 8-15), (k 8-15, m 0-7), (k
 * 8-15, m 8-15); with .trans register i holds (m g, k 2t and 2t + 1) of
 * matrix i: (g, 2t), (g + 8, 2t), (g, 2t + 8), (g + 8, 2t + 8) = a[0..3]. */
__device__ __forceinline__ void ld_a_km(uint32_t a[4], const wf_bf16 *p, int ld)
{
    int l = threadIdx.x & 31;
    ldsm_t(a, p + ((l & 7) + (l >> 4) * 8) * ld + (l & 8));
}

/* ---- cp.async ----
 * A copy of bytes (4 or 16) from global to shared memory, or zeros when
 * !valid (a source size of 0 reads nothing, src only has to be mapped). */
template <int bytes>
__device__ __forceinline__ void cp_async(void *dst, const void *src, bool valid)
{
    unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    size_t s = __cvta_generic_to_global(src);
    int n = valid ? bytes : 0;
    if constexpr (bytes == 16)
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(s), "r"(n)
                     : "memory");
    else
        asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(d), "l"(s), "r"(n)
                     : "memory");
}

__device__ __forceinline__ void cp_commit()
{
    asm volatile("cp.async.commit_group;\n" ::: "memory");
}

/* Waits until at most n of this thread's copy groups are in flight. */
template <int n> __device__ __forceinline__ void cp_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(n) : "memory");
}

/* rows rows from r0 of src (row stride ld) into a shared tile, 16 bytes at
 * a time with cp.async; rows from len on are zero-filled, their source
 * clamped to row 0 (which exists: len >= 1). */
template <int HD>
__device__ void copy_rows(wf_bf16 *dst, const wf_bf16 *src, int ld, int r0, int rows, int len)
{
    constexpr int chunks = HD / 8, lds = HD + pad;
    for (int i = threadIdx.x; i < rows * chunks; i += warps * 32) {
        int r = i / chunks, c = (i % chunks) * 8;
        bool in = r0 + r < len;
        cp_async<16>(dst + r * lds + c, src + (size_t)(in ? r0 + r : 0) * ld + c, in);
    }
}

__device__ __forceinline__ float quad_max(float v)
{
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}

__device__ __forceinline__ float quad_sum(float v)
{
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

extern __shared__ __align__(16) unsigned char flash_smem[];

struct fwd_args {
    const wf_bf16 *q, *k, *v;
    wf_bf16 *out;
    int ldq, ldk, ldv, ldo;
    float *lse; /* [T, heads], log2 domain; NULL: not kept */
    const int32_t *starts;
    int group;
    float scale_log2; /* log2(e) / sqrt(hd) */
};

inline size_t align_up(size_t n)
{
    return (n + 255) & ~(size_t)255;
}

/* Shapes, strides (widths in heads: true = query heads, false = KV heads),
 * alignment and starts; *longest and *T from the starts. */
inline int check(const wf_k_attn *a, const void *const *ptrs, const size_t *lds, const bool *wide,
                 int count, int *longest, int *T, wf_error *err)
{
    if (!wf_k_flash_supported(a->hd) || a->heads <= 0 || a->kv_heads <= 0 ||
        a->heads % a->kv_heads || a->heads > 65535 || a->n < 0)
        return wf_error_set(err, WF_EINVAL,
                            "flash attention: unsupported shape: %d heads, %d kv heads, hd %d",
                            a->heads, a->kv_heads, a->hd);
    for (int i = 0; i < count; i++) {
        size_t width = (size_t)(wide[i] ? a->heads : a->kv_heads) * a->hd;
        if (lds[i] % 8 || lds[i] < width || lds[i] > (size_t)INT32_MAX || ((uintptr_t)ptrs[i] & 15))
            return wf_error_set(err, WF_EINVAL,
                                "flash attention: operand %d: row stride %zu is not a multiple "
                                "of 8 of at least %zu, or the pointer is not 16-byte aligned",
                                i, lds[i], width);
    }
    *longest = 0;
    for (int s = 0; s < a->n; s++) {
        int len = a->starts[s + 1] - a->starts[s];
        if (a->starts[s] < 0 || len <= 0)
            return wf_error_set(err, WF_EINVAL, "flash attention: sequence %d: bad starts", s);
        *longest = len > *longest ? len : *longest;
    }
    *T = a->n ? a->starts[a->n] : 0;
    return 0;
}

inline int launched(const char *what, wf_error *err)
{
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess
               ? 0
               : wf_error_set(err, WF_EIO, "flash attention: %s: %s", what, cudaGetErrorString(e));
}

/* Grid y holds at most 65535 sequences: longer lists go in chunks. */
constexpr int max_grid_y = 65535;

/* Lets kernel use bytes of dynamic shared memory (above the default 48 KB),
 * and prefers the largest shared-memory carveout so that as many blocks fit
 * on an SM as the registers allow (the kernels barely use L1). */
template <typename K> int allow_smem(K kernel, size_t bytes, wf_error *err)
{
    cudaError_t e =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
    if (e == cudaSuccess)
        e = cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                 (int)cudaSharedmemCarveoutMaxShared);
    return e == cudaSuccess
               ? 0
               : wf_error_set(err, WF_EIO, "flash attention: cudaFuncSetAttribute(%zu bytes): %s",
                              bytes, cudaGetErrorString(e));
}

/* Launches the forward for fa (k_flash.cu). */
int run_forward(const wf_k_attn *a, fwd_args fa, const int32_t *starts_dev, int longest,
                cudaStream_t stream, wf_error *err);

} // namespace wf_k_flash

#endif
