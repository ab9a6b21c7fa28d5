/* RoPE in the rotate_half layout on bf16 heads, in place, with the angles
 * computed as ops.c does (float(pos) * inv_freq[i], precise cosf/sinf), so
 * the only difference from the CPU is the bf16 rounding of the result. */
#include <math.h>

#include "kernels.cuh"

using namespace wf_k_detail;

namespace
{

/* One thread per (token, frequency): the angle is shared by every head. */
__global__ void rope(wf_bf16 *x, size_t ldx, int T, int heads, int hd, const int32_t *pos,
                     const float *inv_freq, int inverse)
{
    int half = hd / 2;
    size_t n = (size_t)T * half;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n;
         e += (size_t)gridDim.x * blockDim.x) {
        size_t t = e / half;
        int i = (int)(e % half);
        float ang = (float)pos[t] * inv_freq[i];
        float c = cosf(ang), s = sinf(ang);
        if (inverse)
            s = -s;
        wf_bf16 *row = x + t * ldx + i;
        for (int h = 0; h < heads; h++) {
            wf_bf16 *v = row + (size_t)h * hd;
            float a = __bfloat162float(v[0]), b = __bfloat162float(v[half]);
            v[0] = __float2bfloat16_rn(a * c - b * s);
            v[half] = __float2bfloat16_rn(b * c + a * s);
        }
    }
}

} // namespace

cudaError_t wf_k_rope(wf_bf16 *x, size_t ldx, int T, int heads, int hd, const int32_t *pos,
                      const float *inv_freq, int inverse, cudaStream_t stream)
{
    if (T <= 0 || heads <= 0 || hd < 2)
        return cudaSuccess;
    rope<<<blocks_for((size_t)T * (hd / 2)), threads, 0, stream>>>(x, ldx, T, heads, hd, pos,
                                                                   inv_freq, inverse);
    return cudaGetLastError();
}
