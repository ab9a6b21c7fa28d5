/* What the GPU check programs share: random inputs, bf16 rounding, device
 * buffers, the comparison and its PASS/FAIL line (see check_kernels.cu). */
#ifndef WF_GPU_KCHECK_CUH
#define WF_GPU_KCHECK_CUH

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <string>
#include <vector>

extern "C" {
#include "model_transformer/adapter.h"
#include "model_transformer/dropout.h"
#include "model_transformer/tf_internal.h"
#include "model_transformer/train.h"
}

#include "kernels.cuh"

typedef std::vector<float> vec;

[[maybe_unused]] static int failures;
[[maybe_unused]] static uint64_t rng_state;

[[maybe_unused]] static const double tol16 = 1e-2, tol32 = 1e-5;
[[maybe_unused]] static const float eps = 1e-6f;

static inline float rnd(float scale)
{
    rng_state += 0x9e3779b97f4a7c15ull;
    uint64_t z = wf_tf_mix64(rng_state);
    return scale * ((float)(z >> 40) * (2.0f / 16777216.0f) - 1.0f);
}

static inline vec rand_vec(size_t n, float scale)
{
    vec v(n);
    for (float &x : v)
        x = rnd(scale);
    return v;
}

/* bf16 bits of x, rounded to nearest even (finite inputs). */
static inline uint16_t bf_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float bf_val(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static inline vec round_bf(const vec &v)
{
    vec r(v.size());
    for (size_t i = 0; i < v.size(); i++)
        r[i] = bf_val(bf_bits(v[i]));
    return r;
}

/* A device copy of a host vector, fp32 or bf16; the host side stays fp32. */
template <typename T> struct dev {
    T *p = nullptr;
    size_t n;
    cudaError_t err;
    explicit dev(size_t count) : n(count)
    {
        err = cudaMalloc((void **)&p, (n ? n : 1) * sizeof(T));
    }
    dev(const dev &) = delete;
    dev &operator=(const dev &) = delete;
    ~dev() { cudaFree(p); }
};

static inline cudaError_t put(dev<float> &d, const vec &h)
{
    return d.err ? d.err : cudaMemcpy(d.p, h.data(), d.n * 4, cudaMemcpyHostToDevice);
}

static inline cudaError_t put(dev<wf_bf16> &d, const vec &h)
{
    std::vector<uint16_t> b(d.n);
    for (size_t i = 0; i < d.n; i++)
        b[i] = bf_bits(h[i]);
    return d.err ? d.err : cudaMemcpy(d.p, b.data(), d.n * 2, cudaMemcpyHostToDevice);
}

static inline cudaError_t put(dev<int32_t> &d, const std::vector<int32_t> &h)
{
    return d.err ? d.err : cudaMemcpy(d.p, h.data(), d.n * 4, cudaMemcpyHostToDevice);
}

static inline cudaError_t get(vec &h, const dev<float> &d)
{
    h.resize(d.n);
    return cudaMemcpy(h.data(), d.p, d.n * 4, cudaMemcpyDeviceToHost);
}

static inline cudaError_t get(vec &h, const dev<wf_bf16> &d)
{
    std::vector<uint16_t> b(d.n);
    cudaError_t e = cudaMemcpy(b.data(), d.p, d.n * 2, cudaMemcpyDeviceToHost);
    h.resize(d.n);
    for (size_t i = 0; i < d.n; i++)
        h[i] = bf_val(b[i]);
    return e;
}

/* Runs a call and waits for it, so that an asynchronous fault is reported
 * at the kernel that caused it; then the item fails and the check returns. */
#define CK(call)                                                                                   \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ == cudaSuccess)                                                                     \
            e_ = cudaDeviceSynchronize();                                                          \
        if (e_ != cudaSuccess) {                                                                   \
            printf("FAIL kernel=%s call=%s error=%s\n", kernel, #call, cudaGetErrorString(e_));    \
            failures++;                                                                            \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static inline double max_rel(const vec &got, const vec &ref)
{
    double scale = 0.0, diff = 0.0;
    if (got.size() != ref.size())
        return INFINITY;
    for (size_t i = 0; i < got.size(); i++) {
        if (!isfinite(got[i]))
            return INFINITY;
        scale = fmax(scale, fabs((double)ref[i]));
        diff = fmax(diff, fabs((double)got[i] - ref[i]));
    }
    return scale > 0.0 ? diff / scale : diff;
}

static inline void report(const char *kernel, const std::string &shape, const vec &got,
                          const vec &ref, double tol)
{
    double e = max_rel(got, ref);
    bool ok = e <= tol;
    printf("%s kernel=%s shape=%s max_rel=%.3e tol=%.0e\n", ok ? "PASS" : "FAIL", kernel,
           shape.c_str(), e, tol);
    failures += !ok;
}

static inline std::string dims(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline std::string dims(const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

/* The rows x cols block of a buffer with row stride ld, packed. */
static inline vec block(const vec &v, size_t rows, size_t cols, size_t ld, size_t off = 0)
{
    vec r(rows * cols);
    for (size_t i = 0; i < rows; i++)
        memcpy(&r[i * cols], &v[off + i * ld], cols * 4);
    return r;
}

/* The start of a check program: line-buffered output (each line out at
 * once, should a kernel hang), a device or a SKIP line (false), the seed
 * from the arguments (the clock without one) into rng_state, printed, and
 * whether --quick was given. */
static inline bool start_checks(int argc, char **argv, const char *program, bool *quick)
{
    int count = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        printf("SKIP no CUDA device\n");
        return false;
    }
    uint64_t seed = (uint64_t)time(NULL);
    *quick = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            *quick = true;
        else
            seed = strtoull(argv[i], NULL, 0);
    }
    rng_state = seed;
    printf("%s seed=%llu\n", program, (unsigned long long)seed);
    return true;
}

static inline std::vector<int32_t> starts_of(const std::vector<int> &lens)
{
    std::vector<int32_t> s(1, 0);
    for (int l : lens)
        s.push_back(s.back() + l);
    return s;
}

#endif
