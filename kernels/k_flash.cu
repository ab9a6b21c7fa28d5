/* Flash-style attention, forward and backward, for head widths 64 and 128.
 *
 * Forward: per block, 64 query rows of one head of one sequence, each of 4
 * warps owning 16. Q goes to registers once; K and V pass through shared
 * memory 64 keys at a time (only the tiles the causal mask lets those rows
 * see), double-buffered: cp.async fetches the next tile while the current
 * one is used, one barrier per tile. Scores and the output stay in
 * registers and the softmax is taken online (running max and sum, the
 * output rescaled when the max grows), in base 2: p = 2^(s * log2(e) /
 * sqrt(hd) - m), one FMA per score. Only the last tile (the diagonal one,
 * which also holds the sequence's end) is masked. The log-sum-exp of each
 * row can be kept for the backward.
 *
 * Backward (as FlashAttention-2): per block, 64 keys of one KV head of one
 * sequence, each warp owning 16 keys; for each query head of the group and
 * each later step of bq = 64 queries it recomputes P from the saved
 * log-sum-exp, accumulates dV += P^T dO and dK += dS^T Q in registers (dS =
 * P (dP - D) / sqrt(hd), D = rowsum(dO * O)), and adds dQ = dS K into an
 * fp32 buffer with (vector) atomics, rounded to bf16 at the end. Each
 * step's Q, dO, lse and D are fetched with cp.async during the previous
 * step; only the steps on the diagonal or past the sequence's end are
 * masked.
 *
 * Rows past a sequence's end are zero-filled in shared memory (cp.async
 * with a source size of 0 reads nothing), so no load leaves the sequence.
 *
 * Products are tensor-core mma.sync m16n8k16 (bf16 operands, fp32
 * accumulation) with the register layouts the PTX ISA defines (g = lane / 4,
 * t = lane % 4): A (16x16, row-major) holds rows g and g + 8 at columns 2t,
 * 2t + 1 and 2t + 8, 2t + 9; B (16x8, column-major) holds rows (k) 2t, 2t +
 * 1 and 2t + 8, 2t + 9 of column g; C (16x8) holds rows g and g + 8 at
 * columns 2t, 2t + 1. Two adjacent C tiles are therefore exactly an A
 * operand, so probabilities never leave registers on their way to the next
 * product. Operands in shared memory are read with ldmatrix (the helpers
 * below say how its layout maps onto these). */
#include <math.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
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
    a[0] = pack_bf16(lo[0], lo[1]);
    a[1] = pack_bf16(lo[2], lo[3]);
    a[2] = pack_bf16(hi[0], hi[1]);
    a[3] = pack_bf16(hi[2], hi[3]);
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

/* Shared memory of the forward: K and V tiles, twice each (Q passes through
 * the second K tile before the first key tile is used). */
template <int HD> struct fwd_smem {
    static constexpr int lds = HD + pad;
    static constexpr size_t k0 = 0, k1 = k0 + tile * lds, v0 = k1 + tile * lds,
                            v1 = v0 + tile * lds, end16 = v1 + tile * lds;
    static constexpr size_t bytes = end16 * sizeof(wf_bf16);
};

/* Raw scores of the warp's 16 query rows (qf) against the tile's 64 keys. */
template <int HD>
__device__ void tile_scores(const wf_bf16 *ks, const uint32_t (*qf)[4], float (*sc)[4])
{
    constexpr int lds = HD + pad;
    for (int nt = 0; nt < tile / 8; nt++)
        sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0.0f;
    for (int kk = 0; kk < HD / 16; kk++)
        for (int np = 0; np < tile / 16; np++) {
            uint32_t b[4];
            ld_b_nk(b, ks + np * 16 * lds + kk * 16, lds);
            mma(sc[2 * np], qf[kk], b);
            mma(sc[2 * np + 1], qf[kk], b + 2);
        }
}

