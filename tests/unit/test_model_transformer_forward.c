/* The forward pass against a plain-loop, double-precision implementation
 * written here from the Hugging Face definitions, on tiny random Qwen3,
 * Qwen2 and Llama models; batching, sharding and argument checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/tf_internal.h"
#include "model_transformer/transformer.h"
#include "test_model_transformer_tiny.h"
#include "testutil.h"

/* RoPE frequencies as the test understands them (kind: 0 default,
 * 1 linear, 2 llama3 with low 1, high 4, original context 128). */
static void naive_freqs(int hd, double theta, int kind, double factor, double *f)
{
    for (int i = 0; i < hd / 2; i++) {
        f[i] = pow(theta, -2.0 * i / hd);
        if (kind == 1)
            f[i] /= factor;
        if (kind == 2) {
            double wl = 2 * M_PI / f[i], lo = 128.0 / 1.0, hi = 128.0 / 4.0;
            if (wl > lo)
                f[i] /= factor;
            else if (wl >= hi) {
                double sm = (128.0 / wl - 1.0) / (4.0 - 1.0);
                f[i] = (1 - sm) * f[i] / factor + sm * f[i];
            }
        }
    }
}

static void naive_norm(const double *x, int n, const float *w, double *y)
{
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += x[i] * x[i];
    double inv = 1.0 / sqrt(ss / n + 1e-6);
    for (int i = 0; i < n; i++)
        y[i] = w[i] * x[i] * inv;
}

/* y[o] = sum_i w[o][i] x[i] + b[o] */
static void naive_matvec(const float *w, const float *b, const double *x, int in, int out,
                         double *y)
{
    for (int o = 0; o < out; o++) {
        double z = b ? b[o] : 0.0;
        for (int i = 0; i < in; i++)
            z += (double)w[(size_t)o * in + i] * x[i];
        y[o] = z;
    }
}

static void naive_rope(double *v, int hd, size_t pos, const double *f)
{
    for (int i = 0; i < hd / 2; i++) {
        double a = v[i], b = v[i + hd / 2], c = cos(pos * f[i]), s = sin(pos * f[i]);
        v[i] = a * c - b * s;
        v[i + hd / 2] = b * c + a * s;
    }
}

typedef struct naive {
    const tiny_model *tm;
    const double *freqs;
    const float *head; /* [3, hidden] */
} naive;

static void naive_attention(const naive *nv, double *q, double *k, double *v, size_t len,
                            double *att)
{
    const tiny_spec *s = &nv->tm->spec;
    int hd = s->head_dim, qd = s->heads * hd, kvd = s->kv_heads * hd;
    double *p = malloc(len * sizeof *p);
    for (size_t t = 0; t < len; t++)
        for (int h = 0; h < s->heads; h++) {
            int g = h / (s->heads / s->kv_heads);
            double mx = -1e300, sum = 0;
            for (size_t j = 0; j <= t; j++) {
                double d = 0;
                for (int i = 0; i < hd; i++)
                    d += q[t * qd + h * hd + i] * k[j * kvd + g * hd + i];
                p[j] = d / sqrt(hd);
                mx = p[j] > mx ? p[j] : mx;
            }
            for (size_t j = 0; j <= t; j++)
                sum += (p[j] = exp(p[j] - mx));
            for (int i = 0; i < hd; i++) {
                double a = 0;
                for (size_t j = 0; j <= t; j++)
                    a += p[j] / sum * v[j * kvd + g * hd + i];
                att[t * qd + h * hd + i] = a;
            }
        }
    free(p);
}

