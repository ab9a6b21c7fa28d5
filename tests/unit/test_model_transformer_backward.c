/* The backward kernels against central differences of the fp32 forward
 * kernels: with a random cotangent r, L(x) = sum r * f(x) is summed in
 * double, and the kernel's gradient must match (L(x + h) - L(x - h)) / 2h
 * to a relative error below 1e-3 (taken as ||g_fd - g|| / ||g|| over the
 * checked entries). Also the accumulate flags, strides that leave gaps, and
 * RoPE's backward as the exact inverse of its forward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/tf_internal.h"
#include "testutil.h"

#define FD_TOL 1e-3

static uint64_t rng_state;

static float urand(float lo, float hi)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return lo + (hi - lo) * (float)((rng_state >> 40) / (double)(1u << 24));
}

static float *rand_vec(size_t n, float lo, float hi)
{
    float *v = malloc(n * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = urand(lo, hi);
    return v;
}

static float *fill_vec(size_t n, float value)
{
    float *v = malloc(n * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = value;
    return v;
}

static double dot_rf(const float *r, const float *y, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)r[i] * y[i];
    return s;
}

typedef double (*loss_fn)(void *ctx);

/* Central differences of loss in the entries x[idx[0..nidx)] (all of x when
 * idx is NULL), against g at the same entries. The step is the one that
 * float rounding actually took; prints the relative error. */
static void fd_error(const char *what, float *x, const size_t *idx, size_t nidx, loss_fn loss,
                     void *ctx, const float *g, float h)
{
    double num = 0.0, den = 0.0;
    for (size_t n = 0; n < nidx; n++) {
        size_t i = idx ? idx[n] : n;
        float x0 = x[i], xp = x0 + h, xm = x0 - h;
        x[i] = xp;
        double lp = loss(ctx);
        x[i] = xm;
        double lm = loss(ctx);
        x[i] = x0;
        double fd = (lp - lm) / ((double)xp - xm);
        num += (fd - g[i]) * (fd - g[i]);
        den += (double)g[i] * g[i];
    }
    assert_true(den > 0.0);
    double rel = sqrt(num / den);
    printf("    %-40s rel err %.2e over %zu entries\n", what, rel, nidx);
    assert_true(rel < FD_TOL);
}

/* --- linear --- */

typedef struct lin_ctx {
    float *x, *w, *y, *r;
    size_t rows, in, out;
} lin_ctx;

static double lin_loss(void *p)
{
    lin_ctx *c = p;
    wf_tf_linear(c->x, c->rows, c->in, c->w, NULL, c->out, c->y);
    return dot_rf(c->r, c->y, c->rows * c->out);
}

static void test_linear_backward(void **state)
{
    (void)state;
    rng_state = 0x1234567;
    lin_ctx c = {.rows = 3, .in = 11, .out = 7};
    size_t nx = c.rows * c.in;
    c.x = rand_vec(nx, -1, 1);
    c.w = rand_vec(c.out * c.in, -1, 1);
    c.r = rand_vec(c.rows * c.out, -1, 1);
    c.y = malloc(c.rows * c.out * sizeof *c.y);
    float *dx = fill_vec(nx, NAN), *pre = rand_vec(nx, -1, 1), *acc = malloc(nx * sizeof *acc);
    memcpy(acc, pre, nx * sizeof *acc);

    wf_tf_linear_backward(c.r, c.rows, c.out, c.w, c.in, dx, 0); /* NaNs overwritten */
    fd_error("linear dx", c.x, NULL, nx, lin_loss, &c, dx, 1e-2f);
    wf_tf_linear_backward(c.r, c.rows, c.out, c.w, c.in, acc, 1);
    for (size_t i = 0; i < nx; i++)
        assert_float_equal(acc[i], pre[i] + dx[i], 1e-5);
    free(c.x), free(c.w), free(c.r), free(c.y), free(dx), free(pre), free(acc);
}

/* --- rmsnorm --- */

typedef struct norm_ctx {
    float *x, *w, *y, *r;
    size_t rows, dim, stride, y_stride;
} norm_ctx;

