/* Corrupt configurations and model directories are errors that name the
 * offending key, tensor or file, never crashes. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_transformer/transformer.h"
#include "test_model_transformer_tiny.h"
#include "testutil.h"

static const char BASE[] =
    "{\"architectures\":[\"Qwen3ForCausalLM\"],\"hidden_size\":32,\"num_hidden_layers\":2,"
    "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"head_dim\":8,"
    "\"intermediate_size\":64,\"vocab_size\":100,\"rms_norm_eps\":1e-6,\"rope_theta\":1e6}";

/* BASE with key set to value (JSON text), or removed when value is NULL;
 * parsed, and the error code returned with its message in err. */
static int parse_with(const char *key, const char *value, wf_error *err)
{
    json_t *root = json_loads(BASE, 0, NULL);
    if (value)
        json_object_set_new(root, key, json_loads(value, JSON_DECODE_ANY, NULL));
    else
        json_object_del(root, key);
    char *text = json_dumps(root, 0);
    wf_tf_config c;
    int rc = wf_tf_config_parse(text, strlen(text), "cfg", &c, err);
    free(text);
    json_decref(root);
    return rc;
}

typedef struct bad_case {
    const char *key, *value, *message;
} bad_case;

static const bad_case BAD[] = {
    {"architectures", NULL, "\"architectures\" must be"},
    {"architectures", "[]", "\"architectures\" must be"},
    {"architectures", "[\"GPT2LMHeadModel\"]", "unsupported \"GPT2LMHeadModel\""},
    {"hidden_size", "-1", "\"hidden_size\" must be an integer"},
    {"hidden_size", "\"32\"", "\"hidden_size\" must be an integer"},
    {"hidden_size", "1e9", "\"hidden_size\" must be an integer"},
    {"num_hidden_layers", NULL, "missing \"num_hidden_layers\""},
    {"num_attention_heads", "0", "\"num_attention_heads\" must be"},
    {"num_key_value_heads", "3", "\"num_key_value_heads\" (3) must divide"},
    {"head_dim", "7", "\"head_dim\" (7) must be even"},
    {"head_dim", "0", "\"head_dim\" must be an integer"},
    {"intermediate_size", "0", "\"intermediate_size\" must be"},
    {"vocab_size", "99999999", "\"vocab_size\" must be"},
    {"rms_norm_eps", "0", "\"rms_norm_eps\" must be a number"},
    {"rms_norm_eps", "null", "\"rms_norm_eps\" must be a number"},
    {"rope_theta", "-5", "\"rope_theta\" must be a number"},
    {"rope_scaling", "[1]", "\"rope_scaling\" must be an object"},
    {"rope_scaling", "{\"rope_type\":\"yarn\",\"factor\":4}", "\"yarn\" is unsupported"},
    {"rope_scaling", "{\"factor\":4}", "\"rope_scaling.rope_type\" must be a string"},
    {"rope_scaling", "{\"type\":\"linear\"}", "rope_scaling: missing \"factor\""},
    {"rope_scaling",
     "{\"rope_type\":\"llama3\",\"factor\":8,\"high_freq_factor\":4,"
     "\"original_max_position_embeddings\":8192}",
     "missing \"low_freq_factor\""},
    {"rope_scaling",
     "{\"rope_type\":\"llama3\",\"factor\":8,\"low_freq_factor\":4,"
     "\"high_freq_factor\":1,\"original_max_position_embeddings\":8192}",
     "high_freq_factor\" must exceed"},
    {"tie_word_embeddings", "\"yes\"", "\"tie_word_embeddings\" must be true or false"},
    {"id2label", "[\"a\"]", "\"id2label\" must be an object"},
    {"id2label", "{}", "\"id2label\" must hold"},
    {"num_labels", "0", "\"num_labels\" must be"},
    {"pad_token_id", "100", "\"pad_token_id\" must be an integer in [0, 99]"},
    {"hidden_act", "\"gelu\"", "\"hidden_act\" must be \"silu\""},
    {"attention_bias", "true", "\"attention_bias\": true is unsupported"},
    {"mlp_bias", "1", "\"mlp_bias\" must be true or false"},
};

static void test_bad_config_values(void **state)
{
    (void)state;
    wf_error err;
    assert_int_equal(parse_with("pad_token_id", "null", &err), 0);
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        int rc = parse_with(BAD[i].key, BAD[i].value, &err);
        if (rc != WF_EINVAL || !strstr(err.msg, BAD[i].message) || strncmp(err.msg, "cfg", 3))
            fail_msg("%s=%s: rc %d, \"%s\"", BAD[i].key, BAD[i].value ? BAD[i].value : "(none)", rc,
                     err.msg);
    }
}

static void test_unparsable_config(void **state)
{
    (void)state;
    wf_tf_config c;
    wf_error err;
    assert_int_equal(wf_tf_config_parse("{", 1, "x.json", &c, &err), WF_EPARSE);
    assert_int_equal(wf_tf_config_parse("[]", 2, "x.json", &c, &err), WF_EPARSE);
    assert_string_equal(err.msg, "x.json: not a JSON object");
    const char dup[] = "{\"hidden_size\":1,\"hidden_size\":2}";
    assert_int_equal(wf_tf_config_parse(dup, strlen(dup), "x.json", &c, &err), WF_EPARSE);
    assert_int_equal(wf_tf_config_load("/nonexistent/config.json", &c, &err), WF_EIO);
}

static const tiny_spec SPEC = {"Qwen3ForCausalLM", 16, 2, 2, 1, 8, 24, 50, 0, 1, 0, NULL, 5};

