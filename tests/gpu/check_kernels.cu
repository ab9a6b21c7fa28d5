/* Checks every elementwise kernel of kernels/kernels.cuh against the CPU
 * reference (model_transformer) on fresh random inputs; the attention paths
 * are check_attention.cu's. One line per item: PASS|FAIL kernel=<name>
 * shape=<...> max_rel=<e> tol=<t>, where max_rel = max |got - ref| / max
 * |ref| over the output. bf16 outputs are compared with the CPU run on the
 * same bf16-rounded inputs (tolerance 1e-2), fp32 outputs at 1e-5. A
 * failing item does not stop the run; the exit status is 1 when any failed,
 * 2 without a device (a SKIP line).
 * Usage: check_kernels [SEED] */
#include "kcheck.cuh"

/* off: elements past each allocation's start, so that 1 takes the
 * converters' unaligned path. */
static void check_misc(size_t off)
{
    const char *kernel = "f32_to_bf16";
    size_t n = 100003;
    vec x = rand_vec(n + off, 3.0f), y = rand_vec(n + off, 1.0f), got;
    dev<float> dx(n + off), dy(n + off);
    dev<wf_bf16> d16(n + off);
    std::string shape = dims("%zu off=%zu", n, off);
    CK(put(dx, x));
    CK(wf_k_f32_to_bf16(dx.p + off, d16.p + off, n, 0));
    CK(get(got, d16));
    report(kernel, shape, block(got, 1, n, n + off, off), block(round_bf(x), 1, n, n + off, off),
           0.0);
    kernel = "bf16_to_f32";
    CK(wf_k_bf16_to_f32(d16.p + off, dy.p + off, n, 0));
    CK(get(got, dy));
    report(kernel, shape, block(got, 1, n, n + off, off), block(round_bf(x), 1, n, n + off, off),
           0.0);
    kernel = "add_f32";
    vec ref = y;
    for (size_t i = off; i < n + off; i++)
        ref[i] = (y[i] + x[i]) * 0.75f;
    CK(put(dy, y));
    CK(wf_k_add_f32(dy.p + off, dx.p + off, n, 0));
    CK(wf_k_scale_f32(dy.p + off, n, 0.75f, 0));
    CK(get(got, dy));
    report("add_f32+scale_f32", shape, got, ref, tol32);
}

static void check_embed()
{
    const char *kernel = "embed";
    int V = 50, h = 72, T = 300;
    vec table = round_bf(rand_vec((size_t)V * h, 1.0f)), got, ref((size_t)T * h);
    std::vector<int32_t> ids(T);
    for (int t = 0; t < T; t++) {
        ids[t] = (int32_t)((rnd(0.5f) + 0.5f) * V) % V;
        memcpy(&ref[(size_t)t * h], &table[(size_t)ids[t] * h], h * 4);
    }
    dev<wf_bf16> dt(table.size());
    dev<int32_t> di(T);
    dev<float> dx((size_t)T * h);
    CK(put(dt, table));
    CK(put(di, ids));
    CK(wf_k_embed(dt.p, di.p, T, h, dx.p, 0));
    CK(get(got, dx));
    report(kernel, dims("V=%d h=%d T=%d", V, h, T), got, ref, 0.0);
}

/* Odd strides take the kernels' scalar paths, aligned ones their vector
 * paths. */