static double norm_loss(void *p)
{
    norm_ctx *c = p;
    wf_tf_rmsnorm(c->x, c->rows, c->dim, c->stride, c->w, 1e-6, c->y, c->y_stride);
    double s = 0.0;
    for (size_t r = 0; r < c->rows; r++)
        s += dot_rf(c->r + r * c->y_stride, c->y + r * c->y_stride, c->dim);
    return s;
}

/* Only the entries of each row's first dim columns. */
static size_t row_entries(size_t rows, size_t dim, size_t stride, size_t *idx)
{
    size_t n = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < dim; i++)
            idx[n++] = r * stride + i;
    return n;
}

/* rows x dim vectors with row strides stride (x), dy_stride (dy = r) and
 * dx_stride (dx); the gaps of dx must be left alone. */
static void check_rmsnorm(const char *what, size_t rows, size_t dim, size_t stride,
                          size_t dy_stride, size_t dx_stride)
{
    norm_ctx c = {.rows = rows, .dim = dim, .stride = stride, .y_stride = dy_stride};
    c.x = rand_vec(rows * stride, -2, 2);
    c.w = rand_vec(dim, 0.5f, 1.5f);
    c.r = rand_vec(rows * dy_stride, -1, 1);
    c.y = malloc(rows * dy_stride * sizeof *c.y);
    size_t ndx = rows * dx_stride, *idx = malloc(rows * stride * sizeof *idx);
    float *dx = fill_vec(ndx, NAN), *acc = rand_vec(ndx, -1, 1), *pre = malloc(ndx * sizeof *pre);
    memcpy(pre, acc, ndx * sizeof *pre);
    for (size_t r = 0; r < rows; r++)
        for (size_t i = dim; i < dx_stride; i++)
            dx[r * dx_stride + i] = 7.0f;

    wf_tf_rmsnorm_backward(c.x, rows, dim, stride, c.w, 1e-6, c.r, dy_stride, dx, dx_stride, 0);
    /* Spread dx out to x's strides for the comparison. */
    float *g = fill_vec(rows * stride, 0.0f);
    for (size_t r = 0; r < rows; r++)
        memcpy(g + r * stride, dx + r * dx_stride, dim * sizeof *g);
    fd_error(what, c.x, idx, row_entries(rows, dim, stride, idx), norm_loss, &c, g, 1e-2f);

    wf_tf_rmsnorm_backward(c.x, rows, dim, stride, c.w, 1e-6, c.r, dy_stride, acc, dx_stride, 1);
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < dx_stride; i++) {
            size_t j = r * dx_stride + i;
            if (i < dim) {
                assert_float_equal(acc[j], pre[j] + dx[j], 1e-5);
            } else {
                assert_true(dx[j] == 7.0f);
                assert_true(acc[j] == pre[j]);
            }
        }
    free(c.x), free(c.w), free(c.r), free(c.y), free(idx), free(dx), free(acc), free(pre), free(g);
}

static void test_rmsnorm_backward(void **state)
{
    (void)state;
    rng_state = 0x2345678;
    check_rmsnorm("rmsnorm dense 4x32", 4, 32, 32, 32, 32);
    /* Per-head q/k norms: dim = head_dim inside rows of heads * hd. */
    check_rmsnorm("rmsnorm strided 6x16 (24/40/20)", 6, 16, 24, 40, 20);
    check_rmsnorm("rmsnorm wide 2x512", 2, 512, 512, 512, 512);
}

/* The backward may work in place on dy, as the layers' buffers do. */
static void test_rmsnorm_backward_in_place(void **state)
{
    (void)state;
    rng_state = 0x3456789;
    size_t rows = 3, dim = 20, n = rows * dim;
    float *x = rand_vec(n, -1, 1), *w = rand_vec(dim, 0.5f, 1.5f), *dy = rand_vec(n, -1, 1);
    float *dx = malloc(n * sizeof *dx);
    wf_tf_rmsnorm_backward(x, rows, dim, dim, w, 1e-6, dy, dim, dx, dim, 0);
    wf_tf_rmsnorm_backward(x, rows, dim, dim, w, 1e-6, dy, dim, dy, dim, 0);
    assert_memory_equal(dx, dy, n * sizeof *dx);
    free(x), free(w), free(dy), free(dx);
}