static void naive_layer(const naive *nv, int l, double *x, size_t len)
{
    const tiny_model *tm = nv->tm;
    const tiny_spec *s = &tm->spec;
    int h = s->hidden, hd = s->head_dim, qd = s->heads * hd, kvd = s->kv_heads * hd;
    double *xn = malloc(sizeof(double) * h), *q = malloc(sizeof(double) * len * qd),
           *k = malloc(sizeof(double) * len * kvd), *v = malloc(sizeof(double) * len * kvd),
           *att = malloc(sizeof(double) * len * qd), *o = malloc(sizeof(double) * h),
           *g = malloc(sizeof(double) * s->inter), *u = malloc(sizeof(double) * s->inter);
    for (size_t t = 0; t < len; t++) {
        naive_norm(x + t * h, h, tiny_layer(tm, l, "input_layernorm.weight"), xn);
        naive_matvec(tiny_layer(tm, l, "self_attn.q_proj.weight"),
                     tiny_layer(tm, l, "self_attn.q_proj.bias"), xn, h, qd, q + t * qd);
        naive_matvec(tiny_layer(tm, l, "self_attn.k_proj.weight"),
                     tiny_layer(tm, l, "self_attn.k_proj.bias"), xn, h, kvd, k + t * kvd);
        naive_matvec(tiny_layer(tm, l, "self_attn.v_proj.weight"),
                     tiny_layer(tm, l, "self_attn.v_proj.bias"), xn, h, kvd, v + t * kvd);
        for (int hh = 0; hh < s->heads; hh++) {
            double *qh = q + t * qd + hh * hd;
            if (s->qk_norm)
                naive_norm(qh, hd, tiny_layer(tm, l, "self_attn.q_norm.weight"), qh);
            naive_rope(qh, hd, t, nv->freqs);
        }
        for (int hh = 0; hh < s->kv_heads; hh++) {
            double *kh = k + t * kvd + hh * hd;
            if (s->qk_norm)
                naive_norm(kh, hd, tiny_layer(tm, l, "self_attn.k_norm.weight"), kh);
            naive_rope(kh, hd, t, nv->freqs);
        }
    }
    naive_attention(nv, q, k, v, len, att);
    for (size_t t = 0; t < len; t++) {
        double *xt = x + t * h;
        naive_matvec(tiny_layer(tm, l, "self_attn.o_proj.weight"), NULL, att + t * qd, qd, h, o);
        for (int i = 0; i < h; i++)
            xt[i] += o[i];
        naive_norm(xt, h, tiny_layer(tm, l, "post_attention_layernorm.weight"), xn);
        naive_matvec(tiny_layer(tm, l, "mlp.gate_proj.weight"), NULL, xn, h, s->inter, g);
        naive_matvec(tiny_layer(tm, l, "mlp.up_proj.weight"), NULL, xn, h, s->inter, u);
        for (int i = 0; i < s->inter; i++)
            g[i] = g[i] / (1 + exp(-g[i])) * u[i];
        naive_matvec(tiny_layer(tm, l, "mlp.down_proj.weight"), NULL, g, s->inter, h, o);
        for (int i = 0; i < h; i++)
            xt[i] += o[i];
    }
    free(xn), free(q), free(k), free(v), free(att), free(o), free(g), free(u);
}

static void naive_forward(const naive *nv, const int32_t *ids, size_t len, double out[3])
{
    const tiny_spec *s = &nv->tm->spec;
    int h = s->hidden;
    double *x = malloc(sizeof(double) * len * h), *xn = malloc(sizeof(double) * h);
    const float *emb = tiny_find(nv->tm, "model.embed_tokens.weight");
    for (size_t t = 0; t < len; t++)
        for (int i = 0; i < h; i++)
            x[t * h + i] = emb[(size_t)ids[t] * h + i];
    for (int l = 0; l < s->layers; l++)
        naive_layer(nv, l, x, len);
    naive_norm(x + (len - 1) * h, h, tiny_find(nv->tm, "model.norm.weight"), xn);
    naive_matvec(nv->head, NULL, xn, h, 3, out);
    free(x), free(xn);
}

static int32_t *random_ids(size_t n, int vocab, uint64_t seed)
{
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = (int32_t)((tiny_uniform(&seed) + 1.0) / 2.0 * vocab) % vocab;
    return ids;
}

static const tiny_spec QWEN3 = {
    "Qwen3ForSequenceClassification", 32, 2, 4, 2, 8, 64, 100, 3, 1, 0, NULL, 11};
static const tiny_spec LLAMA = {
    "LlamaForCausalLM",
    32,
    2,
    4,
    2,
    8,
    64,
    100,
    0,
    0,
    0,
    ",\"tie_word_embeddings\":true,\"rope_scaling\":{\"rope_type\":"
    "\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,"
    "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":128}",
    22};
static const tiny_spec QWEN2 = {"Qwen2ForCausalLM",
                                32,
                                2,
                                4,
                                1,
                                8,
                                48,
                                100,
                                0,
                                0,
                                1,
                                ",\"rope_scaling\":{\"type\":\"linear\",\"factor\":2.0}",
                                33};

