/* Flash-style attention, forward and backward, for head widths 64 and 128.
 *
 * Forward: per block, 64 query rows of one head of one sequence; K and V
 * pass through shared memory 64 keys at a time (only the keys the causal
 * mask lets those rows see), scores and the output stay in registers, and
 * the softmax is taken online (running max and sum, the output rescaled
 * when the max grows), in base 2 on scores pre-scaled by log2(e) / sqrt(hd).
 * Each of 4 warps owns 16 of the block's rows. The log-sum-exp of each row
 * can be kept for the backward.
 *
 * Backward (as FlashAttention-2): per block, 64 keys of one KV head of one
 * sequence, each warp owning 16 keys; for each query head of the group and
 * each later tile of 32 queries it recomputes P from the saved log-sum-exp,
 * accumulates dV += P^T dO and dK += dS^T Q in registers (dS = P (dP - D) /
 * sqrt(hd), D = rowsum(dO * O)), and adds dQ = dS K into an fp32 buffer
 * with atomics, rounded to bf16 at the end.
 *
 * Products are tensor-core mma.sync m16n8k16 (bf16 operands, fp32
 * accumulation) with the register layouts the PTX ISA defines (g = lane / 4,
 * t = lane % 4): A (16x16, row-major) holds rows g and g + 8 at columns 2t,
 * 2t + 1 and 2t + 8, 2t + 9; B (16x8, column-major) holds rows (k) 2t, 2t +
 * 1 and 2t + 8, 2t + 9 of column g; C (16x8) holds rows g and g + 8 at
 * columns 2t, 2t + 1. Two adjacent C tiles are therefore exactly an A
 * operand, so probabilities never leave registers on their way to the next
 * product. */
#include <math.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

constexpr int tile = 64, warps = 4, bq = 32;
/* Row padding of the shared tiles: keeps the fragment loads of a warp's 8
 * row groups on distinct banks. */
constexpr int pad = 8;

__device__ __forceinline__ void mma(float c[4], const uint32_t a[4], const uint32_t b[2])
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/* Two adjacent bf16 of shared memory (the lower index in the low half). */
__device__ __forceinline__ uint32_t ld_pair(const wf_bf16 *p)
{
    return *(const uint32_t *)p;
}

__device__ __forceinline__ uint32_t pack(float lo, float hi)
{
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *(uint32_t *)&v;
}

__device__ __forceinline__ uint32_t pack16(wf_bf16 lo, wf_bf16 hi)
{
    return (uint32_t)__bfloat16_as_ushort(lo) | (uint32_t)__bfloat16_as_ushort(hi) << 16;
}

/* The A fragment of rows r, r + 8 and columns c .. c + 16 of a row-major
 * shared tile (row stride lds), r = the warp's first row + g, c + 2t. */
__device__ __forceinline__ void ld_a(uint32_t a[4], const wf_bf16 *p, int lds)
{
    a[0] = ld_pair(p);
    a[1] = ld_pair(p + 8 * lds);
    a[2] = ld_pair(p + 8);
    a[3] = ld_pair(p + 8 * lds + 8);
}

/* The B fragment whose k runs down the rows of a row-major shared tile:
 * p = tile + (k0 + 2t) * lds + n0 + g. */
__device__ __forceinline__ void ld_b_rows(uint32_t b[2], const wf_bf16 *p, int lds)
{
    b[0] = pack16(p[0], p[lds]);
    b[1] = pack16(p[8 * lds], p[9 * lds]);
}

/* Two adjacent C tiles (16 x 16 of fp32) as a bf16 A fragment. */
__device__ __forceinline__ void c_to_a(uint32_t a[4], const float lo[4], const float hi[4])
{
    a[0] = pack(lo[0], lo[1]);
    a[1] = pack(lo[2], lo[3]);
    a[2] = pack(hi[0], hi[1]);
    a[3] = pack(hi[2], hi[3]);
}

/* rows rows from r0 of src (row stride ld; rows from len on read as zero)
 * into a shared tile, 16 bytes at a time. */
