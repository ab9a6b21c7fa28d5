/* The device kernels of the CUDA path (issue 7) and the attention path built
 * from them, for the driver's .cu files (C++ linkage).
 *
 * Conventions, for every function below:
 * - Every pointer is a device pointer unless its comment says "host".
 * - Matrices are row-major; "ld" is a row stride in elements.
 * - Frozen base matrices are bf16; the small frozen vectors (norm weights,
 *   Qwen2 biases, RoPE inv_freq) are fp32 on the device; the trained values
 *   are the flat fp32 params array of adapter.h, mirrored in bf16.
 * - Launch functions enqueue on stream, never synchronise, and return
 *   cudaGetLastError() (a launch error, not an asynchronous fault). n or
 *   rows of 0 launches nothing and returns cudaSuccess.
 * - "writes" overwrites the output; "accumulates" adds into it.
 * - The functions taking a cublasHandle_t run on the handle's stream (in
 *   host pointer mode, the default) and return 0 or a negative wf_err with
 *   err naming the failing call; so do the flash functions, on stream.
 * - Embeddings and every base weight are frozen, so there is no embedding
 *   backward and no weight gradient except for the flat params. */
#ifndef WF_KERNELS_CUH
#define WF_KERNELS_CUH

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "wildfeed/err.h"
}

typedef __nv_bfloat16 wf_bf16;

/* ---- conversions and elementwise helpers (k_misc.cu) ---- */

/* y[i] = bf16(x[i]) (round to nearest even), i < n. Writes. */
cudaError_t wf_k_f32_to_bf16(const float *x, wf_bf16 *y, size_t n, cudaStream_t stream);
/* y[i] = float(x[i]), i < n. Writes. */
cudaError_t wf_k_bf16_to_f32(const wf_bf16 *x, float *y, size_t n, cudaStream_t stream);
/* y[i] += x[i], fp32, i < n. Accumulates. */
cudaError_t wf_k_add_f32(float *y, const float *x, size_t n, cudaStream_t stream);
/* x[i] *= s, fp32, i < n (gradient clipping). In place. */
cudaError_t wf_k_scale_f32(float *x, size_t n, float s, cudaStream_t stream);
/* pos[t] = t - starts[s] for each token t of sequence s: starts [n + 1]
 * int32 (starts[0] = 0, starts[n] = T, increasing), pos [T] int32. Writes. */
cudaError_t wf_k_positions(const int32_t *starts, int n, int T, int32_t *pos, cudaStream_t stream);
/* cudaSuccess when the current device can run this build's kernels (the
 * build holds code for its architecture, or PTX it can compile); otherwise
 * the error every launch would give. */
cudaError_t wf_k_probe(void);

/* ---- embedding (k_embed.cu) ---- */

/* x[t, :] = float(table[ids[t], :]): table bf16 [V, h], ids int32 [T] (in
 * [0, V), checked by the caller), x fp32 [T, h] (ld h). Writes. Embeddings
 * are frozen: there is no backward. */
cudaError_t wf_k_embed(const wf_bf16 *table, const int32_t *ids, int T, int h, float *x,
                       cudaStream_t stream);

/* ---- RMSNorm (k_norm.cu) ---- */

/* y[r, :] = bf16(w * (x[r, :] * rstd[r])), rstd[r] = 1 / sqrt(mean(x[r,
 * :]^2) + eps), as wf_tf_rmsnorm: x fp32 [rows, dim] (ld ldx), w fp32
 * [dim], y bf16 [rows, dim] (ld ldy). rstd fp32 [rows] is written when non-
 * NULL (optional). Writes y. */
cudaError_t wf_k_rmsnorm(const float *x, size_t ldx, int rows, int dim, const float *w, float eps,
                         wf_bf16 *y, size_t ldy, float *rstd, cudaStream_t stream);
/* The gradient of wf_k_rmsnorm's input, as wf_tf_rmsnorm_backward: x fp32
 * [rows, dim] (ld ldx, the forward input), w fp32 [dim], dy fp32 [rows, dim]
 * (ld lddy), rstd fp32 [rows] from the forward or NULL (recomputed from x),
 * dx fp32 [rows, dim] (ld lddx). Writes dx, or accumulates when accumulate
 * is non-zero. dx must not alias x or dy. */