static void check_rmsnorm(int rows, int dim, size_t ld, size_t ldy, size_t ldd)
{
    const char *kernel = "rmsnorm";
    vec x = rand_vec(rows * ld, 2.0f), w = rand_vec(dim, 1.0f), y((size_t)rows * dim), rs(rows),
        got;
    wf_tf_rmsnorm(x.data(), rows, dim, ld, w.data(), eps, y.data(), dim);
    for (int r = 0; r < rows; r++) {
        float ss = 0.0f;
        for (int i = 0; i < dim; i++)
            ss += x[r * ld + i] * x[r * ld + i];
        rs[r] = 1.0f / sqrtf(ss / (float)dim + eps);
    }
    dev<float> dx(x.size()), dw(dim), drs(rows), ddy(rows * ldd), ddx(rows * ldd);
    dev<wf_bf16> dy(rows * ldy);
    CK(put(dx, x));
    CK(put(dw, w));
    CK(wf_k_rmsnorm(dx.p, ld, rows, dim, dw.p, eps, dy.p, ldy, drs.p, 0));
    CK(get(got, dy));
    report(kernel, dims("%dx%d ld=%zu", rows, dim, ld), block(got, rows, dim, ldy), y, tol16);
    CK(get(got, drs));
    report("rmsnorm.rstd", dims("%d", rows), got, rs, tol32);
    vec gy = rand_vec(rows * ldd, 1.0f), gx0 = rand_vec(rows * ldd, 1.0f);
    for (int acc = 0; acc < 2; acc++) {
        kernel = acc ? "rmsnorm_backward.accumulate" : "rmsnorm_backward";
        vec gx = gx0;
        wf_tf_rmsnorm_backward(x.data(), rows, dim, ld, w.data(), eps, gy.data(), ldd, gx.data(),
                               ldd, acc);
        CK(put(ddy, gy));
        CK(put(ddx, gx0));
        CK(wf_k_rmsnorm_backward(dx.p, ld, rows, dim, dw.p, eps, acc ? drs.p : nullptr, ddy.p, ldd,
                                 ddx.p, ldd, acc, 0));
        CK(get(got, ddx));
        report(kernel, dims("%dx%d ldd=%zu rstd=%s", rows, dim, ldd, acc ? "saved" : "recomputed"),
               got, gx, tol32);
    }
}

/* pad: the row stride beyond the heads, 16 for the vector path, odd for
 * the scalar one. */
static void check_headnorm(size_t pad)
{
    const char *kernel = "headnorm";
    int T = 33, heads = 5, hd = 128, w_ = heads * hd;
    size_t ld = w_ + pad;
    vec x = round_bf(rand_vec(T * ld, 2.0f)), w = rand_vec(hd, 1.0f), y((size_t)T * w_), got;
    vec dy = round_bf(rand_vec(T * ld, 1.0f)), dxr((size_t)T * w_);
    for (int t = 0; t < T; t++) {
        wf_tf_rmsnorm(&x[t * ld], heads, hd, hd, w.data(), eps, &y[(size_t)t * w_], hd);
        wf_tf_rmsnorm_backward(&x[t * ld], heads, hd, hd, w.data(), eps, &dy[t * ld], hd,
                               &dxr[(size_t)t * w_], hd, 0);
    }
    dev<wf_bf16> dx(x.size()), dout((size_t)T * w_), dg(dy.size());
    dev<float> dw(hd);
    CK(put(dx, x));
    CK(put(dw, w));
    CK(wf_k_headnorm(dx.p, ld, T, heads, hd, dw.p, eps, dout.p, w_, 0));
    CK(get(got, dout));
    std::string shape = dims("T=%d heads=%d hd=%d ld=%zu", T, heads, hd, ld);
    report(kernel, shape, got, y, tol16);
    CK(put(dg, dy));
    CK(wf_k_headnorm_backward(dx.p, ld, T, heads, hd, dw.p, eps, dg.p, ld, dg.p, ld, 0));
    CK(get(got, dg));
    report("headnorm_backward.inplace", shape, block(got, T, w_, ld), dxr, tol16);
    kernel = "headnorm.inplace";
    CK(wf_k_headnorm(dx.p, ld, T, heads, hd, dw.p, eps, dx.p, ld, 0));
    CK(get(got, dx));
    report(kernel, shape, block(got, T, w_, ld), y, tol16);
}

/* pad as for check_headnorm: 8 for the vector path, odd for the scalar. */
static void check_rope(size_t pad)
{
    const char *kernel = "positions";
    int heads = 2, hd = 128;
    size_t ld = heads * hd + pad;
    std::vector<int32_t> st = starts_of({1, 37, 5, 3000});
    int n = (int)st.size() - 1, T = st[n];
    wf_tf_config c;
    memset(&c, 0, sizeof c);
    c.head_dim = hd;
    c.rope.theta = 1e6;
    vec inv(hd / 2), got, pos_ref(T);
    wf_tf_rope_freqs(&c, inv.data());
    dev<int32_t> dst(st.size()), dpos(T);
    dev<float> dinv(inv.size());
    CK(put(dst, st));
    CK(put(dinv, inv));
    CK(wf_k_positions(dst.p, n, T, dpos.p, 0));
    std::vector<int32_t> pos(T);
    CK(cudaMemcpy(pos.data(), dpos.p, T * 4, cudaMemcpyDeviceToHost));
    for (int s = 0; s < n; s++)
        for (int t = st[s]; t < st[s + 1]; t++)
            pos_ref[t] = (float)(t - st[s]);
    report(kernel, dims("T=%d n=%d", T, n), vec(pos.begin(), pos.end()), pos_ref, 0.0);
    for (int inverse = 0; inverse < 2; inverse++) {
        kernel = inverse ? "rope_backward" : "rope";
        vec x = round_bf(rand_vec(T * ld, 1.0f)), ref = x;
        for (int s = 0; s < n; s++) {
            float *xs = &ref[st[s] * ld];
            if (inverse)
                wf_tf_rope_backward(xs, st[s + 1] - st[s], ld, heads, hd, inv.data(), 0);
            else
                wf_tf_rope_apply(xs, st[s + 1] - st[s], ld, heads, hd, inv.data(), 0);
        }
        dev<wf_bf16> dx(x.size());
        CK(put(dx, x));
        CK(wf_k_rope(dx.p, ld, T, heads, hd, dpos.p, dinv.p, inverse, 0));
        CK(get(got, dx));
        report(kernel, dims("T=%d heads=%d hd=%d ld=%zu longest=3000", T, heads, hd, ld),
               block(got, T, heads * hd, ld), block(ref, T, heads * hd, ld), tol16);
    }
}