/* --- RoPE --- */

typedef struct rope_ctx {
    float *x, *y, *r, *inv_freq;
    size_t rows, stride, pos0;
    int heads, hd;
} rope_ctx;

static double rope_loss(void *p)
{
    rope_ctx *c = p;
    memcpy(c->y, c->x, c->rows * c->stride * sizeof *c->y);
    wf_tf_rope_apply(c->y, c->rows, c->stride, c->heads, c->hd, c->inv_freq, c->pos0);
    return dot_rf(c->r, c->y, c->rows * c->stride);
}

static void rope_setup(rope_ctx *c, size_t rows, size_t stride, int heads, int hd, size_t pos0)
{
    wf_tf_config cfg = {.head_dim = hd, .rope = {.kind = WF_TF_ROPE_DEFAULT, .theta = 10000.0}};
    *c = (rope_ctx){.rows = rows, .stride = stride, .pos0 = pos0, .heads = heads, .hd = hd};
    c->inv_freq = malloc((size_t)hd / 2 * sizeof *c->inv_freq);
    wf_tf_rope_freqs(&cfg, c->inv_freq);
    c->x = rand_vec(rows * stride, -1, 1);
    c->r = rand_vec(rows * stride, -1, 1);
    c->y = malloc(rows * stride * sizeof *c->y);
}

static void rope_free(rope_ctx *c)
{
    free(c->x), free(c->y), free(c->r), free(c->inv_freq);
}

static void test_rope_backward(void **state)
{
    (void)state;
    rng_state = 0x456789a;
    rope_ctx c;
    /* 3 heads of 16 in rows of 56: 8 columns of gap (another tensor's). */
    rope_setup(&c, 5, 56, 3, 16, 37);
    float *g = malloc(c.rows * c.stride * sizeof *g);
    memcpy(g, c.r, c.rows * c.stride * sizeof *g);
    wf_tf_rope_backward(g, c.rows, c.stride, c.heads, c.hd, c.inv_freq, c.pos0);
    size_t *idx = malloc(c.rows * c.stride * sizeof *idx);
    size_t n = row_entries(c.rows, (size_t)c.heads * c.hd, c.stride, idx);
    fd_error("rope 5 rows x 3 heads, pos0 37", c.x, idx, n, rope_loss, &c, g, 1e-2f);
    for (size_t r = 0; r < c.rows; r++)
        assert_memory_equal(g + r * c.stride + 48, c.r + r * c.stride + 48, 8 * sizeof *g);
    free(g), free(idx);
    rope_free(&c);
}

/* A rotation's transpose is its inverse: backward(apply(x)) gives x back. */
static void test_rope_backward_inverts_apply(void **state)
{
    (void)state;
    rng_state = 0x56789ab;
    rope_ctx c;
    rope_setup(&c, 40, 4 * 32, 4, 32, 1000);
    size_t n = c.rows * c.stride;
    memcpy(c.y, c.x, n * sizeof *c.y);
    wf_tf_rope_apply(c.y, c.rows, c.stride, c.heads, c.hd, c.inv_freq, c.pos0);
    double moved = 0.0;
    for (size_t i = 0; i < n; i++)
        moved = fmax(moved, fabs((double)c.y[i] - c.x[i]));
    assert_true(moved > 0.1); /* the rotation did something */
    wf_tf_rope_backward(c.y, c.rows, c.stride, c.heads, c.hd, c.inv_freq, c.pos0);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(c.y[i], c.x[i], 1e-6);
    rope_free(&c);
}

/* --- SwiGLU --- */

typedef struct glu_ctx {
    float *gate, *up, *y, *r;
    size_t n;
} glu_ctx;

static double glu_loss(void *p)
{
    glu_ctx *c = p;
    memcpy(c->y, c->gate, c->n * sizeof *c->y);
    wf_tf_swiglu(c->y, c->up, c->n);
    return dot_rf(c->r, c->y, c->n);
}