cudaError_t wf_k_rmsnorm_backward(const float *x, size_t ldx, int rows, int dim, const float *w,
                                  float eps, const float *rstd, const float *dy, size_t lddy,
                                  float *dx, size_t lddx, int accumulate, cudaStream_t stream);
/* Qwen3's per-head q/k norm: each head (hd wide) of each of T tokens
 * normalised with w fp32 [hd], arithmetic in fp32. x bf16 [T, heads * hd]
 * (ld ldx), y bf16 likewise (ld ldy); y may equal x (in place). Writes y. */
cudaError_t wf_k_headnorm(const wf_bf16 *x, size_t ldx, int T, int heads, int hd, const float *w,
                          float eps, wf_bf16 *y, size_t ldy, cudaStream_t stream);
/* Its input gradient: x bf16 (the forward input, ld ldx), dy bf16 (ld lddy),
 * dx bf16 (ld lddx), all [T, heads * hd]; dx may equal dy (in place), not
 * x. Writes dx. */
cudaError_t wf_k_headnorm_backward(const wf_bf16 *x, size_t ldx, int T, int heads, int hd,
                                   const float *w, float eps, const wf_bf16 *dy, size_t lddy,
                                   wf_bf16 *dx, size_t lddx, cudaStream_t stream);

/* ---- RoPE (k_rope.cu) ---- */

/* Rotates heads heads (hd wide, rotate_half layout) of each of T tokens in
 * place: x bf16 [T, heads * hd] (ld ldx), token t at position pos[t] (int32
 * [T], e.g. from wf_k_positions), angle float(pos) * inv_freq[i] (fp32 [hd /
 * 2]) with precise cosf/sinf, as wf_tf_rope_apply. inverse != 0 rotates by
 * the opposite angle: the backward, as wf_tf_rope_backward. */
cudaError_t wf_k_rope(wf_bf16 *x, size_t ldx, int T, int heads, int hd, const int32_t *pos,
                      const float *inv_freq, int inverse, cudaStream_t stream);

/* ---- Qwen2 biases (k_misc.cu) ---- */

/* y[r, c] += b[c]: y [rows, cols] (ld ldy), b fp32 [cols]. Accumulates. */
cudaError_t wf_k_bias_add_bf16(wf_bf16 *y, size_t ldy, int rows, int cols, const float *b,
                               cudaStream_t stream);
cudaError_t wf_k_bias_add_f32(float *y, size_t ldy, int rows, int cols, const float *b,
                              cudaStream_t stream);

/* ---- attention: causal softmax kernels (k_softmax.cu) ---- */

/* For batch * rows rows of width cols (fp32 scores s, bf16 probabilities p,
 * both [batch, rows, cols] contiguous): row i of each batch item sees
 * columns 0 .. first + i (first + rows <= cols) and gets
 * p = softmax(scale * s) over them, 0 elsewhere. Writes p. */
cudaError_t wf_k_causal_softmax(const float *s, wf_bf16 *p, int batch, int rows, int cols,
                                int first, float scale, cudaStream_t stream);
/* Its backward with the same layout: ds = scale * p * (dp - sum_j p_j dp_j)
 * on the seen columns, 0 elsewhere (scale folded in here, so ds is the
 * gradient of the unscaled scores Q K^T). p and dp as above; ds bf16 may
 * equal p (in place). Writes ds. */
cudaError_t wf_k_causal_softmax_backward(const wf_bf16 *p, const float *dp, wf_bf16 *ds, int batch,
                                         int rows, int cols, int first, float scale,
                                         cudaStream_t stream);

/* ---- attention path (k_attention.cu) ---- */

/* One packed batch's causal GQA attention, as wf_tf_attention per sequence:
 * scores by cuBLAS (bf16 in, fp32 out), wf_k_causal_softmax to bf16, P V by
 * cuBLAS; query rows are taken in blocks and KV heads in chunks so that the
 * scores fit the scratch given. */
typedef struct wf_k_attn {
    int heads, kv_heads, hd;
    const int32_t *starts; /* host, [n + 1]: sequence s is tokens starts[s] .. starts[s + 1] */
    int n;
    void *scratch; /* device, scratch_bytes (>= wf_k_attention_scratch_min) */
    size_t scratch_bytes;
} wf_k_attn;

/* Scratch bytes for the fastest plan (all KV heads and rows at once) for
 * sequences up to longest, capped at cap bytes but never below the minimum;
 * the same size serves forward and backward. */