static void check_bias()
{
    const char *kernel = "bias_add_bf16";
    int rows = 7, cols = 33;
    size_t ld = 40;
    vec y = round_bf(rand_vec(rows * ld, 1.0f)), b = rand_vec(cols, 1.0f), ref = y, got;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            ref[r * ld + c] += b[c];
    dev<wf_bf16> d16(y.size());
    dev<float> d32(y.size()), db(cols);
    CK(put(d16, y));
    CK(put(d32, y));
    CK(put(db, b));
    CK(wf_k_bias_add_bf16(d16.p, ld, rows, cols, db.p, 0));
    CK(get(got, d16));
    report(kernel, dims("%dx%d", rows, cols), got, ref, tol16);
    kernel = "bias_add_f32";
    CK(wf_k_bias_add_f32(d32.p, ld, rows, cols, db.p, 0));
    CK(get(got, d32));
    report(kernel, dims("%dx%d", rows, cols), got, ref, tol32);
}

/* A plain causal softmax and its backward, for one geometry. */
static void check_softmax(int batch, int rows, int cols, int first)
{
    const char *kernel = "causal_softmax";
    float scale = 0.125f;
    size_t n = (size_t)batch * rows * cols;
    vec s = rand_vec(n, 30.0f), p(n, 0.0f), dp = rand_vec(n, 1.0f), ds(n, 0.0f), got;
    for (size_t r = 0; r < (size_t)batch * rows; r++) {
        int seen = first + (int)(r % rows) + 1;
        const float *sr = &s[r * cols];
        float mx = -INFINITY, sum = 0.0f;
        for (int j = 0; j < seen; j++)
            mx = fmaxf(mx, scale * sr[j]);
        for (int j = 0; j < seen; j++)
            sum += expf(scale * sr[j] - mx);
        for (int j = 0; j < seen; j++)
            p[r * cols + j] = expf(scale * sr[j] - mx) / sum;
    }
    dev<float> dsc(n), ddp(n);
    dev<wf_bf16> dpr(n);
    CK(put(dsc, s));
    CK(wf_k_causal_softmax(dsc.p, dpr.p, batch, rows, cols, first, scale, 0));
    CK(get(got, dpr));
    std::string shape = dims("%dx%dx%d first=%d", batch, rows, cols, first);
    report(kernel, shape, got, p, tol16);
    kernel = "causal_softmax_backward.inplace";
    vec pb = got; /* the bf16 P the kernel reads */
    for (size_t r = 0; r < (size_t)batch * rows; r++) {
        int seen = first + (int)(r % rows) + 1;
        double d = 0.0;
        for (int j = 0; j < seen; j++)
            d += (double)pb[r * cols + j] * dp[r * cols + j];
        for (int j = 0; j < seen; j++)
            ds[r * cols + j] = scale * pb[r * cols + j] * (dp[r * cols + j] - (float)d);
    }
    CK(put(ddp, dp));
    CK(wf_k_causal_softmax_backward(dpr.p, ddp.p, dpr.p, batch, rows, cols, first, scale, 0));
    CK(get(got, dpr));
    report(kernel, shape, got, ds, tol16);
}