static void test_swiglu_backward(void **state)
{
    (void)state;
    rng_state = 0x6789abc;
    glu_ctx c = {.n = 300};
    c.gate = rand_vec(c.n, -6, 6);
    c.up = rand_vec(c.n, -2, 2);
    c.r = rand_vec(c.n, -1, 1);
    c.y = malloc(c.n * sizeof *c.y);
    float *dgate = fill_vec(c.n, NAN), *dup = fill_vec(c.n, NAN);
    wf_tf_swiglu_backward(c.gate, c.up, c.r, c.n, dgate, dup);
    fd_error("swiglu dgate", c.gate, NULL, c.n, glu_loss, &c, dgate, 1e-2f);
    fd_error("swiglu dup", c.up, NULL, c.n, glu_loss, &c, dup, 1e-2f);

    /* In place on dout, as the MLP's buffers may be. */
    float *d = malloc(c.n * sizeof *d);
    memcpy(d, c.r, c.n * sizeof *d);
    wf_tf_swiglu_backward(c.gate, c.up, d, c.n, d, dup);
    assert_memory_equal(d, dgate, c.n * sizeof *d);
    free(c.gate), free(c.up), free(c.r), free(c.y), free(dgate), free(dup), free(d);
}

/* --- attention --- */

typedef struct attn_ctx {
    wf_tf_config cfg;
    size_t len;
    float *q, *k, *v, *out, *r, *scratch;
} attn_ctx;

static double attn_loss(void *p)
{
    attn_ctx *c = p;
    wf_tf_attention(&c->cfg, c->q, c->k, c->v, c->len, c->out, c->scratch);
    return dot_rf(c->r, c->out, c->len * (size_t)c->cfg.heads * c->cfg.head_dim);
}

/* At most limit entries of n: all of them, or a random sample that always
 * takes the first and the last. */
static size_t pick(size_t n, size_t limit, size_t *idx)
{
    if (n <= limit) {
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        return n;
    }
    idx[0] = 0;
    idx[1] = n - 1;
    for (size_t i = 2; i < limit; i++)
        idx[i] = (size_t)urand(0, (float)n) % n;
    return limit;
}

/* A key feeds every later row of its group, so each difference carries the
 * fp32 rounding of thousands of outputs: dk's error falls as 1/h down to
 * h = 4e-2 (1.3e-3 at 3e-3, 4e-4 at 1e-2, 2e-4 at 2e-2 for len 200, group
 * 4), while the truncation error at 2e-2 stays below 3e-5 (dq, dv). */
#define ATTN_FD_STEP 2e-2f

static void check_fd_attn(const char *what, attn_ctx *c, float *x, size_t n, const float *g)
{
    char name[96];
    size_t idx[96];
    snprintf(name, sizeof name, "attention len %zu h%d/kv%d hd%d %s", c->len, c->cfg.heads,
             c->cfg.kv_heads, c->cfg.head_dim, what);
    fd_error(name, x, idx, pick(n, 96, idx), attn_loss, c, g, ATTN_FD_STEP);
}

static void check_attention(size_t len, int heads, int kv_heads, int hd)
{
    attn_ctx c = {.cfg = {.heads = heads, .kv_heads = kv_heads, .head_dim = hd}, .len = len};
    size_t nq = len * (size_t)heads * hd, nk = len * (size_t)kv_heads * hd;
    size_t fwd = wf_tf_attention_scratch(&c.cfg, len);
    size_t bwd = wf_tf_attention_backward_scratch(&c.cfg, len);
    c.q = rand_vec(nq, -2, 2), c.k = rand_vec(nk, -2, 2), c.v = rand_vec(nk, -1, 1);
    c.r = rand_vec(nq, -1, 1), c.out = malloc(nq * sizeof *c.out);
    c.scratch = malloc(fwd * sizeof *c.scratch);
    /* NaN everywhere the backward must write before it reads. */
    float *dq = fill_vec(nq, NAN), *dk = fill_vec(nk, NAN), *dv = fill_vec(nk, NAN);
    float *scratch = fill_vec(bwd, NAN);

    wf_tf_attention_backward(&c.cfg, c.q, c.k, c.v, c.r, len, dq, dk, dv, scratch);
    if (len > 1) {
        check_fd_attn("dq", &c, c.q, nq, dq);
        check_fd_attn("dk", &c, c.k, nk, dk);
    } else { /* one key: P = 1 whatever q and k are */
        for (size_t i = 0; i < nq; i++)
            assert_true(dq[i] == 0.0f);
        for (size_t i = 0; i < nk; i++)
            assert_true(dk[i] == 0.0f);
    }
    check_fd_attn("dv", &c, c.v, nk, dv);
    free(c.q), free(c.k), free(c.v), free(c.r), free(c.out), free(c.scratch);
    free(dq), free(dk), free(dv), free(scratch);
}

