/* RoPE in the rotate_half layout on bf16 heads, in place, with the angles
 * computed as ops.c does (float(pos) * inv_freq[i], precise sincosf), so
 * the only difference from the CPU is the bf16 rounding of the result. */
#include <math.h>
#include <stdint.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

/* Frequencies per thread on the 16-byte path. */
constexpr int vec = 8;
/* Heads loaded before any is rotated, so that several loads are in flight:
 * a thread's heads are otherwise a chain of dependent round trips. */
constexpr int head_group = 4;
constexpr int rope_threads = 128;
constexpr size_t grid_cap = 2048;

/* Rotates V pairs (p[j], p[half + j]) of count <= head_group heads, hd
 * apart, by the angles of cosines c and sines s. */
template <int V>
__device__ void rotate_heads(wf_bf16 *p, int hd, int half, int count, const float (&c)[V],
                             const float (&s)[V])
{
    float a[head_group][V], b[head_group][V];
#pragma unroll
    for (int k = 0; k < head_group; k++)
        if (k < count) {
            load(p + (size_t)k * hd, a[k]);
            load(p + (size_t)k * hd + half, b[k]);
        }
#pragma unroll
    for (int k = 0; k < head_group; k++)
        if (k < count) {
#pragma unroll
            for (int j = 0; j < V; j++) {
                float x = a[k][j], y = b[k][j];
                a[k][j] = x * c[j] - y * s[j];
                b[k][j] = y * c[j] + x * s[j];
            }
            store(p + (size_t)k * hd, a[k]);
            store(p + (size_t)k * hd + half, b[k]);
        }
}

/* One thread per (token, V frequencies): the angles are shared by every
 * head of the token. */
template <int V>
__global__ void rope(wf_bf16 *x, size_t ldx, int T, int heads, int hd, const int32_t *pos,
                     const float *inv_freq, int inverse)
{
    int half = hd / 2, groups = half / V;
    size_t n = (size_t)T * groups;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n;
         e += (size_t)gridDim.x * blockDim.x) {
        size_t t = e / groups;
        int i = (int)(e % groups) * V;
        float p = (float)pos[t], c[V], s[V];
#pragma unroll
        for (int j = 0; j < V; j++) {
            sincosf(p * inv_freq[i + j], &s[j], &c[j]);
            if (inverse)
                s[j] = -s[j];
        }
        wf_bf16 *row = x + t * ldx + i;
        for (int h = 0; h < heads; h += head_group)
            rotate_heads<V>(row + (size_t)h * hd, hd, half, min(head_group, heads - h), c, s);
    }
}

template <int V>
void launch(wf_bf16 *x, size_t ldx, int T, int heads, int hd, const int32_t *pos,
            const float *inv_freq, int inverse, cudaStream_t stream)
{
    size_t b = ((size_t)T * (hd / 2 / V) + rope_threads - 1) / rope_threads;
    rope<V><<<(unsigned)(b < grid_cap ? b : grid_cap), rope_threads, 0, stream>>>(
        x, ldx, T, heads, hd, pos, inv_freq, inverse);
}

} // namespace

cudaError_t wf_k_rope(wf_bf16 *x, size_t ldx, int T, int heads, int hd, const int32_t *pos,
                      const float *inv_freq, int inverse, cudaStream_t stream)
{
    if (T <= 0 || heads <= 0 || hd < 2)
        return cudaSuccess;
    /* the 16-byte path: every head's halves start on 16-byte boundaries */
    if (hd % (2 * vec) == 0 && ldx % vec == 0 && (uintptr_t)x % 16 == 0)
        launch<vec>(x, ldx, T, heads, hd, pos, inv_freq, inverse, stream);
    else
        launch<1>(x, ldx, T, heads, hd, pos, inv_freq, inverse, stream);
    return cudaGetLastError();
}
