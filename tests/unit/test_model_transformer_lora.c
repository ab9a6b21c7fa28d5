/* LoRA adapters on the CPU reference: layout, zero-B identity, agreement
 * with a model whose weights have the adapters merged in, heads, dropout
 * masks and target parsing. */
#include "test_model_transformer_tiny.h"
#include "testutil.h"

#include "model_transformer/adapter.h"
#include "model_transformer/dropout.h"
#include "model_transformer/tf_internal.h"

static const tiny_spec QWEN3 = {
    "Qwen3ForSequenceClassification", 32, 2, 4, 2, 8, 48, 64, 3, 1, 0, NULL, 11};

static const int32_t SEQ_A[] = {1, 5, 9, 33, 2, 61, 7};
static const int32_t SEQ_B[] = {4};
static const int32_t SEQ_C[] = {8, 8, 13, 21, 34, 55, 0, 1, 2, 3, 5};
static const int32_t *const IDS[] = {SEQ_A, SEQ_B, SEQ_C};
static const size_t LENS[] = {7, 1, 11};

static wf_tf_model *load_tiny(const tiny_model *tm)
{
    const char *dir = wf_test_tmpdir();
    assert_int_equal(tiny_write(tm, dir), 0);
    wf_tf_model *m = NULL;
    wf_error err;
    assert_int_equal(wf_tf_load_dir(dir, NULL, &m, &err), 0);
    return m;
}

static wf_tf_adapter *new_adapter(const wf_tf_model *m, unsigned targets, wf_head_kind head)
{
    wf_tf_lora_opts o = {4, 8.0, 0.0, targets};
    wf_tf_adapter *ad = NULL;
    wf_error err;
    assert_int_equal(wf_tf_adapter_new(m, &o, head, 5, &ad, &err), 0);
    return ad;
}

static void fill_b(wf_tf_adapter *ad, const wf_tf_config *c, uint64_t seed)
{
    for (int l = 0; l < ad->layers; l++)
        for (int p = 0; p < WF_TF_NPROJ; p++) {
            size_t in, out;
            wf_tf_proj_dims(c, (wf_tf_proj)p, &in, &out);
            for (size_t i = 0; ad->proj[l][p].b && i < out * (size_t)ad->lora.rank; i++)
                ad->proj[l][p].b[i] = (float)(0.3 * tiny_uniform(&seed));
        }
}

static void test_layout_counts(void **state)
{
    (void)state;
    tiny_model tm;
    tiny_build(&QWEN3, &tm);
    wf_tf_model *m = load_tiny(&tm);
    wf_tf_adapter *ad = new_adapter(m, 1u << WF_TF_Q | 1u << WF_TF_DOWN, WF_HEAD_CORAL);
    /* per layer: q 4 x (32 + 32), down 4 x (48 + 32); head 32 + 3 */
    size_t lora = 2 * (4 * (32 + 32) + 4 * (48 + 32));
    assert_int_equal(ad->n_params, lora + 32 + 3);
    assert_int_equal(ad->n_decay, lora + 32);
    assert_ptr_equal(ad->proj[0][WF_TF_Q].a, ad->params);
    assert_ptr_equal(ad->proj[0][WF_TF_Q].b, ad->params + 4 * 32);
    assert_ptr_equal(ad->proj[0][WF_TF_DOWN].a, ad->params + 4 * 64);
    assert_null(ad->proj[1][WF_TF_K].a);
    assert_ptr_equal(ad->head_b, ad->params + ad->n_params - 3);
    /* A is drawn within +-1/sqrt(in); B starts at zero */
    for (size_t i = 0; i < 4 * 32; i++)
        assert_true(fabsf(ad->proj[0][WF_TF_Q].a[i]) <= 1.0f / sqrtf(32.0f));
    for (size_t i = 0; i < 32 * 4; i++)
        assert_true(ad->proj[0][WF_TF_Q].b[i] == 0.0f);
    wf_tf_adapter *copy = NULL;
    wf_error err;
    assert_int_equal(wf_tf_adapter_clone(ad, &copy, &err), 0);
    assert_memory_equal(copy->params, ad->params, ad->n_params * sizeof(float));
    assert_ptr_equal(copy->proj[1][WF_TF_DOWN].b - copy->params,
                     ad->proj[1][WF_TF_DOWN].b - ad->params);
    assert_ptr_equal(copy->head_w - copy->params, ad->head_w - ad->params);
    wf_tf_adapter_free(copy);
    wf_tf_adapter_free(ad);
    wf_tf_free(m);
    tiny_free(&tm);
}