static void check_swiglu(int rows, int cols, size_t ldin, size_t lda, size_t ldd)
{
    const char *kernel = "swiglu";
    vec gu = round_bf(rand_vec(rows * ldin, 4.0f)), dact = rand_vec(rows * ldd, 1.0f), got;
    vec g = block(gu, rows, cols, ldin), u = block(gu, rows, cols, ldin, cols), act = g;
    size_t n = (size_t)rows * cols;
    vec da = block(dact, rows, cols, ldd), dg(n), du(n);
    wf_tf_swiglu(act.data(), u.data(), n);
    wf_tf_swiglu_backward(g.data(), u.data(), da.data(), n, dg.data(), du.data());
    dev<wf_bf16> dgu(gu.size()), dact16(rows * lda), dd(rows * ldin);
    dev<float> ddact(dact.size());
    CK(put(dgu, gu));
    CK(put(ddact, dact));
    CK(wf_k_swiglu(dgu.p, dgu.p + cols, ldin, rows, cols, dact16.p, lda, 0));
    CK(get(got, dact16));
    std::string shape = dims("%dx%d fused ld=%zu lda=%zu ldd=%zu", rows, cols, ldin, lda, ldd);
    report(kernel, shape, block(got, rows, cols, lda), act, tol16);
    kernel = "swiglu_backward";
    CK(wf_k_swiglu_backward(dgu.p, dgu.p + cols, ldin, rows, cols, ddact.p, ldd, dd.p, dd.p + cols,
                            ldin, 0));
    CK(get(got, dd));
    report("swiglu_backward.dgate", shape, block(got, rows, cols, ldin), dg, tol16);
    report("swiglu_backward.dup", shape, block(got, rows, cols, ldin, cols), du, tol16);
}

/* LoRA dropout against the CPU's masks (dropout.h), on a 16-byte-aligned
 * shape (the kernels' vector path) and an odd one (pairs); row0 past 2^32
 * reaches the token's high word. */
static void check_dropout(int rows, int cols, size_t ld, size_t row0)
{
    const char *kernel = "lora_dropout";
    int layer = 3, proj = WF_TF_UP;
    uint32_t thr = wf_tf_dropout_threshold(0.25);
    float scale = wf_tf_dropout_scale(thr);
    uint64_t seed = wf_tf_mix64(rng_state + 17);
    wf_k_drop d = {wf_tf_dropout_key(seed, layer, proj), thr, row0};
    vec x = round_bf(rand_vec(rows * ld, 1.0f)), g = rand_vec(rows * ld, 1.0f),
        gx0 = rand_vec(rows * ld, 1.0f), y((size_t)rows * cols), gx = gx0, got;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            bool keep = wf_tf_dropout_keep(seed, layer, proj, row0 + r, (uint32_t)c, thr);
            y[(size_t)r * cols + c] = keep ? x[r * ld + c] * scale : 0.0f;
            gx[r * ld + c] += keep ? g[r * ld + c] * scale : 0.0f;
        }
    dev<wf_bf16> dx(x.size()), dy((size_t)rows * ld);
    dev<float> dg(g.size()), dgx(g.size());
    CK(put(dx, x));
    CK(wf_k_lora_dropout(dx.p, ld, rows, cols, &d, dy.p, ld, 0));
    CK(get(got, dy));
    std::string shape = dims("%dx%d ld=%zu p=0.25 row0=%zu", rows, cols, ld, row0);
    report(kernel, shape, block(got, rows, cols, ld), y, tol16);
    kernel = "lora_dropout_backward";
    CK(put(dg, g));
    CK(put(dgx, gx0));
    CK(wf_k_lora_dropout_backward(dg.p, ld, rows, cols, &d, dgx.p, ld, 0));
    CK(get(got, dgx));
    report(kernel, shape, block(got, rows, cols, ld), block(gx, rows, cols, ld), tol32);
}