/* Loads spec's model and checks a batch of lengths 5, 17, 150 and 1 (150 spans
 * two attention blocks) against the naive implementation. */
static void check_against_naive(const tiny_spec *spec, int rope_kind, double factor)
{
    tiny_model tm;
    tiny_build(spec, &tm);
    const char *dir = wf_test_tmpdir();
    assert_int_equal(tiny_write(&tm, dir), 0);
    wf_tf_model *m = NULL;
    wf_error err = {0};
    wf_tf_load_opts opts = {0, 77};
    int rc = wf_tf_load_dir(dir, &opts, &m, &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_int_equal(wf_tf_model_head_from_checkpoint(m), spec->labels == 3);
    size_t lens[4] = {5, 17, 150, 1};
    const int32_t *ids[4];
    for (int i = 0; i < 4; i++)
        ids[i] = random_ids(lens[i], spec->vocab, 100 + (uint64_t)i);
    float got[12];
    assert_int_equal(wf_tf_forward(m, ids, lens, 4, got, &err), 0);
    double freqs[64];
    naive_freqs(spec->head_dim, 10000.0, rope_kind, factor, freqs);
    naive nv = {&tm, freqs, spec->labels == 3 ? tiny_find(&tm, "score.weight") : m->head_w};
    double scale = 0;
    for (int i = 0; i < 12; i++)
        scale = fmax(scale, fabs(got[i]));
    assert_true(scale > 0.05); /* a head that outputs zeros would prove nothing */
    for (int i = 0; i < 4; i++) {
        double want[3];
        naive_forward(&nv, ids[i], lens[i], want);
        for (int k = 0; k < 3; k++)
            if (fabs(got[i * 3 + k] - want[k]) > 1e-5 * (fabs(want[k]) + scale))
                fail_msg("seq %d logit %d: got %.8f want %.8f", i, k, got[i * 3 + k], want[k]);
        free((void *)ids[i]);
    }
    wf_tf_free(m);
    tiny_free(&tm);
}

static void test_qwen3_matches_naive(void **state)
{
    (void)state;
    check_against_naive(&QWEN3, 0, 1.0);
}

static void test_llama_llama3_rope_matches_naive(void **state)
{
    (void)state;
    check_against_naive(&LLAMA, 2, 8.0);
}

static void test_qwen2_bias_linear_rope_matches_naive(void **state)
{
    (void)state;
    check_against_naive(&QWEN2, 1, 2.0);
}

static wf_tf_model *load_tiny(const tiny_spec *spec, tiny_model *tm, uint64_t head_seed,
                              size_t max_len)
{
    tiny_build(spec, tm);
    const char *dir = wf_test_tmpdir();
    assert_int_equal(tiny_write(tm, dir), 0);
    wf_tf_model *m = NULL;
    wf_error err = {0};
    wf_tf_load_opts opts = {max_len, head_seed};
    if (wf_tf_load_dir(dir, &opts, &m, &err))
        fail_msg("%s", err.msg);
    return m;
}

/* The same text alone, first in a batch, and between longer texts. */
static void test_batch_invariance(void **state)
{
    (void)state;
    tiny_model tm;
    wf_tf_model *m = load_tiny(&QWEN3, &tm, 0, 0);
    int32_t *a = random_ids(9, 100, 1), *b = random_ids(130, 100, 2), *c = random_ids(64, 100, 3);
    const int32_t *one[1] = {a}, *three[3] = {b, a, c}, *two[2] = {a, b};
    size_t l1[1] = {9}, l3[3] = {130, 9, 64}, l2[2] = {9, 130};
    float alone[3], mixed[9], first[6];
    wf_error err;
    assert_int_equal(wf_tf_forward(m, one, l1, 1, alone, &err), 0);
    assert_int_equal(wf_tf_forward(m, three, l3, 3, mixed, &err), 0);
    assert_int_equal(wf_tf_forward(m, two, l2, 2, first, &err), 0);
    for (int k = 0; k < 3; k++) {
        assert_float_equal(alone[k], mixed[3 + k], 1e-6 * (1 + fabsf(alone[k])));
        assert_float_equal(alone[k], first[k], 1e-6 * (1 + fabsf(alone[k])));
        assert_float_equal(mixed[k], first[3 + k], 1e-6 * (1 + fabsf(mixed[k])));
    }
    free(a), free(b), free(c);
    wf_tf_free(m);
    tiny_free(&tm);
}

/* Two shards and an index give the logits of the single file. */
static void test_sharded_index(void **state)
{
    (void)state;
    tiny_model tm;
    wf_tf_model *single = load_tiny(&QWEN3, &tm, 0, 0);
    const char *dir = wf_test_tmpdir();
    char path[4096];
    wf_error err;
    size_t half = tm.n / 2;
    snprintf(path, sizeof path, "%s/model-00001-of-00002.safetensors", dir);
    assert_int_equal(wf_st_write(path, tm.t, half, NULL, 0, &err), 0);
    snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", dir);
    assert_int_equal(wf_st_write(path, tm.t + half, tm.n - half, NULL, 0, &err), 0);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"metadata\":{\"total_size\":0},\"weight_map\":{");
    for (size_t i = 0; i < tm.n; i++)
        fprintf(f, "%s\"%s\":\"model-0000%d-of-00002.safetensors\"", i ? "," : "", tm.t[i].name,
                i < half ? 1 : 2);
    fprintf(f, "}}");
    fclose(f);
    assert_int_equal(tiny_write_config(&tm, dir), 0);
    wf_tf_model *sharded = NULL;
    if (wf_tf_load_dir(dir, NULL, &sharded, &err))
        fail_msg("%s", err.msg);
    int32_t *ids = random_ids(20, 100, 5);
    const int32_t *batch[1] = {ids};
    size_t len[1] = {20};
    float x[3], y[3];
    assert_int_equal(wf_tf_forward(single, batch, len, 1, x, &err), 0);
    assert_int_equal(wf_tf_forward(sharded, batch, len, 1, y, &err), 0);
    assert_memory_equal(x, y, sizeof x);
    free(ids);
    wf_tf_free(single);
    wf_tf_free(sharded);
    tiny_free(&tm);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    tiny_model tm;
    wf_tf_model *m = load_tiny(&QWEN3, &tm, 0, 16);
    assert_int_equal(wf_tf_model_max_len(m), 16);
    int32_t ids[17] = {0};
    const int32_t *batch[1] = {ids};
    size_t len[1] = {17};
    float out[3] = {7, 7, 7};
    wf_error err;
    assert_int_equal(wf_tf_forward(m, batch, len, 1, out, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "length 17 not in [1, 16]"));
    len[0] = 0;
    assert_int_equal(wf_tf_forward(m, batch, len, 1, out, &err), WF_EINVAL);
    len[0] = 4;
    ids[3] = 100;
    assert_int_equal(wf_tf_forward(m, batch, len, 1, out, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "token 3: id 100 not in [0, 100)"));
    ids[3] = -1;
    assert_int_equal(wf_tf_forward(m, batch, len, 1, out, &err), WF_EINVAL);
    assert_true(out[0] == 7 && out[1] == 7 && out[2] == 7);
    assert_int_equal(wf_tf_forward(m, batch, len, 0, out, &err), 0);
    wf_tf_free(m);
    tiny_free(&tm);
}