/* Loads dir and expects code with message inside the error. */
static void expect_load_error(const char *dir, int code, const char *message)
{
    wf_tf_model *m = NULL;
    wf_error err = {0};
    int rc = wf_tf_load_dir(dir, NULL, &m, &err);
    if (rc != code || !strstr(err.msg, message))
        fail_msg("want %d \"%s\", got %d \"%s\"", code, message, rc, err.msg);
    assert_null(m);
}

/* Writes SPEC's model with tensor name dropped, or its two dimensions
 * swapped (same size, wrong shape). */
static const char *write_altered(const char *name, int swap)
{
    tiny_model tm;
    tiny_build(&SPEC, &tm);
    for (size_t i = 0; i < tm.n; i++) {
        if (strcmp(tm.t[i].name, name) != 0)
            continue;
        if (swap) {
            uint64_t d = tm.t[i].shape[0];
            tm.t[i].shape[0] = tm.t[i].shape[1];
            tm.t[i].shape[1] = d;
        } else {
            free((void *)tm.t[i].data);
            tm.t[i] = tm.t[--tm.n];
            if (i != tm.n)
                memcpy(tm.names[i], tm.names[tm.n], sizeof tm.names[i]);
            tm.t[i].name = tm.names[i];
        }
    }
    const char *dir = wf_test_tmpdir();
    assert_int_equal(tiny_write(&tm, dir), 0);
    tiny_free(&tm);
    return dir;
}

static void test_missing_and_misshapen_tensors(void **state)
{
    (void)state;
    expect_load_error(write_altered("model.layers.1.mlp.up_proj.weight", 0), WF_ECORRUPT,
                      "no tensor \"model.layers.1.mlp.up_proj.weight\"");
    expect_load_error(write_altered("model.layers.0.self_attn.k_norm.weight", 0), WF_ECORRUPT,
                      "no tensor \"model.layers.0.self_attn.k_norm.weight\"");
    expect_load_error(write_altered("model.norm.weight", 0), WF_ECORRUPT,
                      "no tensor \"model.norm.weight\"");
    expect_load_error(write_altered("model.layers.0.self_attn.k_proj.weight", 1), WF_ECORRUPT,
                      "\"model.layers.0.self_attn.k_proj.weight\" must have shape [8, 16]");
    expect_load_error(write_altered("model.layers.1.post_attention_layernorm.weight", 1),
                      WF_ECORRUPT, "must have shape [16]");
    /* A Qwen2 config over Qwen3 weights: the biases are missing. */
    const char *dir = write_altered("nothing", 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    tiny_model tm;
    tiny_spec q2 = SPEC;
    q2.arch = "Qwen2ForCausalLM";
    tiny_build(&q2, &tm);
    assert_int_equal(tiny_write_config(&tm, dir), 0);
    tiny_free(&tm);
    expect_load_error(dir, WF_ECORRUPT, "no tensor \"model.layers.0.self_attn.q_proj.bias\"");
}

static void test_truncated_safetensors(void **state)
{
    (void)state;
    const char *dir = write_altered("nothing", 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    size_t n = 0;
    free(wf_test_read_file(path, &n));
    long cuts[] = {(long)n - 1, (long)n / 2, 100, 9, 3, 0};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        assert_int_equal(truncate(path, cuts[i]), 0);
        wf_tf_model *m = NULL;
        wf_error err = {0};
        assert_true(wf_tf_load_dir(dir, NULL, &m, &err) < 0);
        assert_non_null(strstr(err.msg, "model.safetensors"));
        assert_null(m);
    }
    assert_int_equal(unlink(path), 0);
    expect_load_error(dir, WF_EIO, "model.safetensors");
    snprintf(path, sizeof path, "%s/config.json", dir);
    assert_int_equal(unlink(path), 0);
    expect_load_error(dir, WF_EIO, "config.json");
}

static void write_index(const char *dir, const char *body)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    FILE *f = fopen(path, "w");
    fputs(body, f);
    fclose(f);
}

static void test_bad_sharded_index(void **state)
{
    (void)state;
    const char *dir = write_altered("nothing", 0);
    write_index(dir,
                "{\"weight_map\":{\"model.norm.weight\":\"model-00001-of-00002.safetensors\"}}");
    expect_load_error(dir, WF_EIO, "model-00001-of-00002.safetensors");
    write_index(dir, "{\"weight_map\":{\"model.norm.weight\":\"../model.safetensors\"}}");
    expect_load_error(dir, WF_ECORRUPT, "bad file name");
    write_index(dir, "{\"weight_map\":{\"model.norm.weight\":7}}");
    expect_load_error(dir, WF_ECORRUPT, "bad file name");
    write_index(dir, "{\"weight_map\":[]}");
    expect_load_error(dir, WF_ECORRUPT, "\"weight_map\" must be an object");
    write_index(dir, "{\"weight_map\":");
    expect_load_error(dir, WF_ECORRUPT, "model.safetensors.index.json");
    /* The one shard exists but the map lacks every other tensor. */
    write_index(dir, "{\"weight_map\":{\"model.norm.weight\":\"model.safetensors\"}}");
    expect_load_error(dir, WF_ECORRUPT, "no tensor \"model.embed_tokens.weight\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_config_values),
        cmocka_unit_test(test_unparsable_config),
        cmocka_unit_test(test_missing_and_misshapen_tensors),
        cmocka_unit_test(test_truncated_safetensors),
        cmocka_unit_test(test_bad_sharded_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