/* The causal mask and the sequence's end on the diagonal tile (keys from
 * j0 = q0): unseen scores become -inf. */
__device__ __forceinline__ void mask_diagonal(float (*sc)[4], int j0, const int qi[2], int len)
{
    int t = threadIdx.x & 3;
    for (int nt = 0; nt < tile / 8; nt++)
        for (int e = 0; e < 4; e++) {
            int j = j0 + nt * 8 + 2 * t + (e & 1);
            if (j > qi[e >> 1] || j >= len)
                sc[nt][e] = -INFINITY;
        }
}

/* One tile of the online softmax: sc (raw scores) becomes P = 2^(s scale -
 * m), m (scaled, log2 domain) and l the running max and sum, o rescaled
 * when the max grows. scale > 0, so the scaled max is the max's scaling. */
template <int HD>
__device__ void online_softmax(float (*sc)[4], float m[2], float l[2], float (*o)[4], float scale)
{
    for (int i = 0; i < 2; i++) {
        float mx = -INFINITY;
        for (int nt = 0; nt < tile / 8; nt++)
            mx = fmaxf(mx, fmaxf(sc[nt][2 * i], sc[nt][2 * i + 1]));
        float mn = fmaxf(m[i], quad_max(mx) * scale), corr = exp2f(m[i] - mn);
        m[i] = mn;
        l[i] *= corr;
        for (int nt = 0; nt < HD / 8; nt++) {
            o[nt][2 * i] *= corr;
            o[nt][2 * i + 1] *= corr;
        }
        for (int nt = 0; nt < tile / 8; nt++)
            for (int e = 2 * i; e < 2 * i + 2; e++) {
                sc[nt][e] = exp2f(fmaf(sc[nt][e], scale, -mn));
                l[i] += sc[nt][e];
            }
    }
}

/* o += P V over the tile's 64 keys, P straight from the score registers. */
template <int HD> __device__ void tile_pv(const wf_bf16 *vs, const float (*p)[4], float (*o)[4])
{
    constexpr int lds = HD + pad;
    for (int kk = 0; kk < tile / 16; kk++) {
        uint32_t pa[4];
        c_to_a(pa, p[2 * kk], p[2 * kk + 1]);
        for (int np = 0; np < HD / 16; np++) {
            uint32_t b[4];
            ld_b_kn(b, vs + kk * 16 * lds + np * 16, lds);
            mma(o[2 * np], pa, b);
            mma(o[2 * np + 1], pa, b + 2);
        }
    }
}

/* Grid: x = query tiles (the last first: they see the most keys), y =
 * sequences, z = query heads. Every row of a tile sees key j0 of every tile
 * it visits (j0 <= q0 <= row, j0 <= q0 < len), so each row's max is finite
 * after the first tile and no row divides by zero. Rows past the end (zero
 * Q) compute harmless values and are not stored. */
