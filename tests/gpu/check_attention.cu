/* The attention paths of kernels/ (cuBLAS with a fused softmax, and the
 * flash kernels, recomputing or given the forward's output and lse) against
 * wf_tf_attention and its backward on the CPU, then, at Qwen3-0.6B's shape,
 * flash against the cuBLAS path (too big for the CPU) and TIME lines with
 * each path's forward and backward milliseconds. Output and exit status as
 * check_kernels'.
 * Usage: check_attention [SEED] [--quick]; --quick leaves out the model
 * shape. */
#include "kcheck.cuh"

static cublasHandle_t cublas;

/* flash_kept: the backward given the forward's output and lse (training's
 * way) rather than recomputing them. */
enum { PATH_CUBLAS, PATH_CUBLAS_MIN, PATH_FLASH, PATH_FLASH_KEPT, PATHS };
static const char *const path_names[PATHS] = {"cublas", "cublas_least_scratch", "flash",
                                              "flash_kept"};

static bool is_flash(int path)
{
    return path == PATH_FLASH || path == PATH_FLASH_KEPT;
}

/* Whether the flash forward (or backward) runs at head width hd here: the
 * width, and the device's shared memory for a block (sm_86/sm_89 lack it
 * for the backward at 128), as the driver decides. */
static bool flash_runs(int hd, bool backward)
{
    int dev = 0, smem = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess)
        return false;
    size_t need = backward ? wf_k_flash_backward_smem(hd) : wf_k_flash_forward_smem(hd);
    return wf_k_flash_supported(hd) && need <= (size_t)smem;
}

/* flash_kept's lse sits after the backward's own scratch. */
static size_t lse_bytes(int path, const wf_k_attn *a, int T)
{
    return path == PATH_FLASH_KEPT ? ((size_t)T * a->heads * sizeof(float) + 255) & ~(size_t)255
                                   : 0;
}

static size_t path_scratch(int path, const wf_k_attn *a, int T, int longest)
{
    if (is_flash(path))
        return wf_k_flash_backward_scratch(T, a->heads, a->hd, path == PATH_FLASH_KEPT) +
               lse_bytes(path, a, T);
    if (path == PATH_CUBLAS_MIN)
        return wf_k_attention_scratch_min(a->heads, a->kv_heads, a->hd, longest);
    return wf_k_attention_scratch_bytes(a->heads, a->kv_heads, a->hd, longest, (size_t)1 << 31);
}

/* The operands of an attention run: q | k | v fused in one buffer (row
 * stride ld), dout, and the outputs. */
struct attn_io {
    const wf_bf16 *qkv, *dout;
    size_t ld;
    wf_bf16 *out, *dq, *dk, *dv;
};

/* The forward and/or backward of one path; a carries the path's scratch. */
static int path_run(int path, bool fwd, bool bwd, const wf_k_attn *a, const int32_t *starts_dev,
                    const attn_io &io, wf_error *err)
{
    size_t qd = (size_t)a->heads * a->hd, kvd = (size_t)a->kv_heads * a->hd, ld = io.ld;
    const wf_bf16 *q = io.qkv, *k = q + qd, *v = k + kvd;
    int rc = 0;
    if (is_flash(path)) {
        int T = 0;
        for (int i = 0; i < a->n; i++)
            T += a->starts[i + 1] - a->starts[i];
        size_t kept = lse_bytes(path, a, T), bytes = a->scratch_bytes - kept;
        float *lse = kept ? (float *)((char *)a->scratch + bytes) : nullptr;
        if (fwd)
            rc = wf_k_flash_forward(a, starts_dev, q, ld, k, ld, v, ld, io.out, qd, lse, 0, err);
        if (bwd && !rc)
            rc = wf_k_flash_backward(a, starts_dev, q, ld, k, ld, v, ld, lse ? io.out : nullptr, qd,
                                     lse, io.dout, qd, io.dq, qd, io.dk, kvd, io.dv, kvd,
                                     a->scratch, bytes, 0, err);
    } else {
        if (fwd)
            rc = wf_k_attention_forward(cublas, a, q, ld, k, ld, v, ld, io.out, qd, err);
        if (bwd && !rc)
            rc = wf_k_attention_backward(cublas, a, q, ld, k, ld, v, ld, io.dout, qd, io.dq, qd,
                                         io.dk, kvd, io.dv, kvd, err);
    }
    cudaError_t e = cudaDeviceSynchronize();
    if (!rc && e != cudaSuccess)
        rc = wf_error_set(err, WF_EIO, "%s", cudaGetErrorString(e));
    return rc;
}