/* A causal LM gets a new head: zeros without a seed; a score weight that is
 * not 3 wide is not used. */
static void test_new_heads(void **state)
{
    (void)state;
    tiny_model tm;
    wf_tf_model *m = load_tiny(&LLAMA, &tm, 0, 0);
    int32_t ids[3] = {1, 2, 3};
    const int32_t *batch[1] = {ids};
    size_t len[1] = {3};
    float out[3] = {1, 1, 1};
    wf_error err;
    assert_int_equal(wf_tf_forward(m, batch, len, 1, out, &err), 0);
    assert_true(out[0] == 0 && out[1] == 0 && out[2] == 0);
    assert_int_equal(wf_tf_model_head_from_checkpoint(m), 0);
    wf_tf_free(m);
    tiny_free(&tm);
    tiny_spec one = QWEN3;
    one.labels = 1;
    m = load_tiny(&one, &tm, 0, 0);
    assert_int_equal(wf_tf_model_config(m)->num_labels, 1);
    assert_int_equal(wf_tf_model_head_from_checkpoint(m), 0);
    wf_tf_free(m);
    tiny_free(&tm);
}

/* x rounded to bfloat16 (nearest even), values under 1e-4 flushed to zero
 * so that the result is also exact in float16. */
static float to_bf16_grid(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    u = (u + 0x7fff + ((u >> 16) & 1)) & 0xffff0000u;
    memcpy(&x, &u, 4);
    return fabsf(x) < 1e-4f ? 0.0f : x;
}