template <int HD> __global__ void __launch_bounds__(warps * 32) flash_forward(fwd_args a)
{
    typedef fwd_smem<HD> L;
    constexpr int lds = L::lds;
    wf_bf16 *sm = (wf_bf16 *)flash_smem;
    int s = blockIdx.y, h = blockIdx.z;
    int t0 = a.starts[s], len = a.starts[s + 1] - t0;
    int q0 = (int)(gridDim.x - 1 - blockIdx.x) * tile;
    if (q0 >= len)
        return;
    int kh = h / a.group, warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
    const wf_bf16 *kb = a.k + (size_t)t0 * a.ldk + (size_t)kh * HD;
    const wf_bf16 *vb = a.v + (size_t)t0 * a.ldv + (size_t)kh * HD;

    copy_rows<HD>(sm + L::k1, a.q + (size_t)t0 * a.ldq + (size_t)h * HD, a.ldq, q0, tile, len);
    cp_commit();
    copy_rows<HD>(sm + L::k0, kb, a.ldk, 0, tile, len);
    copy_rows<HD>(sm + L::v0, vb, a.ldv, 0, tile, len);
    cp_commit();
    cp_wait<1>(); /* Q; key tile 0 may still be in flight */
    __syncthreads();
    uint32_t qf[HD / 16][4];
    for (int kk = 0; kk < HD / 16; kk++)
        ld_a(qf[kk], sm + L::k1 + warp * 16 * lds + kk * 16, lds);
    int qi[2] = {q0 + warp * 16 + g, q0 + warp * 16 + g + 8};
    float o[HD / 8][4] = {}, m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    int n = q0 / tile + 1; /* key tiles 0 .. the diagonal one */
    for (int i = 0; i < n; i++) {
        const wf_bf16 *ks = sm + (i & 1 ? L::k1 : L::k0), *vs = sm + (i & 1 ? L::v1 : L::v0);
        cp_wait<0>();
        __syncthreads(); /* tile i is visible; tile i - 1 (or Q) is no longer read */
        if (i + 1 < n) {
            copy_rows<HD>(sm + (i & 1 ? L::k0 : L::k1), kb, a.ldk, (i + 1) * tile, tile, len);
            copy_rows<HD>(sm + (i & 1 ? L::v0 : L::v1), vb, a.ldv, (i + 1) * tile, tile, len);
            cp_commit();
        }
        float sc[tile / 8][4];
        tile_scores<HD>(ks, qf, sc);
        if (i == n - 1)
            mask_diagonal(sc, q0, qi, len);
        online_softmax<HD>(sc, m, l, o, a.scale_log2);
        tile_pv<HD>(vs, sc, o);
    }
    for (int i = 0; i < 2; i++) {
        float sum = quad_sum(l[i]); /* by the whole warp, before any lane leaves */
        if (qi[i] >= len)
            continue;
        float inv = 1.0f / sum;
        wf_bf16 *orow = a.out + (size_t)(t0 + qi[i]) * a.ldo + (size_t)h * HD + 2 * t;
        for (int nt = 0; nt < HD / 8; nt++)
            *(uint32_t *)(orow + nt * 8) = pack_bf16(o[nt][2 * i] * inv, o[nt][2 * i + 1] * inv);
        if (a.lse && t == 0)
            a.lse[(size_t)(t0 + qi[i]) * gridDim.z + h] = m[i] + log2f(sum);
    }
}

/* delta[t, h] = sum_d dO[t, h, d] O[t, h, d]: one warp per (token, head). */
template <int HD>
__global__ void flash_delta(const wf_bf16 *o, int ldo, const wf_bf16 *dout, int lddo, int T,
                            int heads, float *delta)
{
    size_t row = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    if (row >= (size_t)T * heads)
        return; /* whole warps: the sum below is warp-wide */
    size_t tk = row / heads, h = row % heads;
    const wf_bf16 *orow = o + tk * ldo + h * HD, *drow = dout + tk * lddo + h * HD;
    float acc = 0.0f;
    for (int i = threadIdx.x & 31; i < HD; i += 32)
        acc += __bfloat162float(orow[i]) * __bfloat162float(drow[i]);
    acc = warp_sum(acc);
    if ((threadIdx.x & 31) == 0)
        delta[row] = acc;
}

struct bwd_args {
    const wf_bf16 *q, *k, *v, *dout;
    int ldq, ldk, ldv, lddo;
    wf_bf16 *dk, *dv;
    int lddk, lddv;
    float *dq;                /* fp32 [T, heads * HD], zeroed, accumulated with atomics */
    const float *lse, *delta; /* [T, heads] */
    int heads;
    const int32_t *starts;
    int group;
    float scale_log2, scale;
};

/* Shared memory of the backward: the K and V tiles, two sets (one per step
 * parity) of a step's Q and dO, dS^T for the dQ product, then two sets of a
 * step's log-sum-exp and delta (fp32). */