template <int HD>
__device__ void load_rows(wf_bf16 *dst, const wf_bf16 *src, int ld, int r0, int rows, int len)
{
    constexpr int chunks = HD / 8, lds = HD + pad;
    for (int i = threadIdx.x; i < rows * chunks; i += warps * 32) {
        int r = i / chunks, c = (i % chunks) * 8;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (r0 + r < len)
            v = *(const uint4 *)(src + (size_t)(r0 + r) * ld + c);
        *(uint4 *)(dst + r * lds + c) = v;
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

struct fwd_args {
    const wf_bf16 *q, *k, *v;
    wf_bf16 *out;
    int ldq, ldk, ldv, ldo;
    float *lse; /* [T, heads], log2 domain; NULL: not kept */
    const int32_t *starts;
    int group;
    float scale_log2; /* log2(e) / sqrt(hd) */
};

/* The warp's 16 query rows against the tile's 64 keys, masked (causal, and
 * keys past the sequence) and scaled into the log2 domain. */
template <int HD>
__device__ void tile_scores(const wf_bf16 *ks, const uint32_t (*qf)[4], int j0, const int qi[2],
                            int len, float scale_log2, float (*sc)[4])
{
    constexpr int lds = HD + pad;
    int g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
    for (int nt = 0; nt < tile / 8; nt++)
        sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0.0f;
    for (int kk = 0; kk < HD / 16; kk++)
        for (int nt = 0; nt < tile / 8; nt++) {
            const wf_bf16 *kr = ks + (nt * 8 + g) * lds + kk * 16 + 2 * t;
            uint32_t b[2] = {ld_pair(kr), ld_pair(kr + 8)};
            mma(sc[nt], qf[kk], b);
        }
    for (int nt = 0; nt < tile / 8; nt++)
        for (int e = 0; e < 4; e++) {
            int j = j0 + nt * 8 + 2 * t + (e & 1);
            bool seen = j <= qi[e >> 1] && j < len;
            sc[nt][e] = seen ? sc[nt][e] * scale_log2 : -INFINITY;
        }
}

/* Grid: x = query tiles (the last first: they see the most keys), y =
 * sequences, z = query heads. Every row of a tile sees key j0 of every tile
 * it visits (j0 <= q0 <= row), so each row's max is finite after the first
 * tile and no row divides by zero. */
template <int HD> __global__ void __launch_bounds__(warps * 32) flash_forward(fwd_args a)
{
    constexpr int lds = HD + pad;
    __shared__ __align__(16) wf_bf16 ks[tile * lds], vs[tile * lds];
    int s = blockIdx.y, h = blockIdx.z;
    int t0 = a.starts[s], len = a.starts[s + 1] - t0;
    int q0 = (int)(gridDim.x - 1 - blockIdx.x) * tile;
    if (q0 >= len)
        return;
    int kh = h / a.group, warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
    const wf_bf16 *kb = a.k + (size_t)t0 * a.ldk + (size_t)kh * HD;
    const wf_bf16 *vb = a.v + (size_t)t0 * a.ldv + (size_t)kh * HD;

    load_rows<HD>(ks, a.q + (size_t)t0 * a.ldq + (size_t)h * HD, a.ldq, q0, tile, len);
    __syncthreads();
    int r = warp * 16 + g, qi[2] = {q0 + r, q0 + r + 8};
    uint32_t qf[HD / 16][4];
    for (int kk = 0; kk < HD / 16; kk++)
        ld_a(qf[kk], ks + r * lds + kk * 16 + 2 * t, lds);
    float o[HD / 8][4] = {}, m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
    int kend = min(len, q0 + tile);
    for (int j0 = 0; j0 < kend; j0 += tile) {
        __syncthreads(); /* the previous tile (or Q) is no longer read */
        load_rows<HD>(ks, kb, a.ldk, j0, tile, len);
        load_rows<HD>(vs, vb, a.ldv, j0, tile, len);
        __syncthreads();
        float sc[tile / 8][4];
        tile_scores<HD>(ks, qf, j0, qi, len, a.scale_log2, sc);
        for (int i = 0; i < 2; i++) {
            float mx = -INFINITY;
            for (int nt = 0; nt < tile / 8; nt++)
                mx = fmaxf(mx, fmaxf(sc[nt][2 * i], sc[nt][2 * i + 1]));
            float mn = fmaxf(m[i], quad_max(mx)), corr = exp2f(m[i] - mn);
            m[i] = mn;
            l[i] *= corr;
            for (int nt = 0; nt < HD / 8; nt++) {
                o[nt][2 * i] *= corr;
                o[nt][2 * i + 1] *= corr;
            }
            for (int nt = 0; nt < tile / 8; nt++)
                for (int e = 2 * i; e < 2 * i + 2; e++) {
                    sc[nt][e] = exp2f(sc[nt][e] - mn);
                    l[i] += sc[nt][e];
                }
        }
        for (int kk = 0; kk < tile / 16; kk++) {
            uint32_t pa[4];
            c_to_a(pa, sc[2 * kk], sc[2 * kk + 1]);
            const wf_bf16 *vr = vs + (kk * 16 + 2 * t) * lds + g;
            for (int nt = 0; nt < HD / 8; nt++) {
                uint32_t b[2];
                ld_b_rows(b, vr + nt * 8, lds);
                mma(o[nt], pa, b);
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        float sum = quad_sum(l[i]); /* by the whole warp, before any lane leaves */
        if (qi[i] >= len)
            continue;
        float inv = 1.0f / sum;
        wf_bf16 *orow = a.out + (size_t)(t0 + qi[i]) * a.ldo + (size_t)h * HD + 2 * t;
        for (int nt = 0; nt < HD / 8; nt++)
            *(uint32_t *)(orow + nt * 8) = pack(o[nt][2 * i] * inv, o[nt][2 * i + 1] * inv);
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

/* Shared memory of the backward: K and V tiles, a query step's Q and dO, its
 * log-sum-exp and delta, and dS^T for the dQ product. */
template <int HD> struct bwd_smem {
    static constexpr int lds = HD + pad, ldss = bq + pad;
    static constexpr size_t ks = 0, vs = ks + tile * lds, qs = vs + tile * lds, dos = qs + bq * lds,
                            dss = dos + bq * lds, end16 = dss + tile * ldss;
    static constexpr size_t bytes = end16 * sizeof(wf_bf16) + 2 * bq * sizeof(float);
};

extern __shared__ __align__(16) unsigned char flash_smem[];

/* One query step of the backward for the warp's 16 keys: P^T and dS^T (into
 * pt and dst), and the dV and dK updates. */
template <int HD>
__device__ void bwd_step(const bwd_args &a, const wf_bf16 *sm, const float *lse_s, const float *d_s,
                         int q0, int len, const int kr[2], float (*pt)[4], float (*dst)[4],
                         float (*dk)[4], float (*dv)[4])
{
    typedef bwd_smem<HD> L;
    const int lds = L::lds;
    int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
    const wf_bf16 *ks = sm + L::ks, *vs = sm + L::vs, *qs = sm + L::qs, *dos = sm + L::dos;
    for (int nt = 0; nt < bq / 8; nt++)
        for (int e = 0; e < 4; e++)
            pt[nt][e] = dst[nt][e] = 0.0f;
    for (int kk = 0; kk < HD / 16; kk++) {
        uint32_t ka[4], va[4];
        ld_a(ka, ks + (warp * 16 + g) * lds + kk * 16 + 2 * t, lds);
        ld_a(va, vs + (warp * 16 + g) * lds + kk * 16 + 2 * t, lds);
        for (int nt = 0; nt < bq / 8; nt++) {
            const wf_bf16 *qr = qs + (nt * 8 + g) * lds + kk * 16 + 2 * t;
            const wf_bf16 *dr = dos + (nt * 8 + g) * lds + kk * 16 + 2 * t;
            uint32_t b[2] = {ld_pair(qr), ld_pair(qr + 8)}, bd[2] = {ld_pair(dr), ld_pair(dr + 8)};
            mma(pt[nt], ka, b);
            mma(dst[nt], va, bd);
        }
    }
    for (int nt = 0; nt < bq / 8; nt++)
        for (int e = 0; e < 4; e++) {
            int c = nt * 8 + 2 * t + (e & 1), qc = q0 + c;
            bool ok = kr[e >> 1] <= qc && qc < len;
            float p = ok ? exp2f(pt[nt][e] * a.scale_log2 - lse_s[c]) : 0.0f;
            pt[nt][e] = p;
            dst[nt][e] = p * (dst[nt][e] - d_s[c]) * a.scale;
        }
    for (int kq = 0; kq < bq / 16; kq++) {
        uint32_t pa[4], sa[4];
        c_to_a(pa, pt[2 * kq], pt[2 * kq + 1]);
        c_to_a(sa, dst[2 * kq], dst[2 * kq + 1]);
        const wf_bf16 *dr = dos + (kq * 16 + 2 * t) * lds + g,
                      *qr = qs + (kq * 16 + 2 * t) * lds + g;
        for (int nt = 0; nt < HD / 8; nt++) {
            uint32_t b[2];
            ld_b_rows(b, dr + nt * 8, lds);
            mma(dv[nt], pa, b);
            ld_b_rows(b, qr + nt * 8, lds);
            mma(dk[nt], sa, b);
        }
    }
}

/* dQ of the step's 32 queries = dS K over the block's 64 keys, added into
 * a.dq: warp w takes query rows (w & 1) * 16 and half the columns. */
template <int HD>
__device__ void bwd_dq(const bwd_args &a, const wf_bf16 *sm, int t0, int q0, int len, int h)
{
    typedef bwd_smem<HD> L;
    const int lds = L::lds, ldss = L::ldss;
    constexpr int nts = HD / 16; /* n tiles per warp */
    int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
    int mq = (warp & 1) * 16 + g, n0 = (warp >> 1) * nts;
    const wf_bf16 *ks = sm + L::ks, *dss = sm + L::dss;
    float acc[nts][4] = {};
    for (int kk = 0; kk < tile / 16; kk++) {
        /* A = dS [query, key] read from dS^T [key, query] */
        const wf_bf16 *sp = dss + (kk * 16 + 2 * t) * ldss + mq;
        uint32_t sa[4] = {pack16(sp[0], sp[ldss]), pack16(sp[8], sp[ldss + 8]),
                          pack16(sp[8 * ldss], sp[9 * ldss]),
                          pack16(sp[8 * ldss + 8], sp[9 * ldss + 8])};
        const wf_bf16 *kp = ks + (kk * 16 + 2 * t) * lds + g;
        for (int j = 0; j < nts; j++) {
            uint32_t b[2];
            ld_b_rows(b, kp + (n0 + j) * 8, lds);
            mma(acc[j], sa, b);
        }
    }
    for (int e = 0; e < 4; e++) {
        int qc = q0 + mq + 8 * (e >> 1);
        if (qc >= len)
            continue;
        float *row = a.dq + (size_t)(t0 + qc) * a.heads * HD + (size_t)h * HD + 2 * t + (e & 1);
        for (int j = 0; j < nts; j++)
            atomicAdd(row + (n0 + j) * 8, acc[j][e]);
    }
}

/* Grid: x = key tiles (the first first: they see the most queries), y =
 * sequences, z = KV heads. */
template <int HD> __global__ void __launch_bounds__(warps * 32) flash_backward(bwd_args a)
{
    typedef bwd_smem<HD> L;
    wf_bf16 *sm = (wf_bf16 *)flash_smem;
    float *lse_s = (float *)(sm + L::end16), *d_s = lse_s + bq;
    int s = blockIdx.y, kh = blockIdx.z;
    int t0 = a.starts[s], len = a.starts[s + 1] - t0, j0 = blockIdx.x * tile;
    if (j0 >= len)
        return;
    int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
    int kr[2] = {j0 + warp * 16 + g, j0 + warp * 16 + g + 8};
    load_rows<HD>(sm + L::ks, a.k + (size_t)t0 * a.ldk + (size_t)kh * HD, a.ldk, j0, tile, len);
    load_rows<HD>(sm + L::vs, a.v + (size_t)t0 * a.ldv + (size_t)kh * HD, a.ldv, j0, tile, len);
    float dk[HD / 8][4] = {}, dv[HD / 8][4] = {};
    for (int gi = 0; gi < a.group; gi++) {
        int h = kh * a.group + gi;
        for (int q0 = j0; q0 < len; q0 += bq) {
            __syncthreads(); /* the previous step no longer reads Q, dO, dS^T */
            load_rows<HD>(sm + L::qs, a.q + (size_t)t0 * a.ldq + (size_t)h * HD, a.ldq, q0, bq,
                          len);
            load_rows<HD>(sm + L::dos, a.dout + (size_t)t0 * a.lddo + (size_t)h * HD, a.lddo, q0,
                          bq, len);
            if (threadIdx.x < bq) {
                int qc = q0 + threadIdx.x;
                size_t at = (size_t)(t0 + qc) * a.heads + h;
                lse_s[threadIdx.x] = qc < len ? a.lse[at] : 0.0f;
                d_s[threadIdx.x] = qc < len ? a.delta[at] : 0.0f;
            }
            __syncthreads();
            float pt[bq / 8][4], dst[bq / 8][4];
            bwd_step<HD>(a, sm, lse_s, d_s, q0, len, kr, pt, dst, dk, dv);
            wf_bf16 *dss = sm + L::dss;
            for (int nt = 0; nt < bq / 8; nt++)
                for (int i = 0; i < 2; i++)
                    *(uint32_t *)(dss + (warp * 16 + g + 8 * i) * L::ldss + nt * 8 + 2 * t) =
                        pack(dst[nt][2 * i], dst[nt][2 * i + 1]);
            __syncthreads();
            bwd_dq<HD>(a, sm, t0, q0, len, h);
        }
    }
    for (int i = 0; i < 2; i++) {
        if (kr[i] >= len)
            continue;
        size_t col = (size_t)kh * HD + 2 * t;
        wf_bf16 *dkr = a.dk + (size_t)(t0 + kr[i]) * a.lddk + col;
        wf_bf16 *dvr = a.dv + (size_t)(t0 + kr[i]) * a.lddv + col;
        for (int nt = 0; nt < HD / 8; nt++) {
            *(uint32_t *)(dkr + nt * 8) = pack(dk[nt][2 * i], dk[nt][2 * i + 1]);
            *(uint32_t *)(dvr + nt * 8) = pack(dv[nt][2 * i], dv[nt][2 * i + 1]);
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

int run_forward(const wf_k_attn *a, fwd_args fa, const int32_t *starts_dev, int longest,
                cudaStream_t stream, wf_error *err)
{
    unsigned tiles = (unsigned)((longest + tile - 1) / tile);
    for (int s0 = 0; s0 < a->n; s0 += max_grid_y) {
        dim3 grid(tiles, (unsigned)min(a->n - s0, max_grid_y), (unsigned)a->heads);
        fa.starts = starts_dev + s0;
        if (a->hd == 64)
            flash_forward<64><<<grid, warps * 32, 0, stream>>>(fa);
        else
            flash_forward<128><<<grid, warps * 32, 0, stream>>>(fa);
        int rc = launched("forward launch", err);
        if (rc)
            return rc;
    }
    return 0;
}

template <int HD>
int run_backward(const wf_k_attn *a, bwd_args ba, const int32_t *starts_dev, int longest,
                 cudaStream_t stream, wf_error *err)
{
    size_t bytes = bwd_smem<HD>::bytes;
    cudaError_t e = cudaFuncSetAttribute(flash_backward<HD>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
    if (e != cudaSuccess)
        return wf_error_set(err, WF_EIO, "flash attention: cudaFuncSetAttribute(%zu bytes): %s",
                            bytes, cudaGetErrorString(e));
    unsigned tiles = (unsigned)((longest + tile - 1) / tile);
    for (int s0 = 0; s0 < a->n; s0 += max_grid_y) {
        dim3 grid(tiles, (unsigned)min(a->n - s0, max_grid_y), (unsigned)a->kv_heads);
        ba.starts = starts_dev + s0;
        flash_backward<HD><<<grid, warps * 32, bytes, stream>>>(ba);
        int rc = launched("backward launch", err);
        if (rc)
            return rc;
    }
    return 0;
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