static void check_pool()
{
    const char *kernel = "pool";
    std::vector<int32_t> st = starts_of({1, 37, 5, 257});
    int n = 4, T = st[n], h = 200;
    vec x = rand_vec((size_t)T * h, 2.0f), w = rand_vec(h, 1.0f), pooled((size_t)n * h), got;
    vec dp = rand_vec((size_t)n * h, 1.0f), dx0 = rand_vec((size_t)T * h, 1.0f), dx = dx0;
    for (int s = 0; s < n; s++) {
        size_t last = (size_t)(st[s + 1] - 1) * h;
        wf_tf_rmsnorm(&x[last], 1, h, h, w.data(), eps, &pooled[(size_t)s * h], h);
        wf_tf_rmsnorm_backward(&x[last], 1, h, h, w.data(), eps, &dp[(size_t)s * h], h, &dx[last],
                               h, 1);
    }
    dev<float> dxx(x.size()), dw(h), dpo(pooled.size()), drs(n), ddp(dp.size()), ddx(dx.size());
    dev<int32_t> dst(st.size());
    CK(put(dxx, x));
    CK(put(dw, w));
    CK(put(dst, st));
    CK(wf_k_pool(dxx.p, h, dst.p, n, dw.p, eps, dpo.p, drs.p, 0));
    CK(get(got, dpo));
    std::string shape = dims("T=%d n=%d h=%d", T, n, h);
    report(kernel, shape, got, pooled, tol32);
    for (int saved = 0; saved < 2; saved++) {
        kernel = saved ? "pool_backward.rstd_saved" : "pool_backward";
        CK(put(ddp, dp));
        CK(put(ddx, dx0));
        CK(wf_k_pool_backward(dxx.p, h, dst.p, n, dw.p, eps, saved ? drs.p : nullptr, ddp.p, ddx.p,
                              0));
        CK(get(got, ddx));
        report(kernel, shape, got, dx, tol32);
    }
}

/* The head forward, the loss and the head backward of grad.c, for one kind. */
static void check_head(wf_head_kind kind)
{
    bool coral = kind == WF_HEAD_CORAL;
    const char *kernel = coral ? "head_forward.coral" : "head_forward.independent";
    int n = 50, h = 200, nw = coral ? h : 3 * h;
    float scale = 0.37f;
    vec pooled = rand_vec((size_t)n * h, 1.0f), w = rand_vec(nw, 0.3f), b = rand_vec(3, 1.0f);
    vec z((size_t)n * 3), dz((size_t)n * 3), loss(n), gw = rand_vec(nw, 1.0f),
                                                      gb = rand_vec(3, 1.0f);
    vec gw0 = gw, gb0 = gb, dpool((size_t)n * h, 0.0f), got;
    std::vector<int32_t> labels(n);
    wf_tf_adapter ad;
    memset(&ad, 0, sizeof ad);
    ad.head = kind, ad.hidden = h, ad.head_w = w.data(), ad.head_b = b.data();
    for (int s = 0; s < n; s++) {
        labels[s] = 1 + s % 4;
        wf_tf_head_apply(&ad, &pooled[(size_t)s * h], &z[(size_t)s * 3]);
        loss[s] = (float)wf_tf_ordinal_loss(&z[(size_t)s * 3], labels[s], &dz[(size_t)s * 3]);
        for (int k = 0; k < 3; k++) {
            float g = dz[(size_t)s * 3 + k] * scale;
            dz[(size_t)s * 3 + k] = g;
            gb[k] += g;
            for (int i = 0; i < h; i++) {
                gw[(coral ? 0 : (size_t)k * h) + i] += g * pooled[(size_t)s * h + i];
                dpool[(size_t)s * h + i] += g * w[(coral ? 0 : (size_t)k * h) + i];
            }
        }
    }
    dev<float> dpo(pooled.size()), dw(nw), db(3), dz_(z.size()), ddz(dz.size()), dgw(nw), dgb(3),
        ddp(dpool.size());
    dev<double> dloss(n);
    dev<int32_t> dl(n);
    CK(put(dpo, pooled));
    CK(put(dw, w));
    CK(put(db, b));
    CK(put(dl, labels));
    CK(wf_k_head_forward(dpo.p, n, h, dw.p, db.p, coral, dz_.p, 0));
    CK(get(got, dz_));
    std::string shape = dims("n=%d h=%d", n, h);
    report(kernel, shape, got, z, tol32);
    kernel = "ordinal_loss";
    CK(put(dz_, z)); /* the CPU's logits, so the loss is checked alone */
    CK(wf_k_ordinal_loss(dz_.p, dl.p, n, scale, dloss.p, ddz.p, 0));
    std::vector<double> l(n);
    CK(cudaMemcpy(l.data(), dloss.p, n * 8, cudaMemcpyDeviceToHost));
    report("ordinal_loss.loss", shape, vec(l.begin(), l.end()), loss, tol32);
    CK(get(got, ddz));
    report("ordinal_loss.dlogits", shape, got, dz, tol32);
    kernel = coral ? "head_backward.coral" : "head_backward.independent";
    CK(put(ddz, dz));
    CK(put(dgw, gw0));
    CK(put(dgb, gb0));
    CK(wf_k_head_backward(dpo.p, n, h, dw.p, coral, ddz.p, dgw.p, dgb.p, ddp.p, 0));
    CK(get(got, dgw));
    report(coral ? "head_backward.coral.gw" : "head_backward.independent.gw", shape, got, gw,
           tol32);
    CK(get(got, dgb));
    report(coral ? "head_backward.coral.gb" : "head_backward.independent.gb", shape, got, gb,
           tol32);
    CK(get(got, ddp));
    report(coral ? "head_backward.coral.dpooled" : "head_backward.independent.dpooled", shape, got,
           dpool, tol32);
}