template <int HD> struct bwd_smem {
    static constexpr int lds = HD + pad, ldss = bq + pad;
    static constexpr size_t ks = 0, vs = ks + tile * lds, qs = vs + tile * lds,
                            dos = qs + 2 * bq * lds, dss = dos + 2 * bq * lds,
                            end16 = dss + tile * ldss;
    static constexpr size_t bytes = end16 * sizeof(wf_bf16) + 4 * bq * sizeof(float);
    static __device__ float *lse(wf_bf16 *sm, int buf) { return (float *)(sm + end16) + buf * bq; }
    static __device__ float *delta(wf_bf16 *sm, int buf) { return lse(sm, 2 + buf); }
};

static_assert(2 * bq <= warps * 32, "one thread per lse and delta of a step");

/* Queues the copies of one step (queries q0 .. q0 + bq of head h: Q, dO,
 * lse, delta) into set buf, as one cp.async group. */
template <int HD>
__device__ void bwd_fetch(const bwd_args &a, wf_bf16 *sm, int buf, int t0, int h, int q0, int len)
{
    typedef bwd_smem<HD> L;
    copy_rows<HD>(sm + L::qs + buf * bq * L::lds, a.q + (size_t)t0 * a.ldq + (size_t)h * HD, a.ldq,
                  q0, bq, len);
    copy_rows<HD>(sm + L::dos + buf * bq * L::lds, a.dout + (size_t)t0 * a.lddo + (size_t)h * HD,
                  a.lddo, q0, bq, len);
    int i = threadIdx.x, c = i % bq, qc = q0 + c;
    if (i < 2 * bq) {
        bool in = qc < len;
        const float *src = (i < bq ? a.lse : a.delta) + (size_t)(t0 + (in ? qc : 0)) * a.heads + h;
        cp_async<4>((i < bq ? L::lse(sm, buf) : L::delta(sm, buf)) + c, src, in);
    }
    cp_commit();
}

/* One step of the backward for the warp's 16 keys (kr): P^T = 2^(K Q^T scale
 * - lse) and dS^T = P^T (V dO^T - D) / sqrt(hd) in registers, then dV += P^T
 * dO and dK += dS^T Q, and dS^T (bf16) into shared memory for dQ. masked:
 * the step holds unseen pairs (the diagonal, or queries past the end);
 * otherwise every key precedes every query and all are in the sequence. */