/* Device buffers of one attention case on random bf16 inputs. */
struct attn_case {
    int heads, kv, hd, n, T, longest;
    size_t qd, kvd, ld;
    std::vector<int32_t> st;
    vec qkv, dout;
    dev<wf_bf16> dqkv, ddout, out, dq, dk, dv;
    dev<int32_t> dst;
    attn_case(int h, int k, int d, const std::vector<int> &lens, const std::vector<int32_t> &s)
        : heads(h), kv(k), hd(d), n((int)lens.size()), T(s.back()), longest(0), qd((size_t)h * d),
          kvd((size_t)k * d), ld(qd + 2 * kvd), st(s), qkv(round_bf(rand_vec(T * ld, 2.0f))),
          dout(round_bf(rand_vec(T * qd, 1.0f))), dqkv(T * ld), ddout(T * qd), out(T * qd),
          dq(T * qd), dk(T * kvd), dv(T * kvd), dst(s.size())
    {
        for (int l : lens)
            longest = l > longest ? l : longest;
    }
    cudaError_t upload()
    {
        cudaError_t e = put(dqkv, qkv);
        if (e == cudaSuccess)
            e = put(ddout, dout);
        return e == cudaSuccess ? put(dst, st) : e;
    }
    /* NaN everywhere, so that anything a path leaves unwritten fails */
    cudaError_t poison()
    {
        wf_bf16 *o[4] = {out.p, dq.p, dk.p, dv.p};
        size_t n16[4] = {out.n, dq.n, dk.n, dv.n};
        cudaError_t e = cudaSuccess;
        for (int i = 0; i < 4 && e == cudaSuccess; i++)
            e = cudaMemset(o[i], 0xff, n16[i] * 2);
        return e;
    }
    attn_io io() const { return {dqkv.p, ddout.p, ld, out.p, dq.p, dk.p, dv.p}; }
    wf_k_attn shape() const { return {heads, kv, hd, st.data(), n, nullptr, 0}; }
    std::string name(int path) const
    {
        return dims("path=%s heads=%d kv=%d hd=%d T=%d longest=%d", path_names[path], heads, kv, hd,
                    T, longest);
    }
};

/* Every path of the attention (forward and backward) against the CPU. */
static void check_attention(int heads, int kv, int hd, const std::vector<int> &lens)
{
    const char *kernel = "attention";
    attn_case c(heads, kv, hd, lens, starts_of(lens));
    wf_tf_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.heads = heads, cfg.kv_heads = kv, cfg.head_dim = hd;
    size_t T = c.T, qd = c.qd, kvd = c.kvd;
    vec q = block(c.qkv, T, qd, c.ld), k = block(c.qkv, T, kvd, c.ld, qd),
        v = block(c.qkv, T, kvd, c.ld, qd + kvd);
    vec ref[4] = {vec(T * qd), vec(T * qd), vec(T * kvd), vec(T * kvd)}, got;
    size_t sc = wf_tf_attention_scratch(&cfg, c.longest),
           sb = wf_tf_attention_backward_scratch(&cfg, c.longest);
    vec scratch(sc > sb ? sc : sb);
    for (int s = 0; s < c.n; s++) {
        size_t a = c.st[s];
        wf_tf_attention(&cfg, &q[a * qd], &k[a * kvd], &v[a * kvd], lens[s], &ref[0][a * qd],
                        scratch.data());
        wf_tf_attention_backward(&cfg, &q[a * qd], &k[a * kvd], &v[a * kvd], &c.dout[a * qd],
                                 lens[s], &ref[1][a * qd], &ref[2][a * kvd], &ref[3][a * kvd],
                                 scratch.data());
    }
    CK(c.upload());
    static const char *const outs[4] = {"attention", "attention_backward.dq",
                                        "attention_backward.dk", "attention_backward.dv"};
    for (int path = 0; path < PATHS; path++) {
        if (is_flash(path) && !flash_runs(hd, false))
            continue;
        bool bwd = !is_flash(path) || flash_runs(hd, true);
        wf_k_attn a = c.shape();
        dev<char> scr(path_scratch(path, &a, c.T, c.longest));
        a.scratch = scr.p, a.scratch_bytes = scr.n;
        wf_error err;
        CK(scr.err);
        CK(c.poison());
        if (path_run(path, true, bwd, &a, c.dst.p, c.io(), &err)) {
            printf("FAIL kernel=attention shape=%s error=%s\n", c.name(path).c_str(), err.msg);
            failures++;
            continue;
        }
        const dev<wf_bf16> *d[4] = {&c.out, &c.dq, &c.dk, &c.dv};
        for (int i = 0; i < (bwd ? 4 : 1); i++) {
            CK(get(got, *d[i]));
            report(outs[i], c.name(path), got, ref[i], tol16);
        }
    }
}

