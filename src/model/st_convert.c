/* Element conversion for safetensors tensors: half and bfloat16 to float,
 * and typed reads with shape checks. Elements are read byte by byte, so the
 * data may be unaligned and the host's byte order does not matter. */
#include <stdio.h>
#include <string.h>

#include "wildfeed/safetensors.h"

static float bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float wf_bf16_to_f32(uint16_t b)
{
    return bits_to_f32((uint32_t)b << 16);
}

float wf_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) /* inf, nan: keep the payload */
        return bits_to_f32(sign | 0x7f800000u | man << 13);
    if (exp != 0)
        return bits_to_f32(sign | (exp + 112) << 23 | man << 13);
    if (man == 0)
        return bits_to_f32(sign);
    /* Subnormal half: man * 2^-24, exact in float. */
    float v = (float)man * (1.0f / 16777216.0f);
    return sign ? -v : v;
}

void wf_st_to_f32(const wf_st_tensor *t, float *out)
{
    const uint8_t *p = t->data;
    for (size_t i = 0; i < t->numel; i++) {
        if (t->dtype == WF_ST_F32) {
            const uint8_t *q = p + 4 * i;
            out[i] = bits_to_f32((uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                                 (uint32_t)q[3] << 24);
        } else {
            uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            out[i] = t->dtype == WF_ST_F16 ? wf_f16_to_f32(h) : wf_bf16_to_f32(h);
        }
    }
}

static void shape_text(const uint64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t at = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && at < cap; d++)
        at += (size_t)snprintf(buf + at, cap - at, d ? ",%llu" : "%llu",
                               (unsigned long long)shape[d]);
    if (at < cap)
        snprintf(buf + at, cap - at, "]");
}

int wf_st_read_f32(const wf_st_file *f, const char *name, const uint64_t *shape, int ndim,
                   float *out, wf_error *err)
{
    const char *what = wf_st_what(f);
    const wf_st_tensor *t = wf_st_find(f, name);
    if (!t)
        return wf_error_set(err, WF_ECORRUPT, "%s: no tensor \"%s\"", what, name);
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = t->shape[d] == shape[d];
    if (!same) {
        char want[128], got[128];
        shape_text(shape, ndim, want, sizeof want);
        shape_text(t->shape, t->ndim, got, sizeof got);
        return wf_error_set(err, WF_ECORRUPT, "%s: tensor \"%s\" has shape %s, expected %s", what,
                            name, got, want);
    }
    wf_st_to_f32(t, out);
    return 0;
}