template <int HD>
__device__ void bwd_step(const bwd_args &a, wf_bf16 *sm, int buf, int q0, int len, const int kr[2],
                         bool masked, float (*dk)[4], float (*dv)[4])
{
    typedef bwd_smem<HD> L;
    constexpr int lds = L::lds;
    int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
    const wf_bf16 *ks = sm + L::ks + warp * 16 * lds, *vs = sm + L::vs + warp * 16 * lds;
    const wf_bf16 *qs = sm + L::qs + buf * bq * lds, *dos = sm + L::dos + buf * bq * lds;
    const float *lse_s = L::lse(sm, buf), *d_s = L::delta(sm, buf);
    float pt[bq / 8][4] = {}, dst[bq / 8][4] = {};
    for (int kk = 0; kk < HD / 16; kk++) {
        uint32_t ka[4];
        ld_a(ka, ks + kk * 16, lds);
        for (int np = 0; np < bq / 16; np++) {
            uint32_t b[4];
            ld_b_nk(b, qs + np * 16 * lds + kk * 16, lds);
            mma(pt[2 * np], ka, b);
            mma(pt[2 * np + 1], ka, b + 2);
        }
    }
    for (int kk = 0; kk < HD / 16; kk++) {
        uint32_t va[4];
        ld_a(va, vs + kk * 16, lds);
        for (int np = 0; np < bq / 16; np++) {
            uint32_t bd[4];
            ld_b_nk(bd, dos + np * 16 * lds + kk * 16, lds);
            mma(dst[2 * np], va, bd);
            mma(dst[2 * np + 1], va, bd + 2);
        }
    }
    for (int nt = 0; nt < bq / 8; nt++)
        for (int e = 0; e < 4; e++) {
            int c = nt * 8 + 2 * t + (e & 1), qc = q0 + c;
            bool seen = !masked || (kr[e >> 1] <= qc && qc < len);
            float p = seen ? exp2f(pt[nt][e] * a.scale_log2 - lse_s[c]) : 0.0f;
            pt[nt][e] = p;
            dst[nt][e] = p * (dst[nt][e] - d_s[c]) * a.scale;
        }
    for (int kq = 0; kq < bq / 16; kq++) {
        uint32_t pa[4], sa[4];
        c_to_a(pa, pt[2 * kq], pt[2 * kq + 1]);
        c_to_a(sa, dst[2 * kq], dst[2 * kq + 1]);
        for (int np = 0; np < HD / 16; np++) {
            uint32_t b[4];
            ld_b_kn(b, dos + kq * 16 * lds + np * 16, lds);
            mma(dv[2 * np], pa, b);
            mma(dv[2 * np + 1], pa, b + 2);
            ld_b_kn(b, qs + kq * 16 * lds + np * 16, lds);
            mma(dk[2 * np], sa, b);
            mma(dk[2 * np + 1], sa, b + 2);
        }
    }
    wf_bf16 *dss = sm + L::dss;
    for (int nt = 0; nt < bq / 8; nt++)
        for (int i = 0; i < 2; i++)
            *(uint32_t *)(dss + (warp * 16 + g + 8 * i) * L::ldss + nt * 8 + 2 * t) =
                pack_bf16(dst[nt][2 * i], dst[nt][2 * i + 1]);
}

/* p[0] += lo, p[1] += hi in global memory (p 8-byte aligned): one vector
 * reduction (no returned value to wait for) where the architecture has it. */
__device__ __forceinline__ void add_pair(float *p, float lo, float hi)
{
#if __CUDA_ARCH__ >= 900
    asm volatile("red.global.add.v2.f32 [%0], {%1, %2};\n" ::"l"(__cvta_generic_to_global(p)),
                 "f"(lo), "f"(hi)
                 : "memory");
#else
    atomicAdd(p, lo);
    atomicAdd(p + 1, hi);
#endif
}

/* dQ of the step's bq queries = dS K over the block's 64 keys, added into
 * a.dq: warp w takes 16 query rows, (w % (bq / 16)) * 16, and its share of
 * the columns. */
template <int HD>
__device__ void bwd_dq(const bwd_args &a, const wf_bf16 *sm, int t0, int q0, int len, int h)
{
    typedef bwd_smem<HD> L;
    constexpr int lds = L::lds, ldss = L::ldss, rowgroups = bq / 16;
    constexpr int nts = HD / 8 / (warps / rowgroups); /* n tiles per warp */
    static_assert(warps % rowgroups == 0 && nts % 2 == 0, "dQ split over the warps");
    int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
    int mq = (warp % rowgroups) * 16, n0 = (warp / rowgroups) * nts * 8;
    const wf_bf16 *ks = sm + L::ks + n0, *dss = sm + L::dss + mq;
    float acc[nts][4] = {};
    for (int kk = 0; kk < tile / 16; kk++) {
        uint32_t sa[4];
        ld_a_km(sa, dss + kk * 16 * ldss, ldss);
        for (int np = 0; np < nts / 2; np++) {
            uint32_t b[4];
            ld_b_kn(b, ks + kk * 16 * lds + np * 16, lds);
            mma(acc[2 * np], sa, b);
            mma(acc[2 * np + 1], sa, b + 2);
        }
    }
    for (int i = 0; i < 2; i++) {
        int qc = q0 + mq + g + 8 * i;
        if (qc >= len)
            continue;
        float *row = a.dq + (size_t)(t0 + qc) * a.heads * HD + (size_t)h * HD + n0 + 2 * t;
        for (int nt = 0; nt < nts; nt++)
            add_pair(row + nt * 8, acc[nt][2 * i], acc[nt][2 * i + 1]);
    }
}

