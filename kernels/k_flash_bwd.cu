/* Flash-style attention, backward (as FlashAttention-2), for head widths 64
 * and 128; flash.cuh has what it shares with the forward (k_flash.cu).
 *
 * Per block, 64 keys of one KV head of one sequence, each warp owning 16
 * keys; for each query head of the group and each later step of bq = 64
 * queries it recomputes P from the saved log-sum-exp, accumulates dV += P^T
 * dO and dK += dS^T Q in registers (dS = P (dP - D) / sqrt(hd), D =
 * rowsum(dO * O)), and adds dQ = dS K into an fp32 buffer with (vector)
 * atomics, rounded to bf16 at the end. Each step's Q, dO, lse and D are
 * fetched with cp.async during the previous step; only the steps on the
 * diagonal or past the sequence's end are masked. */
#include "flash.cuh"

using namespace wf_k_detail;
using namespace wf_k_flash;

namespace
{

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

size_t wf_k_flash_backward_smem(int hd)
{
    return hd == 64 ? bwd_smem<64>::bytes : hd == 128 ? bwd_smem<128>::bytes : 0;
}

size_t wf_k_flash_backward_scratch(int T, int heads, int hd, int kept)
{
    size_t qd = (size_t)heads * hd, th = (size_t)T * heads;
    size_t need = align_up((size_t)T * qd * sizeof(float)) + align_up(th * sizeof(float));
    return kept ? need
                : need + align_up((size_t)T * qd * sizeof(wf_bf16)) + align_up(th * sizeof(float));
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
    size_t need = wf_k_flash_backward_scratch(T, a->heads, a->hd, o_kept != NULL);
    if (scratch_bytes < need)
        return wf_error_set(err, WF_ENOMEM, "flash attention: scratch of %zu bytes, %zu needed",
                            scratch_bytes, need);
    /* dQ, delta, then (recomputed only) the output and lse */
    char *p = (char *)scratch;
    float *dq_acc = (float *)p;
    float *delta = (float *)(p += align_up((size_t)T * qd * sizeof(float)));
    wf_bf16 *o = (wf_bf16 *)(p += align_up((size_t)T * a->heads * sizeof(float)));
    float *lse = (float *)(p + align_up((size_t)T * qd * sizeof(wf_bf16)));
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