size_t wf_k_attention_scratch_bytes(int heads, int kv_heads, int hd, int longest, size_t cap);
/* The least scratch the functions below accept for sequences up to longest. */
size_t wf_k_attention_scratch_min(int heads, int kv_heads, int hd, int longest);

/* q bf16 [T, heads * hd] (ld ldq), k and v bf16 [T, kv_heads * hd] (ld ldk,
 * ldv), RoPE already applied; out bf16 [T, heads * hd] (ld ldo). Writes
 * out. */
int wf_k_attention_forward(cublasHandle_t cublas, const wf_k_attn *a, const wf_bf16 *q, size_t ldq,
                           const wf_bf16 *k, size_t ldk, const wf_bf16 *v, size_t ldv, wf_bf16 *out,
                           size_t ldo, wf_error *err);
/* The gradients of q, k and v given dout bf16 [T, heads * hd] (ld lddo), as
 * wf_tf_attention_backward: dq bf16 [T, heads * hd], dk and dv bf16 [T,
 * kv_heads * hd] (their own lds; summed over the query heads of a group in
 * fp32 before rounding). Probabilities are recomputed. Writes dq, dk, dv. */
int wf_k_attention_backward(cublasHandle_t cublas, const wf_k_attn *a, const wf_bf16 *q, size_t ldq,
                            const wf_bf16 *k, size_t ldk, const wf_bf16 *v, size_t ldv,
                            const wf_bf16 *dout, size_t lddo, wf_bf16 *dq, size_t lddq, wf_bf16 *dk,
                            size_t lddk, wf_bf16 *dv, size_t lddv, wf_error *err);

/* ---- flash-style attention (k_flash.cu) ---- */

/* 1 when the flash kernels handle head width hd (64 or 128). */
int wf_k_flash_supported(int hd);
/* Dynamic shared memory a block of the flash forward or backward needs at
 * head width hd (0 when unsupported): the device's opt-in limit per block
 * (cudaDevAttrMaxSharedMemoryPerBlockOptin) must be at least this for the
 * kernel to launch, which not every GPU allows (99 KiB on sm_86/sm_89). */
size_t wf_k_flash_forward_smem(int hd);
size_t wf_k_flash_backward_smem(int hd);
/* The result of wf_k_attention_forward (same a, same operands) without
 * score matrices: online softmax over 64-key tiles in shared memory,
 * tensor-core products (bf16 in, fp32 accumulate); a->scratch is unused.
 * starts_dev is a device copy of a->starts (int32 [n + 1]). lse fp32 [T,
 * heads] receives each row's log-sum-exp (base 2, of the scaled scores)
 * when non-NULL. Needs wf_k_flash_supported(hd), wf_k_flash_forward_smem(hd)
 * bytes of shared memory per block, row strides that are multiples of 8 and
 * 16-byte aligned pointers (WF_EINVAL otherwise). Launches on stream.
 * Writes out. */
int wf_k_flash_forward(const wf_k_attn *a, const int32_t *starts_dev, const wf_bf16 *q, size_t ldq,
                       const wf_bf16 *k, size_t ldk, const wf_bf16 *v, size_t ldv, wf_bf16 *out,
                       size_t ldo, float *lse, cudaStream_t stream, wf_error *err);
/* Scratch bytes of wf_k_flash_backward for T tokens in all: dQ in fp32 and
 * each row's delta, plus the recomputed output and log-sum-exp unless the
 * forward's are kept. */
size_t wf_k_flash_backward_scratch(int T, int heads, int hd, int kept);
/* The result of wf_k_attention_backward (same a and operands) the
 * FlashAttention-2 way: the forward is recomputed (output and log-sum-exp
 * into scratch), then per 64 keys of a KV head dK and dV collect in
 * registers over the group's query heads, and dQ in fp32 scratch through
 * atomics (so its rounding order varies from run to run). scratch: 16-byte
 * aligned, wf_k_flash_backward_scratch bytes; a->scratch is unused; the
 * other requirements as wf_k_flash_forward. o_kept (ld ldo) and lse_kept:
 * the forward's output and lse when the caller kept them (training does),
 * so the forward is not recomputed; both NULL to recompute. Writes dq, dk,
 * dv. */