/* Milliseconds per call of fn, over iters calls after one warm-up. */
template <typename F> static double time_ms(int iters, F fn)
{
    cudaEvent_t e0, e1;
    float ms = -1.0f;
    if (fn() || cudaEventCreate(&e0) != cudaSuccess)
        return -1.0;
    if (cudaEventCreate(&e1) == cudaSuccess) {
        cudaEventRecord(e0);
        for (int i = 0; i < iters; i++)
            fn();
        cudaEventRecord(e1);
        cudaEventSynchronize(e1);
        cudaEventElapsedTime(&ms, e0, e1);
        cudaEventDestroy(e1);
    }
    cudaEventDestroy(e0);
    return ms / iters;
}

/* At a model's shape: flash against the cuBLAS path (too big for the CPU),
 * and the time of each path, forward and backward. */
static void time_attention(int heads, int kv, int hd, const std::vector<int> &lens, int iters)
{
    const char *kernel = "attention_timing";
    attn_case c(heads, kv, hd, lens, starts_of(lens));
    CK(c.upload());
    vec ref[4], got;
    const dev<wf_bf16> *d[4] = {&c.out, &c.dq, &c.dk, &c.dv};
    static const char *const outs[4] = {"flash_vs_cublas", "flash_vs_cublas.dq",
                                        "flash_vs_cublas.dk", "flash_vs_cublas.dv"};
    for (int path : {PATH_CUBLAS, PATH_FLASH, PATH_FLASH_KEPT}) {
        if (is_flash(path) && !flash_runs(hd, true))
            continue;
        wf_k_attn a = c.shape();
        dev<char> scr(path_scratch(path, &a, c.T, c.longest));
        a.scratch = scr.p, a.scratch_bytes = scr.n;
        wf_error err;
        CK(scr.err);
        CK(c.poison());
        if (path_run(path, true, true, &a, c.dst.p, c.io(), &err)) {
            printf("FAIL kernel=%s shape=%s error=%s\n", kernel, c.name(path).c_str(), err.msg);
            failures++;
            continue;
        }
        for (int i = 0; i < 4; i++) {
            CK(get(got, *d[i]));
            if (path == PATH_CUBLAS)
                ref[i] = got;
            else if (!ref[i].empty())
                report(outs[i], c.name(path), got, ref[i], tol16);
        }
        double f =
            time_ms(iters, [&] { return path_run(path, true, false, &a, c.dst.p, c.io(), &err); });
        double b =
            time_ms(iters, [&] { return path_run(path, false, true, &a, c.dst.p, c.io(), &err); });
        printf("TIME kernel=attention shape=%s forward_ms=%.3f backward_ms=%.3f\n",
               c.name(path).c_str(), f, b);
    }
}

int main(int argc, char **argv)
{
    bool quick; /* --quick: no timing at the model's shape */
    if (!start_checks(argc, argv, "check_attention", &quick))
        return 2;
    if (cublasCreate(&cublas) != CUBLAS_STATUS_SUCCESS) {
        printf("FAIL kernel=attention call=cublasCreate\n");
        return 1;
    }
    check_attention(4, 2, 64, {1, 7, 130, 300});
    check_attention(3, 3, 32, {50, 17});
    check_attention(4, 2, 128, {200, 3, 64, 65});
    check_attention(2, 2, 128, {65, 1, 129}); /* no grouping */
    check_attention(8, 2, 64, {100, 33});     /* four query heads per KV head */
    if (!quick) {
        time_attention(16, 8, 128, {2048, 2048, 2048, 2048}, 5);
        time_attention(16, 8, 128, std::vector<int>(16, 512), 5);
    }
    cublasDestroy(cublas);
    printf("check_attention: %d failed\n", failures);
    return failures ? 1 : 0;
}
