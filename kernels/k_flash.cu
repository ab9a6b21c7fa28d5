/* Flash-style attention, forward, for head widths 64 and 128 (flash.cuh
 * has what it shares with the backward, k_flash_bwd.cu).
 *
 * Per block, 64 query rows of one head of one sequence, each of 4 warps
 * owning 16. Q goes to registers once; K and V pass through shared memory
 * 64 keys at a time (only the tiles the causal mask lets those rows see),
 * double-buffered: cp.async fetches the next tile while the current one is
 * used, one barrier per tile. Scores and the output stay in registers and
 * the softmax is taken online (running max and sum, the output rescaled
 * when the max grows), in base 2: p = 2^(s * log2(e) / sqrt(hd) - m), one
 * FMA per score. Only the last tile (the diagonal one, which also holds the
 * sequence's end) is masked. The log-sum-exp of each row can be kept for
 * the backward. */
#include "flash.cuh"

using namespace wf_k_detail;
using namespace wf_k_flash;

namespace
{

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

} // namespace

int wf_k_flash::run_forward(const wf_k_attn *a, fwd_args fa, const int32_t *starts_dev, int longest,
                            cudaStream_t stream, wf_error *err)
{
    return a->hd == 64 ? launch_forward<64>(a, fa, starts_dev, longest, stream, err)
                       : launch_forward<128>(a, fa, starts_dev, longest, stream, err);
}

int wf_k_flash_supported(int hd)
{
    return hd == 64 || hd == 128;
}

size_t wf_k_flash_forward_smem(int hd)
{
    return hd == 64 ? fwd_smem<64>::bytes : hd == 128 ? fwd_smem<128>::bytes : 0;
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