static void test_attention_backward_short(void **state)
{
    (void)state;
    rng_state = 0x789abcd;
    check_attention(1, 2, 2, 8);
    check_attention(1, 4, 1, 16);
    check_attention(5, 2, 2, 8);
    check_attention(5, 4, 2, 16);
    check_attention(5, 4, 1, 8);
}

/* 200 rows: a full block of 128 and a partial one that sees all keys. */
static void test_attention_backward_two_blocks(void **state)
{
    (void)state;
    rng_state = 0x89abcde;
    check_attention(200, 2, 2, 8);
    check_attention(200, 4, 2, 8);
    check_attention(200, 4, 1, 16);
}

/* Gradients of a sequence's first rows do not depend on the rows after them
 * (causality), nor on how many blocks the call spans. */
static void test_attention_backward_prefix(void **state)
{
    (void)state;
    rng_state = 0x9abcdef;
    wf_tf_config cfg = {.heads = 4, .kv_heads = 2, .head_dim = 8};
    size_t len = 150, pre = 130, qs = 32, ks = 16;
    float *q = rand_vec(len * qs, -2, 2), *k = rand_vec(len * ks, -2, 2);
    float *v = rand_vec(len * ks, -1, 1), *d = rand_vec(len * qs, -1, 1);
    float *g[2][3];
    for (int s = 0; s < 2; s++) {
        size_t n = s ? pre : len;
        float *scratch = malloc(wf_tf_attention_backward_scratch(&cfg, n) * sizeof *scratch);
        g[s][0] = malloc(n * qs * sizeof(float));
        g[s][1] = malloc(n * ks * sizeof(float));
        g[s][2] = malloc(n * ks * sizeof(float));
        /* Zero cotangent after pre: the long call's dq prefix is the short's. */
        if (!s)
            memset(d + pre * qs, 0, (len - pre) * qs * sizeof *d);
        wf_tf_attention_backward(&cfg, q, k, v, d, n, g[s][0], g[s][1], g[s][2], scratch);
        free(scratch);
    }
    for (size_t i = 0; i < pre * qs; i++)
        assert_float_equal(g[0][0][i], g[1][0][i], 1e-5);
    for (size_t i = 0; i < pre * ks; i++) {
        assert_float_equal(g[0][1][i], g[1][1][i], 1e-5);
        assert_float_equal(g[0][2][i], g[1][2][i], 1e-5);
    }
    for (size_t i = pre * ks; i < len * ks; i++)
        assert_true(g[0][1][i] == 0.0f && g[0][2][i] == 0.0f);
    for (int s = 0; s < 2; s++)
        for (int t = 0; t < 3; t++)
            free(g[s][t]);
    free(q), free(k), free(v), free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_backward),
        cmocka_unit_test(test_rmsnorm_backward),
        cmocka_unit_test(test_rmsnorm_backward_in_place),
        cmocka_unit_test(test_rope_backward),
        cmocka_unit_test(test_rope_backward_inverts_apply),
        cmocka_unit_test(test_swiglu_backward),
        cmocka_unit_test(test_attention_backward_short),
        cmocka_unit_test(test_attention_backward_two_blocks),
        cmocka_unit_test(test_attention_backward_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
