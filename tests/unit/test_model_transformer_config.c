/* config.json values and defaults for the supported families, and the
 * truncation rule. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model_transformer/tf_internal.h"
#include "model_transformer/transformer.h"
#include "testutil.h"

/* The published Qwen3-0.6B configuration's keys that matter here. */
static const char QWEN3[] =
    "{\"architectures\":[\"Qwen3ForCausalLM\"],\"attention_bias\":false,\"attention_dropout\":0.0,"
    "\"bos_token_id\":151643,\"eos_token_id\":151645,\"head_dim\":128,\"hidden_act\":\"silu\","
    "\"hidden_size\":1024,\"initializer_range\":0.02,\"intermediate_size\":3072,"
    "\"max_position_embeddings\":40960,\"max_window_layers\":28,\"model_type\":\"qwen3\","
    "\"num_attention_heads\":16,\"num_hidden_layers\":28,\"num_key_value_heads\":8,"
    "\"rms_norm_eps\":1e-06,\"rope_scaling\":null,\"rope_theta\":1000000,"
    "\"sliding_window\":null,\"tie_word_embeddings\":true,\"torch_dtype\":\"bfloat16\","
    "\"use_cache\":true,\"use_sliding_window\":false,\"vocab_size\":151936}";

static const char LLAMA31[] =
    "{\"architectures\":[\"LlamaForSequenceClassification\"],\"hidden_size\":4096,"
    "\"num_hidden_layers\":32,\"num_attention_heads\":32,\"num_key_value_heads\":8,"
    "\"intermediate_size\":14336,\"vocab_size\":128256,\"rms_norm_eps\":1e-05,"
    "\"rope_theta\":500000.0,\"pad_token_id\":128009,\"id2label\":{\"0\":\"a\",\"1\":\"b\","
    "\"2\":\"c\"},\"rope_scaling\":{\"factor\":8.0,\"low_freq_factor\":1.0,"
    "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192,"
    "\"rope_type\":\"llama3\"}}";

/* transformers 5 moves rope_theta and the scaling into "rope_parameters". */
static void test_rope_parameters(void **state)
{
    (void)state;
    static const char v5[] =
        "{\"architectures\":[\"Qwen3ForSequenceClassification\"],\"hidden_size\":64,"
        "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"head_dim\":16,"
        "\"intermediate_size\":128,\"vocab_size\":1000,"
        "\"rope_parameters\":{\"rope_type\":\"default\",\"rope_theta\":1000000.0}}";
    wf_tf_config c;
    wf_error err;
    assert_int_equal(wf_tf_config_parse(v5, strlen(v5), "v5", &c, &err), 0);
    assert_true(c.rope.theta == 1e6);
    assert_int_equal(c.rope.kind, WF_TF_ROPE_DEFAULT);
    static const char scaled[] =
        "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,"
        "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"intermediate_size\":128,"
        "\"vocab_size\":1000,\"rope_theta\":10000,\"rope_parameters\":{\"rope_type\":"
        "\"linear\",\"factor\":4.0,\"rope_theta\":500000.0}}";
    assert_int_equal(wf_tf_config_parse(scaled, strlen(scaled), "s", &c, &err), 0);
    assert_true(c.rope.theta == 5e5);
    assert_int_equal(c.rope.kind, WF_TF_ROPE_LINEAR);
    assert_true(c.rope.factor == 4.0);
    static const char bad[] =
        "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,"
        "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"intermediate_size\":128,"
        "\"vocab_size\":1000,\"rope_parameters\":{\"rope_type\":\"yarn\",\"factor\":4}}";
    assert_int_equal(wf_tf_config_parse(bad, strlen(bad), "b", &c, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "rope_parameters.rope_type"));
    assert_non_null(strstr(err.msg, "yarn"));
}

static void test_qwen3_config(void **state)
{
    (void)state;
    wf_tf_config c;
    wf_error err;
    assert_int_equal(wf_tf_config_parse(QWEN3, strlen(QWEN3), "q", &c, &err), 0);
    assert_int_equal(c.arch, WF_TF_QWEN3);
    assert_int_equal(c.seq_cls, 0);
    assert_int_equal(c.hidden, 1024);
    assert_int_equal(c.layers, 28);
    assert_int_equal(c.heads, 16);
    assert_int_equal(c.kv_heads, 8);
    assert_int_equal(c.head_dim, 128); /* not hidden / heads = 64 */
    assert_int_equal(c.intermediate, 3072);
    assert_int_equal(c.vocab, 151936);
    assert_true(c.rms_eps == 1e-6);
    assert_true(c.rope.theta == 1e6);
    assert_int_equal(c.rope.kind, WF_TF_ROPE_DEFAULT);
    assert_int_equal(c.tie_word_embeddings, 1);
    assert_int_equal(c.num_labels, 2);
    assert_int_equal(c.pad_token_id, -1);
    assert_int_equal(c.qk_norm, 1);
    assert_int_equal(c.qkv_bias, 0);
}

