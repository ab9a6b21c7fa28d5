/* The input side of a LoRA branch under dropout, with lora.c's masks
 * (dropout.h): the mask is drawn where x or the gradient is loaded and used
 * there, so no dropped-out copy of x, and no masked copy of its gradient,
 * ever reaches global memory. A separate dropout pass and two skinny cuBLAS
 * products per projection were a third of a training step.
 *
 * Three kernels, each with tensor-core products (mma.cuh) and 4 warps per
 * block: the down product (16 tokens per block, the warps splitting the
 * columns), dx (a 64 x 64 tile of tokens x columns per block, read and
 * written once) and dA (a 64-column tile over a chunk of tokens per block,
 * added once). Every load a thread needs for a step is issued before any of
 * it is used: chains of dependent loads made a first version ten times
 * slower than its memory traffic. */
extern "C" {
#include "model_transformer/dropout.h"
}

#include "mma.cuh"

using namespace wf_k_detail;

namespace
{

constexpr int tile = 64, warps = 4, threads_per_block = warps * 32;
constexpr int ld = tile + 8; /* padded row stride of the shared tiles */
/* Token tiles per dA block: one dA update per 256 tokens. */
constexpr int chunk_tiles = 4;

struct drop_args {
    uint32_t key, threshold;
    float scale;
    size_t row0;
};

/* Elements c and c + 1 of a row of n, zero past n; one 32-bit load when
 * aligned. */
__device__ __forceinline__ float2 load_pair(const wf_bf16 *row, int c, int n)
{
    if (c + 1 < n && !((uintptr_t)(row + c) & 3))
        return __bfloat1622float2(*(const __nv_bfloat162 *)(row + c));
    float2 v = {0.0f, 0.0f};
    if (c < n)
        v.x = __bfloat162float(row[c]);
    if (c + 1 < n)
        v.y = __bfloat162float(row[c + 1]);
    return v;
}

/* The keep bits of the pair at column c of token t0 + r. */
__device__ __forceinline__ uint32_t keep_of(const drop_args &d, uint32_t row_key, int c)
{
    return wf_tf_dropout_pair(row_key, (uint32_t)(c >> 1), d.threshold);
}

/* s[r, c] = m[r0 + r, c0 + c] for r < nr, c < nc (multiples of 16 up to
 * tile: what the products read), zero outside [rows, cols]; every load is
 * issued before the first store. */
__device__ void stage(const wf_bf16 *m, size_t ldm, int rows, int cols, int r0, int c0, int nr,
                      int nc, wf_bf16 *s)
{
    constexpr int per_thread = tile * tile / threads_per_block;
    wf_bf16 v[per_thread];
#pragma unroll
    for (int k = 0; k < per_thread; k++) {
        int q = threadIdx.x + k * threads_per_block, r = q / tile, c = q % tile;
        bool in = r < nr && c < nc && r0 + r < rows && c0 + c < cols;
        v[k] = in ? m[(size_t)(r0 + r) * ldm + c0 + c] : __float2bfloat16_rn(0.0f);
    }
#pragma unroll
    for (int k = 0; k < per_thread; k++) {
        int q = threadIdx.x + k * threads_per_block, r = q / tile, c = q % tile;
        if (r < nr && c < nc)
            s[r * ld + c] = v[k];
    }
}

/* xs = drop(x) over tokens t0.., columns c0.. (zero outside [T, in]), in
 * bf16 as the products read it; rows[] holds the tile's row keys. */
__device__ void stage_x(const wf_bf16 *x, size_t ldx, int T, int in, int t0, int c0,
                        const drop_args &d, const uint32_t *rows, wf_bf16 *xs)
{
    constexpr int per_thread = tile * tile / 2 / threads_per_block;
    float2 v[per_thread];
#pragma unroll
    for (int k = 0; k < per_thread; k++) {
        int q = threadIdx.x + k * threads_per_block, r = q / (tile / 2),
            c = c0 + 2 * (q % (tile / 2));
        v[k] = t0 + r < T && c < in ? load_pair(x + (size_t)(t0 + r) * ldx, c, in)
                                    : make_float2(0.0f, 0.0f);
    }
#pragma unroll
    for (int k = 0; k < per_thread; k++) {
        int q = threadIdx.x + k * threads_per_block, r = q / (tile / 2), pc = q % (tile / 2);
        uint32_t keep = keep_of(d, rows[r], c0 + 2 * pc);
        *(uint32_t *)(xs + r * ld + 2 * pc) =
            mma_pack(keep & 1 ? v[k].x * d.scale : 0.0f, keep & 2 ? v[k].y * d.scale : 0.0f);
    }
}

/* The A fragment of drop(x) for rows (tokens) rows[0..1] = g, g + 8 and
 * columns k0 + 2t, + 8, straight from global memory: xr[i] is the row of
 * token g + 8 i (NULL past T), rk[i] its row key. */
__device__ __forceinline__ void x_fragment(uint32_t a[4], const wf_bf16 *const xr[2],
                                           const uint32_t rk[2], int k0, int in, const drop_args &d)
{
    int t = threadIdx.x & 3;
    for (int h = 0; h < 2; h++)       /* columns 2t and 2t + 8 */
        for (int i = 0; i < 2; i++) { /* rows g and g + 8 */
            int c = k0 + 2 * t + 8 * h;
            float2 v = {0.0f, 0.0f};
            if (xr[i] && c < in) {
                v = load_pair(xr[i], c, in);
                uint32_t keep = keep_of(d, rk[i], c);
                v.x = keep & 1 ? v.x * d.scale : 0.0f;
                v.y = keep & 2 ? v.y * d.scale : 0.0f;
            }
            a[2 * h + i] = mma_pack(v.x, v.y);
        }
}

/* u[t, j0 + j] = bf16(sum_c drop(x)[t, c] A[j0 + j, c]): blockIdx.x = 16
 * tokens, blockIdx.y = rank tile (j0). The four warps split the columns in
 * 16-wide steps, reading their operands from global memory (x once, A from
 * cache), and sum their partial products through shared memory: T / 16
 * blocks of four warps keep enough loads in flight. */
__global__ void __launch_bounds__(threads_per_block)
    lora_down(const wf_bf16 *x, size_t ldx, int T, int in, const wf_bf16 *A, int rank, drop_args d,
              wf_bf16 *u)
{
    __shared__ float part[warps][16][tile + 1];
    int t0 = blockIdx.x * 16, j0 = blockIdx.y * tile, nts = min(rank - j0 + 7, tile) / 8;
    int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
    const wf_bf16 *xr[2];
    uint32_t rk[2];
    for (int i = 0; i < 2; i++) {
        int tok = t0 + g + 8 * i;
        xr[i] = tok < T ? x + (size_t)tok * ldx : NULL;
        rk[i] = wf_tf_dropout_row(d.key, d.row0 + (size_t)tok);
    }
    float acc[tile / 8][4] = {};
#pragma unroll 4
    for (int k0 = warp * 16; k0 < in; k0 += warps * 16) {
        uint32_t a[4];
        x_fragment(a, xr, rk, k0, in, d);
#pragma unroll
        for (int nt = 0; nt < tile / 8; nt++) {
            int j = j0 + nt * 8 + g;
            if (nt >= nts)
                continue;
            float2 lo = {0.0f, 0.0f}, hi = {0.0f, 0.0f};
            if (j < rank) {
                lo = load_pair(A + (size_t)j * in, k0 + 2 * t, in);
                hi = load_pair(A + (size_t)j * in, k0 + 2 * t + 8, in);
            }
            uint32_t b[2] = {mma_pack(lo.x, lo.y), mma_pack(hi.x, hi.y)};
            mma_bf16(acc[nt], a, b);
        }
    }
    for (int nt = 0; nt < tile / 8; nt++)
        for (int e = 0; e < 4; e++)
            part[warp][g + 8 * (e >> 1)][nt * 8 + 2 * t + (e & 1)] = acc[nt][e];
    __syncthreads();
    for (int q = threadIdx.x; q < 16 * tile; q += threads_per_block) {
        int r = q / tile, j = q % tile, tok = t0 + r;
        if (tok >= T || j0 + j >= rank)
            continue;
        float sum = part[0][r][j] + part[1][r][j] + part[2][r][j] + part[3][r][j];
        u[(size_t)tok * rank + j0 + j] = __float2bfloat16_rn(sum);
    }
}

/* dx[t0 + r, c0 + c] += keep * scale * sum_j du[t0 + r, j] A[j, c0 + c] for
 * the block's 64 x 64 tile: blockIdx.x = column tile, blockIdx.y = token
 * tile. Warp w owns tokens 16 w .. + 15. The tile of dx is loaded first,
 * so its reads overlap the rest; the rank is walked 64 at a time. */
__global__ void __launch_bounds__(threads_per_block)
    lora_dx(const wf_bf16 *__restrict__ A, int rank, int in, const wf_bf16 *__restrict__ du, int T,
            drop_args d, float *__restrict__ dx, size_t lddx)
{
    __shared__ __align__(16) wf_bf16 dus[tile * ld], as[tile * ld];
    int c0 = blockIdx.x * tile, t0 = blockIdx.y * tile;
    int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
    bool pairs = !(lddx & 1) && !((uintptr_t)dx & 7); /* float2 access */
    float2 old[2][tile / 8];
    uint32_t keep[2] = {0, 0}; /* 2 bits per n tile */
    for (int i = 0; i < 2; i++) {
        int tok = t0 + warp * 16 + g + 8 * i;
        const float *row = dx + (size_t)tok * lddx;
#pragma unroll
        for (int nt = 0; nt < tile / 8; nt++) {
            int c = c0 + nt * 8 + 2 * t;
            old[i][nt] = make_float2(0.0f, 0.0f);
            if (tok >= T || c >= in)
                continue;
            if (pairs && c + 1 < in)
                old[i][nt] = *(const float2 *)(row + c);
            else
                old[i][nt] = make_float2(row[c], c + 1 < in ? row[c + 1] : 0.0f);
        }
        uint32_t rk = wf_tf_dropout_row(d.key, d.row0 + (size_t)tok);
#pragma unroll
        for (int nt = 0; nt < tile / 8; nt++)
            keep[i] |= keep_of(d, rk, c0 + nt * 8 + 2 * t) << 2 * nt;
    }
    float acc[tile / 8][4] = {};
    for (int j0 = 0; j0 < rank; j0 += tile) {
        int kj = (min(rank - j0, tile) + 15) / 16;
        __syncthreads(); /* the previous rank tile is no longer read */
        stage(du, (size_t)rank, T, rank, t0, j0, tile, kj * 16, dus);
        stage(A, (size_t)in, rank, in, j0, c0, kj * 16, tile, as);
        __syncthreads();
        for (int kk = 0; kk < kj; kk++) {
            uint32_t a[4];
            mma_a_rows(a, dus + (warp * 16 + g) * ld + kk * 16 + 2 * t, ld);
#pragma unroll
            for (int nt = 0; nt < tile / 8; nt++) {
                uint32_t b[2];
                mma_b_cols(b, as + (kk * 16 + 2 * t) * ld + nt * 8 + g, ld);
                mma_bf16(acc[nt], a, b);
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        int tok = t0 + warp * 16 + g + 8 * i;
        float *row = dx + (size_t)tok * lddx;
#pragma unroll
        for (int nt = 0; nt < tile / 8; nt++) {
            int c = c0 + nt * 8 + 2 * t;
            if (tok >= T || c >= in)
                continue;
            uint32_t k = keep[i] >> 2 * nt;
            float2 v = {old[i][nt].x + (k & 1 ? acc[nt][2 * i] * d.scale : 0.0f),
                        old[i][nt].y + (k & 2 ? acc[nt][2 * i + 1] * d.scale : 0.0f)};
            if (pairs && c + 1 < in) {
                *(float2 *)(row + c) = v;
            } else {
                row[c] = v.x;
                if (c + 1 < in)
                    row[c + 1] = v.y;
            }
        }
    }
}

/* ga[j0 + j, c0 + c] += sum_t du[t, j0 + j] drop(x)[t, c0 + c] over the
 * block's tokens: blockIdx.x = column tile, blockIdx.y = chunk of
 * chunk_tiles token tiles, blockIdx.z = rank tile. Warp w owns columns 16 w
 * .. + 15 of the tile, every rank row. */
__global__ void __launch_bounds__(threads_per_block, 3)
    lora_da(const wf_bf16 *__restrict__ x, size_t ldx, int T, int in, int rank,
            const wf_bf16 *__restrict__ du, drop_args d, float *__restrict__ ga)
{
    __shared__ __align__(16) wf_bf16 xs[tile * ld], dus[tile * ld];
    __shared__ uint32_t rows[tile];
    int c0 = blockIdx.x * tile, j0 = blockIdx.z * tile, kj = (min(rank - j0, tile) + 15) / 16;
    int warp = threadIdx.x >> 5, g = (threadIdx.x & 31) >> 2, t = threadIdx.x & 3;
    float acc[tile / 16][2][4] = {};
    for (int k = 0; k < chunk_tiles; k++) {
        int t0 = (blockIdx.y * chunk_tiles + k) * tile;
        if (t0 >= T)
            break;
        __syncthreads(); /* the previous tile is no longer read */
        if (threadIdx.x < tile)
            rows[threadIdx.x] = wf_tf_dropout_row(d.key, d.row0 + (size_t)(t0 + threadIdx.x));
        stage(du, (size_t)rank, T, rank, t0, j0, tile, kj * 16, dus);
        __syncthreads();
        stage_x(x, ldx, T, in, t0, c0, d, rows, xs);
        __syncthreads();
        for (int kk = 0; kk < tile / 16; kk++)
#pragma unroll
            for (int mt = 0; mt < tile / 16; mt++) {
                if (mt >= kj) /* a constant bound keeps acc in registers */
                    continue;
                uint32_t a[4];
                mma_a_cols(a, dus + (kk * 16 + 2 * t) * ld + mt * 16 + g, ld);
                for (int n = 0; n < 2; n++) {
                    uint32_t b[2];
                    mma_b_cols(b, xs + (kk * 16 + 2 * t) * ld + (warp * 2 + n) * 8 + g, ld);
                    mma_bf16(acc[mt][n], a, b);
                }
            }
    }
#pragma unroll
    for (int mt = 0; mt < tile / 16; mt++)
        for (int n = 0; n < 2 && mt < kj; n++)
            for (int e = 0; e < 4; e++) {
                int j = j0 + mt * 16 + g + 8 * (e >> 1);
                int c = c0 + (warp * 2 + n) * 8 + 2 * t + (e & 1);
                if (j < rank && c < in)
                    atomicAdd(ga + (size_t)j * in + c, acc[mt][n][e]);
            }
}

drop_args drop_of(const wf_k_drop *d)
{
    return drop_args{d->key, d->threshold, wf_tf_dropout_scale(d->threshold), d->row0};
}

unsigned tiles_of(int n)
{
    return (unsigned)((n + tile - 1) / tile);
}

} // namespace

cudaError_t wf_k_lora_down(const wf_bf16 *x, size_t ldx, int T, int in, const wf_bf16 *A, int rank,
                           const wf_k_drop *d, wf_bf16 *u, cudaStream_t stream)
{
    if (T <= 0 || in <= 0 || rank <= 0)
        return cudaSuccess;
    dim3 grid((unsigned)((T + 15) / 16), tiles_of(rank));
    lora_down<<<grid, threads_per_block, 0, stream>>>(x, ldx, T, in, A, rank, drop_of(d), u);
    return cudaGetLastError();
}

cudaError_t wf_k_lora_input_backward(const wf_bf16 *x, size_t ldx, int T, int in, const wf_bf16 *A,
                                     int rank, const wf_bf16 *du, const wf_k_drop *d, float *dx,
                                     size_t lddx, float *ga, cudaStream_t stream)
{
    if (T <= 0 || in <= 0 || rank <= 0)
        return cudaSuccess;
    drop_args da = drop_of(d);
    lora_dx<<<dim3(tiles_of(in), tiles_of(T)), threads_per_block, 0, stream>>>(A, rank, in, du, T,
                                                                               da, dx, lddx);
    unsigned chunks = (tiles_of(T) + chunk_tiles - 1) / chunk_tiles;
    lora_da<<<dim3(tiles_of(in), chunks, tiles_of(rank)), threads_per_block, 0, stream>>>(
        x, ldx, T, in, rank, du, da, ga);
    return cudaGetLastError();
}
