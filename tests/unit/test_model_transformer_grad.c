/* The whole CPU training pass (wf_tf_grad) against finite differences of
 * its own loss, on tiny Qwen3, Qwen2 and Llama models with adapters on
 * every projection, with and without dropout, for both heads. */
#include "test_model_transformer_tiny.h"
#include "testutil.h"

#include "model_transformer/adapter.h"
#include "model_transformer/tf_internal.h"
#include "model_transformer/train.h"

static const tiny_spec QWEN3 = {
    "Qwen3ForSequenceClassification", 16, 2, 4, 2, 8, 24, 40, 3, 1, 0, NULL, 3};
static const tiny_spec QWEN2 = {"Qwen2ForCausalLM", 16, 2, 2, 2, 8, 24, 40, 0, 0, 1, NULL, 4};
static const tiny_spec LLAMA = {"LlamaForCausalLM", 16, 2, 4, 1, 4, 20, 40, 0, 0, 0, NULL, 5};

static const int32_t SEQ_A[] = {1, 5, 9, 33, 2};
static const int32_t SEQ_B[] = {4};
static const int32_t SEQ_C[] = {8, 8, 13, 21, 34, 39, 0, 1, 2};
static const int32_t *const IDS[] = {SEQ_A, SEQ_B, SEQ_C};
static const size_t LENS[] = {5, 1, 9};
static const int LABELS[] = {1, 4, 2};
static const wf_tf_batch BATCH = {IDS, LENS, LABELS, 3};

typedef struct fixture {
    tiny_model tm;
    wf_tf_model *m;
    wf_tf_adapter *ad;
} fixture;

static void setup(fixture *f, const tiny_spec *spec, wf_head_kind head, double dropout)
{
    tiny_build(spec, &f->tm);
    const char *dir = wf_test_tmpdir();
    assert_int_equal(tiny_write(&f->tm, dir), 0);
    wf_error err;
    wf_tf_load_opts lo = {0, 17}; /* causal-LM checkpoints get a small random head */
    assert_int_equal(wf_tf_load_dir(dir, &lo, &f->m, &err), 0);
    wf_tf_lora_opts o = {2, 4.0, dropout, (1u << WF_TF_NPROJ) - 1};
    assert_int_equal(wf_tf_adapter_new(f->m, &o, head, 9, &f->ad, &err), 0);
    uint64_t rng = 77; /* B and the head away from their starting values */
    for (size_t i = 0; i < f->ad->n_params; i++)
        f->ad->params[i] += (float)(0.2 * tiny_uniform(&rng));
}

static void teardown(fixture *f)
{
    wf_tf_adapter_free(f->ad);
    wf_tf_free(f->m);
    tiny_free(&f->tm);
}

static double loss_at(const fixture *f, float *scratch, uint64_t seed)
{
    double loss;
    wf_error err;
    memset(scratch, 0, f->ad->n_params * sizeof(float));
    assert_int_equal(wf_tf_grad(f->m, f->ad, &BATCH, seed, 1.0f, scratch, &loss, &err), 0);
    return loss;
}

/* Central differences over every parameter; returns ||fd - g|| / ||g||. */
static double fd_error(fixture *f, uint64_t seed)
{
    size_t n = f->ad->n_params;
    float *g = calloc(n, sizeof *g), *scratch = malloc(n * sizeof *scratch);
    double loss;
    wf_error err;
    assert_int_equal(wf_tf_grad(f->m, f->ad, &BATCH, seed, 1.0f, g, &loss, &err), 0);
    double diff = 0, norm = 0;
    const float eps = 1e-2f;
    for (size_t i = 0; i < n; i++) {
        float keep = f->ad->params[i];
        f->ad->params[i] = keep + eps;
        double up = loss_at(f, scratch, seed);
        f->ad->params[i] = keep - eps;
        double down = loss_at(f, scratch, seed);
        f->ad->params[i] = keep;
        double fd = (up - down) / (2.0 * eps);
        diff += (fd - g[i]) * (fd - g[i]);
        norm += (double)g[i] * g[i];
    }
    free(g), free(scratch);
    assert_true(norm > 1e-8);
    return sqrt(diff / norm);
}

static void check_fd(const tiny_spec *spec, wf_head_kind head, double dropout)
{
    fixture f;
    setup(&f, spec, head, dropout);
    double rel = fd_error(&f, 1234);
    print_message("%s head=%s dropout=%.1f: %zu params, relative error %.2e\n", spec->arch,
                  wf_head_name(head), dropout, f.ad->n_params, rel);
    assert_true(rel < 1e-3);
    teardown(&f);
}

static void test_fd_qwen3_coral(void **state)
{
    (void)state;
    check_fd(&QWEN3, WF_HEAD_CORAL, 0.0);
}