/* Grid: x = key tiles (the first first: they see the most queries), y =
 * sequences, z = KV heads. The steps (query heads of the group, then query
 * steps from the diagonal on) run as one list so that each fetches the next
 * one's operands. */
template <int HD> __global__ void __launch_bounds__(warps * 32) flash_backward(bwd_args a)
{
    typedef bwd_smem<HD> L;
    wf_bf16 *sm = (wf_bf16 *)flash_smem;
    int s = blockIdx.y, kh = blockIdx.z;
    int t0 = a.starts[s], len = a.starts[s + 1] - t0, j0 = blockIdx.x * tile;
    if (j0 >= len)
        return;
    int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
    int kr[2] = {j0 + warp * 16 + g, j0 + warp * 16 + g + 8};
    copy_rows<HD>(sm + L::ks, a.k + (size_t)t0 * a.ldk + (size_t)kh * HD, a.ldk, j0, tile, len);
    copy_rows<HD>(sm + L::vs, a.v + (size_t)t0 * a.ldv + (size_t)kh * HD, a.ldv, j0, tile, len);
    int h0 = kh * a.group, nq = (len - j0 + bq - 1) / bq, steps = a.group * nq;
    bwd_fetch<HD>(a, sm, 0, t0, h0, j0, len); /* the same group as K and V */
    float dk[HD / 8][4] = {}, dv[HD / 8][4] = {};
    for (int i = 0; i < steps; i++) {
        int h = h0 + i / nq, q0 = j0 + (i % nq) * bq;
        cp_wait<0>();
        __syncthreads(); /* step i's operands are visible; step i - 1 no longer reads the
                            other set or dS^T */
        if (i + 1 < steps)
            bwd_fetch<HD>(a, sm, (i + 1) & 1, t0, h0 + (i + 1) / nq, j0 + (i + 1) % nq * bq, len);
        bool masked = q0 < j0 + tile || q0 + bq > len;
        bwd_step<HD>(a, sm, i & 1, q0, len, kr, masked, dk, dv);
        __syncthreads(); /* dS^T is complete */
        bwd_dq<HD>(a, sm, t0, q0, len, h);
    }
    for (int i = 0; i < 2; i++) {
        if (kr[i] >= len)
            continue;
        size_t col = (size_t)kh * HD + 2 * t;
        wf_bf16 *dkr = a.dk + (size_t)(t0 + kr[i]) * a.lddk + col;
        wf_bf16 *dvr = a.dv + (size_t)(t0 + kr[i]) * a.lddv + col;
        for (int nt = 0; nt < HD / 8; nt++) {
            *(uint32_t *)(dkr + nt * 8) = pack_bf16(dk[nt][2 * i], dk[nt][2 * i + 1]);
            *(uint32_t *)(dvr + nt * 8) = pack_bf16(dv[nt][2 * i], dv[nt][2 * i + 1]);
        }
    }
}

__global__ void dq_round(const float *acc, int T, int w, wf_bf16 *dq, size_t ld)
{
    size_t n = (size_t)T * w;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        dq[(i / w) * ld + i % w] = __float2bfloat16_rn(acc[i]);
}

size_t align_up(size_t n)
{
    return (n + 255) & ~(size_t)255;
}

/* Shapes, strides (widths in heads: true = query heads, false = KV heads),
 * alignment and starts; *longest and *T from the starts. */