int wf_k_flash_backward(const wf_k_attn *a, const int32_t *starts_dev, const wf_bf16 *q, size_t ldq,
                        const wf_bf16 *k, size_t ldk, const wf_bf16 *v, size_t ldv,
                        const wf_bf16 *o_kept, size_t ldo, const float *lse_kept,
                        const wf_bf16 *dout, size_t lddo, wf_bf16 *dq, size_t lddq, wf_bf16 *dk,
                        size_t lddk, wf_bf16 *dv, size_t lddv, void *scratch, size_t scratch_bytes,
                        cudaStream_t stream, wf_error *err);

/* ---- SwiGLU (k_mlp.cu) ---- */

/* act[r, c] = bf16(silu(gate[r, c]) * up[r, c]) in fp32 arithmetic: gate
 * and up bf16 [rows, cols] sharing the row stride ldin (so a fused [rows, 2
 * * cols] gate|up output works with up = gate + cols, ldin = 2 * cols), act
 * bf16 [rows, cols] (ld ldact). Writes act. */
cudaError_t wf_k_swiglu(const wf_bf16 *gate, const wf_bf16 *up, size_t ldin, int rows, int cols,
                        wf_bf16 *act, size_t ldact, cudaStream_t stream);
/* As wf_tf_swiglu_backward: given the forward's gate and up (bf16, ld ldin)
 * and dact fp32 [rows, cols] (ld lddact), writes dgate and dup bf16 [rows,
 * cols] sharing the row stride ldd (fused layout as above). */
cudaError_t wf_k_swiglu_backward(const wf_bf16 *gate, const wf_bf16 *up, size_t ldin, int rows,
                                 int cols, const float *dact, size_t lddact, wf_bf16 *dgate,
                                 wf_bf16 *dup, size_t ldd, cudaStream_t stream);

/* ---- LoRA input dropout (k_lora.cu) ---- */

/* One projection's dropout mask, as lora.c draws it (dropout.h): key =
 * wf_tf_dropout_key(seed, layer, proj), threshold =
 * wf_tf_dropout_threshold(p), and row0 the token index of row 0 in the
 * packed wf_tf_batch. Row r, column c is kept when bit c & 1 of
 * wf_tf_dropout_pair(wf_tf_dropout_row(key, row0 + r), c / 2, threshold) is
 * set, and scaled by wf_tf_dropout_scale(threshold). (A host struct.) */
typedef struct wf_k_drop {
    uint32_t key, threshold;
    size_t row0;
} wf_k_drop;

/* out[r, c] = keep ? bf16(x[r, c] * scale) : 0: x bf16 [rows, cols] (ld
 * ldx), out bf16 [rows, cols] (ld ldo). Writes out. */
cudaError_t wf_k_lora_dropout(const wf_bf16 *x, size_t ldx, int rows, int cols, const wf_k_drop *d,
                              wf_bf16 *out, size_t ldo, cudaStream_t stream);
/* The same mask on a gradient: dx[r, c] += keep ? g[r, c] * scale : 0, g
 * and dx fp32 [rows, cols] (ld ldg, lddx). Accumulates; dx must not alias
 * g. */
cudaError_t wf_k_lora_dropout_backward(const float *g, size_t ldg, int rows, int cols,
                                       const wf_k_drop *d, float *dx, size_t lddx,
                                       cudaStream_t stream);

/* ---- pooling: last token + final RMSNorm (k_pool.cu) ---- */

/* pooled[s, :] = w * x[last_s, :] * rstd[s] with last_s = starts[s + 1] - 1:
 * x fp32 [T, h] (ld h), starts int32 [n + 1], w fp32 [h], pooled fp32 [n,
 * h]; rstd fp32 [n] written when non-NULL. Writes pooled. */
cudaError_t wf_k_pool(const float *x, int h, const int32_t *starts, int n, const float *w,
                      float eps, float *pooled, float *rstd, cudaStream_t stream);
/* Its backward: dx[last_s, :] += the RMSNorm input gradient of dpooled [n,
 * h] fp32; the other rows of dx fp32 [T, h] are untouched. rstd from the
 * forward or NULL (recomputed). Accumulates. */
cudaError_t wf_k_pool_backward(const float *x, int h, const int32_t *starts, int n, const float *w,
                               float eps, const float *rstd, const float *dpooled, float *dx,
                               cudaStream_t stream);

/* ---- ordinal head and loss (k_head.cu) ---- */

/* logits[s, k] = w_k . pooled[s, :] + b[k], k < 3: pooled fp32 [n, h],
 * logits fp32 [n, 3]. coral != 0: one vector w fp32 [h] for all k;
 * otherwise w fp32 [3, h] (also the base model's own head). b fp32 [3].
 * Writes logits. */