/* Three clipped AdamW steps with decay against wf_tf_adamw_step, each
 * step's norm from wf_k_sumsq. */
static void check_optim()
{
    const char *kernel = "adamw";
    size_t n = 100003, n_decay = 90000;
    wf_tf_optim_opts o;
    wf_tf_optim_defaults(&o);
    o.lr = 1e-3, o.weight_decay = 0.1, o.max_grad_norm = 1.0;
    wf_tf_adamw a;
    wf_error err;
    if (wf_tf_adamw_init(&a, &o, n, &err)) {
        printf("FAIL kernel=adamw call=wf_tf_adamw_init error=%s\n", err.msg);
        failures++;
        return;
    }
    vec p = rand_vec(n, 1.0f), got, norms, dnorms;
    dev<float> dp(n), dg(n), dm(n), dv(n);
    dev<double> partial(WF_K_REDUCE_BLOCKS), dss(1);
    dev<wf_bf16> d16(n);
    CK(put(dp, p));
    CK(cudaMemset(dm.p, 0, n * 4));
    CK(cudaMemset(dv.p, 0, n * 4));
    for (int t = 1; t <= 3; t++) {
        vec g = rand_vec(n, 0.05f * t), gc = g;
        double lr = o.lr * t / 3.0;
        norms.push_back((float)wf_tf_adamw_step(&a, p.data(), gc.data(), n_decay, lr));
        CK(put(dg, g));
        CK(wf_k_sumsq(dg.p, n, partial.p, dss.p, 0));
        double ss;
        CK(cudaMemcpy(&ss, dss.p, 8, cudaMemcpyDeviceToHost));
        double norm = sqrt(ss);
        dnorms.push_back((float)norm);
        wf_k_adamw_args args = {o.beta1,
                                o.beta2,
                                o.eps,
                                1.0 - lr * o.weight_decay,
                                lr / (1.0 - pow(o.beta1, t)),
                                sqrt(1.0 - pow(o.beta2, t)),
                                norm > o.max_grad_norm ? (float)(o.max_grad_norm / norm) : 1.0f};
        CK(wf_k_adamw(dp.p, dg.p, dm.p, dv.p, n, n_decay, &args, d16.p, 0));
    }
    std::string shape = dims("n=%zu n_decay=%zu steps=3 clipped", n, n_decay);
    report("sumsq.norm", shape, dnorms, norms, tol32);
    CK(get(got, dp));
    report("adamw.params", shape, got, p, tol32);
    CK(get(got, dm));
    report("adamw.m", shape, got, vec(a.m, a.m + n), tol32);
    CK(get(got, dv));
    report("adamw.v", shape, got, vec(a.v, a.v + n), tol32);
    CK(get(got, d16));
    report("adamw.bf16_mirror", shape, got, p, tol16);
    wf_tf_adamw_free(&a);
}

int main(int argc, char **argv)
{
    bool quick; /* for check_attention; accepted here too */
    if (!start_checks(argc, argv, "check_kernels", &quick))
        return 2;
    check_misc(0);
    check_misc(1);
    check_embed();
    check_rmsnorm(37, 1000, 1024, 1008, 1003);
    check_rmsnorm(37, 1024, 1024, 1024, 1024);
    check_headnorm(16);
    check_headnorm(3);
    check_rope(8);
    check_rope(1);
    check_bias();
    check_softmax(3, 20, 50, 30);
    check_softmax(2, 2, 5000, 4998);
    check_swiglu(9, 300, 604, 303, 301);
    check_swiglu(9, 384, 768, 384, 384);
    check_dropout(20, 97, 101, 7);
    check_dropout(33, 256, 264, (size_t)5 << 32);
    check_pool();
    check_head(WF_HEAD_CORAL);
    check_head(WF_HEAD_INDEPENDENT);
    check_optim();
    printf("check_kernels: %d failed\n", failures);
    return failures ? 1 : 0;
}