int check(const wf_k_attn *a, const void *const *ptrs, const size_t *lds, const bool *wide,
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

int launched(const char *what, wf_error *err)
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

template <int HD>
int launch_forward(const wf_k_attn *a, fwd_args fa, const int32_t *starts_dev, int longest,
                   cudaStream_t stream, wf_error *err)
{
    size_t bytes = fwd_smem<HD>::bytes;
    int rc = allow_smem(flash_forward<HD>, bytes, err);
    unsigned tiles = (unsigned)((longest + tile - 1) / tile);
    for (int s0 = 0; s0 < a->n && !rc; s0 += max_grid_y) {
        dim3 grid(tiles, (unsigned)min(a->n - s0, max_grid_y), (unsigned)a->heads);
        fa.starts = starts_dev + s0;
        flash_forward<HD><<<grid, warps * 32, bytes, stream>>>(fa);
        rc = launched("forward launch", err);
    }
    return rc;
}

int run_forward(const wf_k_attn *a, fwd_args fa, const int32_t *starts_dev, int longest,
                cudaStream_t stream, wf_error *err)
{
    return a->hd == 64 ? launch_forward<64>(a, fa, starts_dev, longest, stream, err)
                       : launch_forward<128>(a, fa, starts_dev, longest, stream, err);
}

template <int HD>
int run_backward(const wf_k_attn *a, bwd_args ba, const int32_t *starts_dev, int longest,
                 cudaStream_t stream, wf_error *err)
{
    size_t bytes = bwd_smem<HD>::bytes;
    int rc = allow_smem(flash_backward<HD>, bytes, err);
    unsigned tiles = (unsigned)((longest + tile - 1) / tile);
    for (int s0 = 0; s0 < a->n && !rc; s0 += max_grid_y) {
        dim3 grid(tiles, (unsigned)min(a->n - s0, max_grid_y), (unsigned)a->kv_heads);
        ba.starts = starts_dev + s0;
        flash_backward<HD><<<grid, warps * 32, bytes, stream>>>(ba);
        rc = launched("backward launch", err);
    }
    return rc;
}

} // namespace

int wf_k_flash_supported(int hd)
{
    return hd == 64 || hd == 128;
}

int wf_k_flash_forward(const wf_k_attn *a, const int32_t *starts_dev, const wf_bf16 *q, size_t ldq,
                       const wf_bf16 *k, size_t ldk, const wf_bf16 *v, size_t ldv, wf_bf16 *out,
                       size_t ldo, float *lse, cudaStream_t stream, wf_error *err)
{
    const void *ptrs[4] = {q, k, v, out};
    size_t lds[4] = {ldq, ldk, ldv, ldo};
    const bool wide[4] = {true, false, false, true};
    int longest = 0, T = 0, rc;
    if ((rc = check(a, ptrs, lds, wide, 4, &longest, &T, err)) || a->n == 0)
        return rc;
    fwd_args fa = {q,
                   k,
                   v,
                   out,
                   (int)ldq,
                   (int)ldk,
                   (int)ldv,
                   (int)ldo,
                   lse,
                   starts_dev,
                   a->heads / a->kv_heads,
                   1.4426950408889634f / sqrtf((float)a->hd)};
    return run_forward(a, fa, starts_dev, longest, stream, err);
}

size_t wf_k_flash_backward_scratch(int T, int heads, int hd)
{
    size_t qd = (size_t)heads * hd, th = (size_t)T * heads;
    return align_up((size_t)T * qd * sizeof(float)) + align_up((size_t)T * qd * sizeof(wf_bf16)) +
           2 * align_up(th * sizeof(float));
}