/* B = 0 and the checkpoint's own (independent) head: bit for bit the base. */
static void test_zero_b_is_base(void **state)
{
    (void)state;
    tiny_model tm;
    tiny_build(&QWEN3, &tm);
    wf_tf_model *m = load_tiny(&tm);
    wf_tf_adapter *ad = new_adapter(m, (1u << WF_TF_NPROJ) - 1, WF_HEAD_INDEPENDENT);
    float base[9], adapted[9];
    wf_error err;
    assert_int_equal(wf_tf_forward(m, IDS, LENS, 3, base, &err), 0);
    assert_int_equal(wf_tf_forward_adapted(m, ad, IDS, LENS, 3, adapted, &err), 0);
    assert_memory_equal(base, adapted, sizeof base);
    wf_tf_adapter_free(ad);
    wf_tf_free(m);
    tiny_free(&tm);
}

/* W + s B A written as a plain checkpoint scores like W with the adapter:
 * the LoRA branch is exactly PEFT's merge. */
static void merge_into(tiny_model *tm, const wf_tf_adapter *ad, const wf_tf_config *c)
{
    static const char *const parts[WF_TF_NPROJ] = {
        "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
        "self_attn.o_proj.weight", "mlp.gate_proj.weight",    "mlp.up_proj.weight",
        "mlp.down_proj.weight"};
    float s = (float)(ad->lora.alpha / ad->lora.rank);
    for (int l = 0; l < ad->layers; l++)
        for (int p = 0; p < WF_TF_NPROJ; p++) {
            const wf_tf_lora *lo = &ad->proj[l][p];
            if (!lo->a)
                continue;
            size_t in, out;
            wf_tf_proj_dims(c, (wf_tf_proj)p, &in, &out);
            float *w = (float *)tiny_layer(tm, l, parts[p]);
            for (size_t o = 0; o < out; o++)
                for (size_t i = 0; i < in; i++) {
                    double d = 0;
                    for (int r = 0; r < ad->lora.rank; r++)
                        d += (double)lo->b[o * ad->lora.rank + r] * lo->a[r * in + i];
                    w[o * in + i] += s * (float)d;
                }
        }
}

static void test_matches_merged_weights(void **state)
{
    (void)state;
    tiny_model tm;
    tiny_build(&QWEN3, &tm);
    wf_tf_model *m = load_tiny(&tm);
    wf_tf_adapter *ad = new_adapter(m, (1u << WF_TF_NPROJ) - 1, WF_HEAD_INDEPENDENT);
    fill_b(ad, &m->cfg, 99);
    float adapted[9], merged[9];
    wf_error err;
    assert_int_equal(wf_tf_forward_adapted(m, ad, IDS, LENS, 3, adapted, &err), 0);
    merge_into(&tm, ad, &m->cfg);
    wf_tf_model *mm = load_tiny(&tm);
    assert_int_equal(wf_tf_forward(mm, IDS, LENS, 3, merged, &err), 0);
    float base[9];
    assert_int_equal(wf_tf_forward(m, IDS, LENS, 3, base, &err), 0);
    double moved = 0;
    for (int i = 0; i < 9; i++) {
        assert_float_equal(adapted[i], merged[i], 1e-4);
        moved += fabs(adapted[i] - base[i]);
    }
    assert_true(moved > 1e-2); /* the adapters did change the outputs */
    wf_tf_adapter_free(ad);
    wf_tf_free(mm);
    wf_tf_free(m);
    tiny_free(&tm);
}

/* A coral head is one vector: its logits differ only by their biases. */
static void test_coral_head(void **state)
{
    (void)state;
    tiny_model tm;
    tiny_build(&QWEN3, &tm);
    wf_tf_model *m = load_tiny(&tm);
    wf_tf_adapter *ad = new_adapter(m, 0, WF_HEAD_CORAL);
    assert_int_equal(ad->n_params, 32 + 3);
    ad->head_b[0] = 1.0f, ad->head_b[1] = 0.0f, ad->head_b[2] = -2.0f;
    float z[9];
    wf_error err;
    assert_int_equal(wf_tf_forward_adapted(m, ad, IDS, LENS, 3, z, &err), 0);
    for (int s = 0; s < 3; s++) {
        assert_float_equal(z[s * 3] - z[s * 3 + 1], 1.0f, 1e-5);
        assert_float_equal(z[s * 3 + 1] - z[s * 3 + 2], 2.0f, 1e-5);
    }
    /* coral starts from the mean of the checkpoint's rows */
    const float *score = tiny_find(&tm, "score.weight");
    assert_float_equal(ad->head_w[3], (score[3] + score[32 + 3] + score[64 + 3]) / 3.0f, 1e-6);
    wf_tf_adapter_free(ad);
    wf_tf_free(m);
    tiny_free(&tm);
}