cudaError_t wf_k_head_forward(const float *pooled, int n, int h, const float *w, const float *b,
                              int coral, float *logits, cudaStream_t stream);
/* wf_tf_ordinal_loss per sample: labels int32 [n] in 1..4, loss fp64 [n]
 * (sample losses; the caller sums them), dlogits fp32 [n, 3] = scale * dz.
 * Writes both. */
cudaError_t wf_k_ordinal_loss(const float *logits, const int32_t *labels, int n, float scale,
                              double *loss, float *dlogits, cudaStream_t stream);
/* The head's backward: gw (fp32, [h] coral or [3, h]) += sum_s dlogits ⊗
 * pooled, gb fp32 [3] += sum_s dlogits (both usually point into the flat
 * gradient: accumulates); dpooled fp32 [n, h] = dlogits w (writes). */
cudaError_t wf_k_head_backward(const float *pooled, int n, int h, const float *w, int coral,
                               const float *dlogits, float *gw, float *gb, float *dpooled,
                               cudaStream_t stream);

/* ---- optimiser (k_optim.cu) ---- */

/* Blocks of the first pass of wf_k_sumsq: partial holds this many doubles. */
#define WF_K_REDUCE_BLOCKS 512
/* out[0] = sum of g[i]^2, i < n, in fp64 (deterministic: fixed blocks, then
 * one block over partial). g fp32, partial fp64 [WF_K_REDUCE_BLOCKS]
 * scratch, out fp64 [1]. Writes out, 0 when n is 0. The caller takes sqrt
 * on the host. */
cudaError_t wf_k_sumsq(const float *g, size_t n, double *partial, double *out, cudaStream_t stream);

/* The scalars of one AdamW step, computed on the host in double as
 * wf_tf_adamw_step does (t = the 1-based step). */
typedef struct wf_k_adamw_args {
    double beta1, beta2, eps;
    double decay;     /* 1 - lr * weight_decay, on params [0, n_decay) */
    double step_size; /* lr / (1 - beta1^t) */
    double sqrt_bc2;  /* sqrt(1 - beta2^t) */
    float gscale;     /* (float)(max_grad_norm / norm) when clipping, else 1 */
} wf_k_adamw_args;

/* One AdamW step over n fp32 params, exactly wf_tf_adamw_step's arithmetic
 * (in double, moments stored as fp32): g' = g * gscale (in fp32); m = beta1
 * m + (1 - beta1) g'; v = beta2 v + (1 - beta2) g'^2; p = (i < n_decay ? p *
 * decay : p) - step_size * m / (sqrt(v) / sqrt_bc2 + eps). g is only read
 * (the CPU leaves it scaled; the engine zeroes it anyway). When p16 is
 * non-NULL, p16[i] = bf16(new p[i]) (the bf16 mirror). Writes p, m, v,
 * p16. */
cudaError_t wf_k_adamw(float *p, const float *g, float *m, float *v, size_t n, size_t n_decay,
                       const wf_k_adamw_args *a, wf_bf16 *p16, cudaStream_t stream);

/* ---- device helpers shared by the k_*.cu files (not for the driver) ---- */

namespace wf_k_detail
{

/* Threads per block of the elementwise kernels, and the grid cap of their
 * grid-stride loops (any n works). */
constexpr int threads = 256;
constexpr size_t max_blocks = (size_t)1 << 20;

inline unsigned blocks_for(size_t n)
{
    size_t b = (n + threads - 1) / threads;
    return (unsigned)(b < max_blocks ? b : max_blocks);
}

/* A grid for row-by-row kernels over [rows, cols]: blocks across the
 * columns, one grid row per matrix row (the kernel loops past 65535). */
inline dim3 grid_rows(int rows, int cols)
{
    unsigned x = (unsigned)((cols + threads - 1) / threads);
    return dim3(x, (unsigned)(rows < 65535 ? rows : 65535));
}

template <typename T> __device__ __forceinline__ T warp_sum(T v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

template <typename T> __device__ __forceinline__ T warp_max(T v)
{
    for (int o = 16; o > 0; o >>= 1) {
        T u = __shfl_xor_sync(0xffffffffu, v, o);
        v = u > v ? u : v;
    }
    return v;
}

/* The sum over the block, returned to every thread. blockDim.x must be a
 * multiple of 32; sh is 32 T of shared memory; every thread must call it
 * (it synchronises, also against the previous call's reads of sh). */
template <typename T> __device__ T block_sum(T v, T *sh)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0)
        sh[warp] = v;
    __syncthreads();
    return warp_sum(lane < warps ? sh[lane] : T(0));
}