int wf_k_flash_backward(const wf_k_attn *a, const int32_t *starts_dev, const wf_bf16 *q, size_t ldq,
                        const wf_bf16 *k, size_t ldk, const wf_bf16 *v, size_t ldv,
                        const wf_bf16 *o_kept, size_t ldo, const float *lse_kept,
                        const wf_bf16 *dout, size_t lddo, wf_bf16 *dq, size_t lddq, wf_bf16 *dk,
                        size_t lddk, wf_bf16 *dv, size_t lddv, void *scratch, size_t scratch_bytes,
                        cudaStream_t stream, wf_error *err)
{
    size_t qd = (size_t)a->heads * a->hd;
    const void *ptrs[9] = {q, k, v, dout, dq, dk, dv, scratch, o_kept ? o_kept : scratch};
    /* the scratch's fp32 dQ is [T, heads * hd] */
    size_t lds[9] = {ldq, ldk, ldv, lddo, lddq, lddk, lddv, qd, o_kept ? ldo : qd};
    const bool wide[9] = {true, false, false, true, true, false, false, true, true};
    int longest = 0, T = 0, rc;
    if ((o_kept == NULL) != (lse_kept == NULL))
        return wf_error_set(err, WF_EINVAL, "flash attention: keep both o and lse, or neither");
    if ((rc = check(a, ptrs, lds, wide, 9, &longest, &T, err)) || a->n == 0)
        return rc;
    size_t need = wf_k_flash_backward_scratch(T, a->heads, a->hd);
    if (scratch_bytes < need)
        return wf_error_set(err, WF_ENOMEM, "flash attention: scratch of %zu bytes, %zu needed",
                            scratch_bytes, need);
    char *p = (char *)scratch;
    float *dq_acc = (float *)p;
    wf_bf16 *o = (wf_bf16 *)(p += align_up((size_t)T * qd * sizeof(float)));
    float *lse = (float *)(p += align_up((size_t)T * qd * sizeof(wf_bf16)));
    float *delta = (float *)(p + align_up((size_t)T * a->heads * sizeof(float)));
    float scale = 1.0f / sqrtf((float)a->hd), scale_log2 = 1.4426950408889634f * scale;
    int ldo_used = (int)qd;
    if (o_kept) { /* the forward's own output and log-sum-exp: no recomputation */
        o = (wf_bf16 *)o_kept;
        lse = (float *)lse_kept;
        ldo_used = (int)ldo;
    } else {
        fwd_args fa = {q,
                       k,
                       v,
                       o,
                       (int)ldq,
                       (int)ldk,
                       (int)ldv,
                       (int)qd,
                       lse,
                       starts_dev,
                       a->heads / a->kv_heads,
                       scale_log2};
        if ((rc = run_forward(a, fa, starts_dev, longest, stream, err)))
            return rc;
    }
    size_t rows = (size_t)T * a->heads;
    unsigned blocks = (unsigned)((rows * 32 + threads - 1) / threads);
    if (a->hd == 64)
        flash_delta<64>
            <<<blocks, threads, 0, stream>>>(o, ldo_used, dout, (int)lddo, T, a->heads, delta);
    else
        flash_delta<128>
            <<<blocks, threads, 0, stream>>>(o, ldo_used, dout, (int)lddo, T, a->heads, delta);
    if ((rc = launched("delta", err)))
        return rc;
    cudaError_t e = cudaMemsetAsync(dq_acc, 0, (size_t)T * qd * sizeof(float), stream);
    if (e != cudaSuccess)
        return wf_error_set(err, WF_EIO, "flash attention: cudaMemsetAsync: %s",
                            cudaGetErrorString(e));
    bwd_args ba = {q,          k,         v,     dout,     (int)ldq,   (int)ldk,
                   (int)ldv,   (int)lddo, dk,    dv,       (int)lddk,  (int)lddv,
                   dq_acc,     lse,       delta, a->heads, starts_dev, a->heads / a->kv_heads,
                   scale_log2, scale};
    rc = a->hd == 64 ? run_backward<64>(a, ba, starts_dev, longest, stream, err)
                     : run_backward<128>(a, ba, starts_dev, longest, stream, err);
    if (rc)
        return rc;
    dq_round<<<blocks_for(rows * a->hd), threads, 0, stream>>>(dq_acc, T, (int)qd, dq, lddq);
    return launched("dq rounding", err);
}