/* The 16-bit pattern of an x on the bfloat16 grid, as BF16 or F16. */
static uint16_t half_bits(float x, int f16)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if (!f16)
        return (uint16_t)(u >> 16);
    if (x == 0.0f)
        return (uint16_t)((u >> 16) & 0x8000);
    uint32_t sign = (u >> 16) & 0x8000, exp = ((u >> 23) & 0xff) - 127 + 15;
    return (uint16_t)(sign | exp << 10 | ((u >> 13) & 0x3ff));
}

/* Writes tm's tensors as a BF16 or F16 safetensors file by hand (our writer
 * only writes F32). */
static void write_half(const tiny_model *tm, const char *path, int f16)
{
    char *hdr = malloc(1 << 16);
    size_t at = 0, off = 0;
    at += (size_t)sprintf(hdr + at, "{");
    for (size_t i = 0; i < tm->n; i++) {
        const wf_st_out *t = &tm->t[i];
        size_t n = t->shape[0] * (t->ndim == 2 ? t->shape[1] : 1);
        at += (size_t)sprintf(hdr + at, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%llu", i ? "," : "",
                              t->name, f16 ? "F16" : "BF16", (unsigned long long)t->shape[0]);
        if (t->ndim == 2)
            at += (size_t)sprintf(hdr + at, ",%llu", (unsigned long long)t->shape[1]);
        at += (size_t)sprintf(hdr + at, "],\"data_offsets\":[%zu,%zu]}", off, off + 2 * n);
        off += 2 * n;
    }
    at += (size_t)sprintf(hdr + at, "}");
    FILE *f = fopen(path, "wb");
    uint64_t len = at; /* little-endian hosts only, as the format */
    fwrite(&len, 8, 1, f);
    fwrite(hdr, 1, at, f);
    for (size_t i = 0; i < tm->n; i++) {
        const wf_st_out *t = &tm->t[i];
        size_t n = t->shape[0] * (t->ndim == 2 ? t->shape[1] : 1);
        for (size_t j = 0; j < n; j++) {
            uint16_t b = half_bits(t->data[j], f16);
            fwrite(&b, 2, 1, f);
        }
    }
    fclose(f);
    free(hdr);
}

/* BF16 and F16 files give exactly the logits of the F32 file holding the
 * same (representable) values: conversion happens once, exactly, at load. */
static void test_half_precision_files(void **state)
{
    (void)state;
    tiny_model tm;
    tiny_build(&QWEN3, &tm);
    for (size_t i = 0; i < tm.n; i++) {
        float *d = (float *)tm.t[i].data;
        size_t n = tm.t[i].shape[0] * (tm.t[i].ndim == 2 ? tm.t[i].shape[1] : 1);
        for (size_t j = 0; j < n; j++)
            d[j] = to_bf16_grid(d[j]);
    }
    int32_t *ids = random_ids(33, 100, 9);
    const int32_t *batch[1] = {ids};
    size_t len[1] = {33};
    float want[3], got[3];
    wf_error err;
    for (int variant = 0; variant < 3; variant++) {
        const char *dir = wf_test_tmpdir();
        char path[4096];
        assert_int_equal(tiny_write(&tm, dir), 0);
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        if (variant > 0)
            write_half(&tm, path, variant == 2);
        wf_tf_model *m = NULL;
        if (wf_tf_load_dir(dir, NULL, &m, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(wf_tf_forward(m, batch, len, 1, variant ? got : want, &err), 0);
        if (variant)
            assert_memory_equal(want, got, sizeof want);
        wf_tf_free(m);
    }
    assert_true(want[0] != 0.0f);
    free(ids);
    tiny_free(&tm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen3_matches_naive),
        cmocka_unit_test(test_llama_llama3_rope_matches_naive),
        cmocka_unit_test(test_qwen2_bias_linear_rope_matches_naive),
        cmocka_unit_test(test_batch_invariance),
        cmocka_unit_test(test_sharded_index),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_new_heads),
        cmocka_unit_test(test_half_precision_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