/* The same for the maximum; lo is the identity (e.g. -INFINITY). */
template <typename T> __device__ T block_max(T v, T *sh, T lo)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0)
        sh[warp] = v;
    __syncthreads();
    return warp_max(lane < warps ? sh[lane] : lo);
}

/* Two bf16, a first, as the 32-bit word they make in memory, and back. */
__device__ __forceinline__ unsigned pack_bf16(float a, float b)
{
    __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
    return *reinterpret_cast<unsigned *>(&h);
}

__device__ __forceinline__ float2 unpack_bf16(unsigned u)
{
    return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(&u));
}

/* V consecutive elements into (or from) fp32 registers, for the elementwise
 * kernels: one vector access for V = 8 or 4 bf16 (16 or 8 bytes) and V = 4
 * fp32, two for V = 8 fp32; element by element otherwise. The caller checks the alignment a vector
 * access needs. */
template <int V> __device__ __forceinline__ void load(const wf_bf16 *p, float (&f)[V])
{
    if constexpr (V == 8) {
        uint4 u = *reinterpret_cast<const uint4 *>(p);
        unsigned w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
        for (int j = 0; j < 4; j++) {
            float2 t = unpack_bf16(w[j]);
            f[2 * j] = t.x, f[2 * j + 1] = t.y;
        }
    } else if constexpr (V == 4) {
        uint2 u = *reinterpret_cast<const uint2 *>(p);
        float2 lo = unpack_bf16(u.x), hi = unpack_bf16(u.y);
        f[0] = lo.x, f[1] = lo.y, f[2] = hi.x, f[3] = hi.y;
    } else {
#pragma unroll
        for (int j = 0; j < V; j++)
            f[j] = __bfloat162float(p[j]);
    }
}

template <int V> __device__ __forceinline__ void load(const float *p, float (&f)[V])
{
    if constexpr (V == 8) {
        float4 lo = reinterpret_cast<const float4 *>(p)[0],
               hi = reinterpret_cast<const float4 *>(p)[1];
        f[0] = lo.x, f[1] = lo.y, f[2] = lo.z, f[3] = lo.w;
        f[4] = hi.x, f[5] = hi.y, f[6] = hi.z, f[7] = hi.w;
    } else if constexpr (V == 4) {
        float4 u = *reinterpret_cast<const float4 *>(p);
        f[0] = u.x, f[1] = u.y, f[2] = u.z, f[3] = u.w;
    } else {
#pragma unroll
        for (int j = 0; j < V; j++)
            f[j] = p[j];
    }
}

/* __stwb is a plain store that stays one vector instruction: the compiler
 * splits some vector stores of unrolled loops into 4-byte ones. */
template <int V> __device__ __forceinline__ void store(wf_bf16 *p, const float (&f)[V])
{
    if constexpr (V == 8) {
        __stwb(reinterpret_cast<uint4 *>(p),
               make_uint4(pack_bf16(f[0], f[1]), pack_bf16(f[2], f[3]), pack_bf16(f[4], f[5]),
                          pack_bf16(f[6], f[7])));
    } else if constexpr (V == 4) {
        __stwb(reinterpret_cast<uint2 *>(p),
               make_uint2(pack_bf16(f[0], f[1]), pack_bf16(f[2], f[3])));
    } else {
#pragma unroll
        for (int j = 0; j < V; j++)
            p[j] = __float2bfloat16_rn(f[j]);
    }
}

template <int V> __device__ __forceinline__ void store(float *p, const float (&f)[V])
{
    if constexpr (V == 8) {
        __stwb(reinterpret_cast<float4 *>(p), make_float4(f[0], f[1], f[2], f[3]));
        __stwb(reinterpret_cast<float4 *>(p) + 1, make_float4(f[4], f[5], f[6], f[7]));
    } else if constexpr (V == 4) {
        __stwb(reinterpret_cast<float4 *>(p), make_float4(f[0], f[1], f[2], f[3]));
    } else {
#pragma unroll
        for (int j = 0; j < V; j++)
            p[j] = f[j];
    }
}

} // namespace wf_k_detail

#endif