static void test_fd_qwen3_independent_dropout(void **state)
{
    (void)state;
    check_fd(&QWEN3, WF_HEAD_INDEPENDENT, 0.3);
}

static void test_fd_qwen2_biases(void **state)
{
    (void)state;
    check_fd(&QWEN2, WF_HEAD_INDEPENDENT, 0.0);
}

static void test_fd_llama_gqa(void **state)
{
    (void)state;
    check_fd(&LLAMA, WF_HEAD_CORAL, 0.2);
}

/* Without dropout the training loss is the scoring path's loss exactly, and
 * scale and accumulation act linearly on the gradient. */
static void test_loss_matches_scoring_and_scales(void **state)
{
    (void)state;
    fixture f;
    setup(&f, &QWEN3, WF_HEAD_CORAL, 0.0);
    float z[9], dz[3];
    wf_error err;
    assert_int_equal(wf_tf_forward_adapted(f.m, f.ad, IDS, LENS, 3, z, &err), 0);
    double want = 0;
    for (int s = 0; s < 3; s++)
        want += wf_tf_ordinal_loss(z + 3 * s, LABELS[s], dz);
    size_t n = f.ad->n_params;
    float *g1 = calloc(n, sizeof *g1), *g2 = calloc(n, sizeof *g2);
    double loss;
    assert_int_equal(wf_tf_grad(f.m, f.ad, &BATCH, 1, 1.0f, g1, &loss, &err), 0);
    assert_float_equal(loss, want, 1e-6);
    assert_int_equal(wf_tf_grad(f.m, f.ad, &BATCH, 1, 0.25f, g2, &loss, &err), 0);
    assert_int_equal(wf_tf_grad(f.m, f.ad, &BATCH, 1, 0.75f, g2, &loss, &err), 0);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(g2[i], g1[i], 1e-6 + 1e-5 * fabsf(g1[i]));
    /* a batch's gradient is the sum of its sequences' gradients */
    memset(g2, 0, n * sizeof *g2);
    for (size_t s = 0; s < 3; s++) {
        wf_tf_batch one = {IDS + s, LENS + s, LABELS + s, 1};
        assert_int_equal(wf_tf_grad(f.m, f.ad, &one, 1, 1.0f, g2, &loss, &err), 0);
    }
    for (size_t i = 0; i < n; i++)
        assert_float_equal(g2[i], g1[i], 1e-6 + 1e-4 * fabsf(g1[i]));
    free(g1), free(g2);
    teardown(&f);
}

static void test_ordinal_loss_values(void **state)
{
    (void)state;
    float z[3] = {0.0f, 2.0f, -1.0f}, dz[3];
    /* label 3: targets 1, 1, 0 */
    double want = (log(2.0) + log1p(exp(-2.0)) + log1p(exp(-1.0))) / 3.0;
    assert_float_equal(wf_tf_ordinal_loss(z, 3, dz), want, 1e-12);
    assert_float_equal(dz[0], (0.5 - 1.0) / 3.0, 1e-7);
    assert_float_equal(dz[1], (1.0 / (1.0 + exp(-2.0)) - 1.0) / 3.0, 1e-7);
    assert_float_equal(dz[2], (1.0 / (1.0 + exp(1.0))) / 3.0, 1e-7);
    float big[3] = {500.0f, -500.0f, 0.0f}; /* no overflow at extreme logits */
    double l = wf_tf_ordinal_loss(big, 1, dz);
    assert_float_equal(l, (500.0 + log(2.0)) / 3.0, 1e-9);
}

static void test_bad_labels_and_shapes(void **state)
{
    (void)state;
    fixture f;
    setup(&f, &QWEN3, WF_HEAD_CORAL, 0.0);
    int bad[] = {1, 5, 2};
    wf_tf_batch b = {IDS, LENS, bad, 3};
    float *g = calloc(f.ad->n_params, sizeof *g);
    double loss;
    wf_error err;
    assert_int_equal(wf_tf_grad(f.m, f.ad, &b, 1, 1.0f, g, &loss, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "label 5"));
    size_t long_len[] = {5, 1, 5000};
    wf_tf_batch too_long = {IDS, long_len, LABELS, 3};
    assert_int_equal(wf_tf_grad(f.m, f.ad, &too_long, 1, 1.0f, g, &loss, &err), WF_EINVAL);
    for (size_t i = 0; i < f.ad->n_params; i++)
        assert_true(g[i] == 0.0f);
    free(g);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_qwen3_coral),
        cmocka_unit_test(test_fd_qwen3_independent_dropout),
        cmocka_unit_test(test_fd_qwen2_biases),
        cmocka_unit_test(test_fd_llama_gqa),
        cmocka_unit_test(test_loss_matches_scoring_and_scales),
        cmocka_unit_test(test_ordinal_loss_values),
        cmocka_unit_test(test_bad_labels_and_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
