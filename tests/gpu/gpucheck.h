/* Shared by the GPU check programs and the CUDA benchmark: a clock, the
 * error measures, and the result line that tests/gpu/run.sh counts:
 *
 *   PASS|FAIL check=<name> rel=<e> tol=<t> <details>
 *   INFO check=<name> <details>          (a figure, no verdict)
 *   SKIP <reason>                        (nothing could be checked)
 *
 * Every check goes on after a failure, so one run on a lent GPU diagnoses
 * everything. */
#ifndef WF_GPUCHECK_H
#define WF_GPUCHECK_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

typedef struct gc_tally {
    int pass, fail;
} gc_tally;

static inline double gc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ||got - want|| / ||want|| over the elements where mask is NULL or
 * mask[i] == part, in double; ||got|| when want is zero there. NaN in got
 * gives NaN, which fails every tolerance. */
static inline double gc_rel_l2_part(const float *got, const float *want, size_t n,
                                    const uint8_t *mask, uint8_t part)
{
    double d = 0.0, w = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (mask && mask[i] != part)
            continue;
        double e = (double)got[i] - (double)want[i];
        d += e * e;
        w += (double)want[i] * want[i];
    }
    return w > 0.0 ? sqrt(d / w) : sqrt(d);
}

static inline double gc_rel_l2(const float *got, const float *want, size_t n)
{
    return gc_rel_l2_part(got, want, n, NULL, 0);
}

static inline double gc_norm(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return sqrt(s);
}

static inline double gc_max_abs_diff(const float *got, const float *want, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - (double)want[i]);
        if (e > m || e != e)
            m = e;
    }
    return m;
}

/* The end of a verdict line (its details, then the newline), counted. */
static inline int gc_tail(gc_tally *t, int ok, const char *fmt, va_list ap)
{
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
    if (ok)
        t->pass++;
    else
        t->fail++;
    return ok;
}

/* Prints one verdict line; returns 1 when it passed. */
__attribute__((format(printf, 5, 6))) static inline int
gc_report(gc_tally *t, const char *check, double rel, double tol, const char *fmt, ...)
{
    int ok = rel <= tol; /* false for NaN */
    printf("%s check=%s rel=%.3e tol=%.0e ", ok ? "PASS" : "FAIL", check, rel, tol);
    va_list ap;
    va_start(ap, fmt);
    gc_tail(t, ok, fmt, ap);
    va_end(ap);
    return ok;
}

/* A failure that has no error figure (an API call failed, a wrong code). */
__attribute__((format(printf, 3, 4))) static inline void gc_fail(gc_tally *t, const char *check,
                                                                 const char *fmt, ...)
{
    printf("FAIL check=%s ", check);
    va_list ap;
    va_start(ap, fmt);
    gc_tail(t, 0, fmt, ap);
    va_end(ap);
}

/* A pass that has no error figure (an expected error code). */
__attribute__((format(printf, 3, 4))) static inline void gc_pass(gc_tally *t, const char *check,
                                                                 const char *fmt, ...)
{
    printf("PASS check=%s ", check);
    va_list ap;
    va_start(ap, fmt);
    gc_tail(t, 1, fmt, ap);
    va_end(ap);
}

/* The closing line and the exit status: 1 when anything failed. */
static inline int gc_finish(const gc_tally *t, const char *program, double t0)
{
    printf("DONE %s pass=%d fail=%d seconds=%.1f\n", program, t->pass, t->fail, gc_now() - t0);
    return t->fail ? 1 : 0;
}

/* A small deterministic generator (splitmix64) for inputs; uniform in
 * [-1, 1). */
static inline double gc_uniform(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / (double)(1ull << 52) - 1.0;
}

#endif