static void test_llama31_config(void **state)
{
    (void)state;
    wf_tf_config c;
    wf_error err;
    assert_int_equal(wf_tf_config_parse(LLAMA31, strlen(LLAMA31), "l", &c, &err), 0);
    assert_int_equal(c.arch, WF_TF_LLAMA);
    assert_int_equal(c.seq_cls, 1);
    assert_int_equal(c.head_dim, 128); /* hidden / heads */
    assert_int_equal(c.num_labels, 3);
    assert_int_equal(c.pad_token_id, 128009);
    assert_int_equal(c.tie_word_embeddings, 0);
    assert_int_equal(c.qk_norm, 0);
    assert_int_equal(c.qkv_bias, 0);
    assert_int_equal(c.rope.kind, WF_TF_ROPE_LLAMA3);
    assert_true(c.rope.factor == 8.0 && c.rope.low_freq_factor == 1.0 &&
                c.rope.high_freq_factor == 4.0 &&
                c.rope.original_max_position_embeddings == 8192.0);
    /* Llama 3.1's frequencies: the fastest kept, the slowest divided by 8,
     * the band between interpolated. */
    float f[64];
    wf_tf_rope_freqs(&c, f);
    assert_float_equal(f[0], 1.0f, 0);
    assert_float_equal(f[63], (float)(pow(500000.0, -126.0 / 128) / 8), 1e-12);
    double raw = pow(500000.0, -2.0 * 32 / 128), wl = 2 * M_PI / raw;
    double sm = (8192.0 / wl - 1.0) / 3.0;
    assert_true(wl > 8192.0 / 4 && wl < 8192.0);
    assert_float_equal(f[32], (float)((1 - sm) * raw / 8 + sm * raw), 1e-9);
}

static void test_qwen2_defaults(void **state)
{
    (void)state;
    const char j[] = "{\"architectures\":[\"Qwen2ForSequenceClassification\"],\"hidden_size\":"
                     "896,\"num_hidden_layers\":24,\"num_attention_heads\":14,"
                     "\"intermediate_size\":4864,\"vocab_size\":151936,\"num_labels\":3,"
                     "\"rope_scaling\":{\"type\":\"linear\",\"factor\":4.0}}";
    wf_tf_config c;
    wf_error err;
    assert_int_equal(wf_tf_config_parse(j, strlen(j), "q2", &c, &err), 0);
    assert_int_equal(c.arch, WF_TF_QWEN2);
    assert_int_equal(c.kv_heads, 14); /* defaults to the attention heads */
    assert_int_equal(c.head_dim, 64);
    assert_int_equal(c.num_labels, 3);
    assert_true(c.rms_eps == 1e-6 && c.rope.theta == 10000.0);
    assert_int_equal(c.rope.kind, WF_TF_ROPE_LINEAR);
    assert_true(c.rope.factor == 4.0);
    assert_int_equal(c.qkv_bias, 1);
    float f[32];
    wf_tf_rope_freqs(&c, f);
    assert_float_equal(f[1], (float)(pow(10000.0, -2.0 / 64) / 4), 1e-12);
}

typedef struct trunc_case {
    size_t hist, query, resp, max, hist_from, query_from, total;
} trunc_case;

static void test_truncation(void **state)
{
    (void)state;
    static const trunc_case cases[] = {
        {10, 5, 5, 100, 0, 0, 20}, /* fits */
        {10, 5, 5, 20, 0, 0, 20},  /* exactly */
        {10, 5, 5, 19, 1, 0, 19},  /* oldest history token first */
        {10, 5, 5, 10, 10, 0, 10}, /* all history, query intact */
        {10, 5, 5, 8, 10, 2, 8},   /* then the query's start */
        {10, 5, 5, 5, 10, 5, 5},   /* response alone */
        {0, 0, 7, 7, 0, 0, 7},     /* nothing else */
        {3000, 200, 1000, 4096, 104, 0, 4096},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const trunc_case *c = &cases[i];
        wf_tf_keep k;
        wf_error err;
        assert_int_equal(wf_tf_truncate(c->hist, c->query, c->resp, c->max, &k, &err), 0);
        if (k.history_from != c->hist_from || k.query_from != c->query_from || k.total != c->total)
            fail_msg("case %zu: %zu %zu %zu", i, k.history_from, k.query_from, k.total);
    }
    wf_tf_keep k;
    wf_error err;
    assert_int_equal(wf_tf_truncate(0, 0, 8, 7, &k, &err), WF_EINVAL);
    assert_string_equal(err.msg, "response of 8 tokens exceeds the maximum length 7");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen3_config),   cmocka_unit_test(test_rope_parameters),
        cmocka_unit_test(test_llama31_config), cmocka_unit_test(test_qwen2_defaults),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