static void test_adapter_shape_mismatch(void **state)
{
    (void)state;
    tiny_model tm, other;
    tiny_build(&QWEN3, &tm);
    tiny_spec wide = QWEN3;
    wide.hidden = 40;
    tiny_build(&wide, &other);
    wf_tf_model *m = load_tiny(&tm), *mo = load_tiny(&other);
    wf_tf_adapter *ad = new_adapter(mo, 1u << WF_TF_V, WF_HEAD_CORAL);
    float z[9];
    wf_error err;
    assert_int_equal(wf_tf_forward_adapted(m, ad, IDS, LENS, 3, z, &err), WF_EINVAL);
    wf_tf_adapter_free(ad);
    wf_tf_free(m), wf_tf_free(mo);
    tiny_free(&tm), tiny_free(&other);
}

static int keep_of(uint64_t seed, int layer, size_t i, double p)
{
    return wf_tf_dropout_keep(seed, layer, WF_TF_V, i / 100, (uint32_t)(i % 100),
                              wf_tf_dropout_threshold(p));
}

static void test_dropout_masks(void **state)
{
    (void)state;
    size_t kept = 0, n = 200000, pairs_split = 0;
    for (size_t i = 0; i < n; i++) {
        int k = keep_of(42, 1, i, 0.25);
        kept += (size_t)k;
        if (i & 1) /* the two halves of one hash decide independently */
            pairs_split += (size_t)(k != keep_of(42, 1, i - 1, 0.25));
    }
    assert_true(kept > n * 0.74 && kept < n * 0.76);
    /* P(a pair differs) = 2 p (1 - p) = 0.375 */
    assert_true(pairs_split > n / 2 * 0.36 && pairs_split < n / 2 * 0.39);
    size_t differs = 0; /* another layer, projection or seed draws another mask */
    for (size_t i = 0; i < 1000; i++)
        differs += (size_t)(keep_of(42, 1, i, 0.5) != keep_of(42, 2, i, 0.5)) +
                   (size_t)(keep_of(42, 1, i, 0.5) != keep_of(43, 1, i, 0.5));
    assert_true(differs > 800);
    for (size_t i = 0; i < 1000; i++)
        assert_true(keep_of(7, 0, i, 0.0));
    /* the drawn probability and the scale that keeps the mean */
    assert_int_equal(wf_tf_dropout_threshold(0.05), 3277);
    assert_int_equal(wf_tf_dropout_threshold(0.0), 0);
    assert_int_equal(wf_tf_dropout_threshold(0.9999999), 65535);
    assert_float_equal(wf_tf_dropout_scale(16384), 4.0f / 3.0f, 1e-7);
}

static void test_parse_targets(void **state)
{
    (void)state;
    unsigned t;
    wf_error err;
    assert_int_equal(wf_tf_proj_parse("q_proj, v_proj", &t, &err), 0);
    assert_int_equal(t, 1u << WF_TF_Q | 1u << WF_TF_V);
    assert_int_equal(wf_tf_proj_parse("all", &t, &err), 0);
    assert_int_equal(t, 0x7fu);
    assert_int_equal(wf_tf_proj_parse("", &t, &err), 0);
    assert_int_equal(t, 0u);
    assert_int_equal(wf_tf_proj_parse("q_proj,lm_head", &t, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "lm_head"));
    assert_string_equal(wf_tf_proj_name(WF_TF_DOWN), "down_proj");
    wf_tf_model m = {
        .cfg = {.hidden = 32, .heads = 4, .kv_heads = 2, .head_dim = 8, .intermediate = 48}};
    size_t in, out;
    wf_tf_proj_dims(&m.cfg, WF_TF_K, &in, &out);
    assert_true(in == 32 && out == 16);
    wf_tf_proj_dims(&m.cfg, WF_TF_O, &in, &out);
    assert_true(in == 32 && out == 32);
    wf_tf_proj_dims(&m.cfg, WF_TF_DOWN, &in, &out);
    assert_true(in == 48 && out == 32);
    wf_tf_lora_opts bad = {0, 8.0, 0.0, 1};
    wf_tf_adapter *ad = NULL;
    assert_int_equal(wf_tf_adapter_new(&m, &bad, WF_HEAD_CORAL, 1, &ad, &err), WF_EINVAL);
    assert_null(ad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_counts),          cmocka_unit_test(test_zero_b_is_base),
        cmocka_unit_test(test_matches_merged_weights), cmocka_unit_test(test_coral_head),
        cmocka_unit_test(test_adapter_shape_mismatch), cmocka_unit_test(test_dropout_masks),
        cmocka_unit_test(test_parse_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
