/* Adapters in PEFT's format: a bit-exact round trip, the exact config and
 * tensor names PEFT uses, and every kind of damaged directory refused with
 * WF_EPARSE / WF_ECORRUPT rather than loaded or crashed on. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_transformer/peft.h"
#include "test_model_transformer_tiny.h"
#include "testutil.h"

#define BITS(p) (1u << (p))
#define QVD (BITS(WF_TF_Q) | BITS(WF_TF_V) | BITS(WF_TF_DOWN))
#define MAX_T 64

/* hidden 16, 2 layers, 4 heads of 4 (2 KV heads), intermediate 24. */
static const tiny_spec SPEC = {"Qwen3ForCausalLM", 16, 2, 4, 2, 4, 24, 32, 0, 1, 0, NULL, 8};

static wf_tf_model *base_model(void)
{
    tiny_model tm;
    tiny_build(&SPEC, &tm);
    const char *dir = wf_test_tmpdir();
    assert_int_equal(tiny_write(&tm, dir), 0);
    tiny_free(&tm);
    wf_tf_model *m = NULL;
    wf_tf_load_opts lo = {.head_seed = 4};
    assert_int_equal(wf_tf_load_dir(dir, &lo, &m, NULL), 0);
    return m;
}

/* An adapter whose every value is distinct and non-zero (B included). */
static wf_tf_adapter *adapter(const wf_tf_model *m, int rank, double alpha, double dropout,
                              unsigned targets, wf_head_kind head)
{
    wf_tf_lora_opts lo = {.rank = rank, .alpha = alpha, .dropout = dropout, .targets = targets};
    wf_tf_adapter *ad = NULL;
    assert_int_equal(wf_tf_adapter_new(m, &lo, head, 1, &ad, NULL), 0);
    uint64_t rng = 12;
    for (size_t i = 0; i < ad->n_params; i++)
        ad->params[i] = (float)tiny_uniform(&rng);
    return ad;
}

static char *path_in(const char *dir, const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void round_trip(const wf_tf_model *m, wf_tf_adapter *ad)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/adapter", wf_test_tmpdir()); /* created by save */
    wf_error err;
    assert_int_equal(wf_tf_adapter_save(ad, wf_tf_model_config(m), "Qwen/Qwen3-0.6B", dir, &err),
                     0);
    wf_tf_adapter *back = NULL;
    assert_int_equal(wf_tf_adapter_load(m, dir, &back, &err), 0);
    assert_int_equal(back->n_params, ad->n_params);
    assert_memory_equal(back->params, ad->params, ad->n_params * sizeof(float));
    assert_int_equal(back->lora.rank, ad->lora.rank);
    assert_true(back->lora.alpha == ad->lora.alpha && back->lora.dropout == ad->lora.dropout);
    assert_int_equal(back->lora.targets, ad->lora.targets);
    assert_int_equal(back->head, ad->head);
    wf_tf_adapter_free(back);
}

static void test_round_trip(void **state)
{
    (void)state;
    wf_tf_model *m = base_model();
    wf_tf_adapter *ad = adapter(m, 3, 6.5, 0.05, QVD, WF_HEAD_CORAL);
    round_trip(m, ad);
    wf_tf_adapter_free(ad);
    ad = adapter(m, 2, 16, 0.1 + 0.2, 0x7f, WF_HEAD_INDEPENDENT); /* 0.30000000000000004 */
    round_trip(m, ad);
    wf_tf_adapter_free(ad);
    ad = adapter(m, 1, 1, 0, 0, WF_HEAD_CORAL); /* head only */
    round_trip(m, ad);
    wf_tf_adapter_free(ad);
    wf_tf_free(m);
}

static const char *saved(const wf_tf_model *m, const wf_tf_adapter *ad)
{
    const char *dir = wf_test_tmpdir();
    assert_int_equal(wf_tf_adapter_save(ad, wf_tf_model_config(m), "base/x", dir, NULL), 0);
    return dir;
}

static void test_config_fields(void **state)
{
    (void)state;
    wf_tf_model *m = base_model();
    wf_tf_adapter *ad = adapter(m, 3, 6.5, 0.05, QVD, WF_HEAD_CORAL);
    const char *dir = saved(m, ad);
    size_t n;
    char *text = wf_test_read_file(path_in(dir, WF_TF_PEFT_CONFIG), &n);
    assert_non_null(strstr(text, "\"lora_dropout\": 0.05")); /* shortest digits */
    json_t *c = json_loadb(text, n, 0, NULL);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "peft_type")), "LORA");
    assert_string_equal(json_string_value(json_object_get(c, "task_type")), "SEQ_CLS");
    assert_int_equal(json_integer_value(json_object_get(c, "r")), 3);
    assert_true(json_real_value(json_object_get(c, "lora_alpha")) == 6.5);
    assert_true(json_real_value(json_object_get(c, "lora_dropout")) == 0.05);
    json_t *t = json_object_get(c, "target_modules");
    assert_int_equal(json_array_size(t), 3);
    assert_string_equal(json_string_value(json_array_get(t, 0)), "q_proj");
    assert_string_equal(json_string_value(json_array_get(t, 1)), "v_proj");
    assert_string_equal(json_string_value(json_array_get(t, 2)), "down_proj");
    assert_string_equal(json_string_value(json_object_get(c, "bias")), "none");
    json_t *save = json_object_get(c, "modules_to_save");
    assert_int_equal(json_array_size(save), 1);
    assert_string_equal(json_string_value(json_array_get(save, 0)), "score");
    assert_true(json_is_false(json_object_get(c, "fan_in_fan_out")));
    assert_true(json_is_true(json_object_get(c, "inference_mode")));
    assert_string_equal(json_string_value(json_object_get(c, "base_model_name_or_path")), "base/x");
    assert_true(json_is_true(json_object_get(c, "init_lora_weights")));
    assert_true(json_is_false(json_object_get(c, "use_rslora")));
    json_decref(c);
    free(text);
    /* An integral alpha is written as an integer, as PEFT does. */
    wf_tf_adapter_free(ad);
    ad = adapter(m, 3, 16, 0.05, QVD, WF_HEAD_CORAL);
    dir = saved(m, ad);
    text = wf_test_read_file(path_in(dir, WF_TF_PEFT_CONFIG), &n);
    assert_non_null(strstr(text, "\"lora_alpha\": 16,"));
    free(text);
    wf_tf_adapter_free(ad);
    wf_tf_free(m);
}

static void expect_tensor(const wf_st_file *f, const char *name, uint64_t d0, uint64_t d1)
{
    const wf_st_tensor *t = wf_st_find(f, name);
    assert_non_null(t);
    assert_int_equal(t->ndim, d1 ? 2 : 1);
    assert_int_equal(t->shape[0], d0);
    if (d1)
        assert_int_equal(t->shape[1], d1);
}

static void test_tensor_names(void **state)
{
    (void)state;
    wf_tf_model *m = base_model();
    wf_tf_adapter *ad = adapter(m, 3, 6.5, 0.05, QVD, WF_HEAD_CORAL);
    const char *dir = saved(m, ad);
    wf_st_file *f = NULL;
    assert_int_equal(wf_st_open(path_in(dir, WF_TF_PEFT_WEIGHTS), &f, NULL), 0);
    assert_int_equal(wf_st_count(f), 2 * 3 * 2 + 2);
    for (int l = 0; l < 2; l++) {
        char name[128];
        snprintf(name, sizeof name,
                 "base_model.model.model.layers.%d.self_attn.q_proj.lora_A.weight", l);
        expect_tensor(f, name, 3, 16);
        snprintf(name, sizeof name,
                 "base_model.model.model.layers.%d.self_attn.q_proj.lora_B.weight", l);
        expect_tensor(f, name, 16, 3);
        snprintf(name, sizeof name,
                 "base_model.model.model.layers.%d.self_attn.v_proj.lora_B.weight", l);
        expect_tensor(f, name, 8, 3);
        snprintf(name, sizeof name, "base_model.model.model.layers.%d.mlp.down_proj.lora_A.weight",
                 l);
        expect_tensor(f, name, 3, 24);
        snprintf(name, sizeof name, "base_model.model.model.layers.%d.mlp.down_proj.lora_B.weight",
                 l);
        expect_tensor(f, name, 16, 3);
    }
    expect_tensor(f, "base_model.model.score.weight", 3, 16);
    expect_tensor(f, "base_model.model.score.bias", 3, 0);
    float w[48];
    wf_st_to_f32(wf_st_find(f, "base_model.model.score.weight"), w);
    for (int k = 0; k < 3; k++) /* a coral head's vector in every row */
        assert_memory_equal(w + 16 * k, ad->head_w, 16 * sizeof(float));
    assert_string_equal(wf_st_meta(f, "wildfeed.head"), "coral");
    assert_string_equal(wf_st_meta(f, "format"), "pt");
    wf_st_close(f);
    wf_tf_adapter_free(ad);
    wf_tf_free(m);
}

/* ---- damaged directories ---- */

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void expect_load(const wf_tf_model *m, const char *dir, int code, const char *in_msg)
{
    wf_tf_adapter *ad = (wf_tf_adapter *)1;
    wf_error err;
    int rc = wf_tf_adapter_load(m, dir, &ad, &err);
    if (rc != code)
        fail_msg("code %d, not %d: %s", rc, code, err.msg);
    assert_null(ad);
    if (in_msg && !strstr(err.msg, in_msg))
        fail_msg("\"%s\" does not mention \"%s\"", err.msg, in_msg);
}

static const char *GOOD = "{\"peft_type\":\"LORA\",\"r\":3,\"lora_alpha\":6.5,"
                          "\"target_modules\":[\"q_proj\",\"v_proj\",\"down_proj\"]%s}";

static void test_bad_configs(void **state)
{
    (void)state;
    wf_tf_model *m = base_model();
    wf_tf_adapter *ad = adapter(m, 3, 6.5, 0.05, QVD, WF_HEAD_CORAL);
    const char *dir = saved(m, ad);
    char *cfg = path_in(dir, WF_TF_PEFT_CONFIG), text[512];
    snprintf(text, sizeof text, GOOD,
             ",\"lora_dropout\":0.05,\"bias\":\"none\",\"use_rslora\":false");
    write_text(cfg, text);
    wf_tf_adapter *back = NULL;
    assert_int_equal(wf_tf_adapter_load(m, dir, &back, NULL), 0); /* the minimal config loads */
    wf_tf_adapter_free(back);
    static const struct {
        const char *text;
        int code;
        const char *msg;
    } cases[] = {
        {"{\"peft_type\":\"LORA\",", WF_EPARSE, "not JSON"},
        {"[1, 2]", WF_ECORRUPT, "not a JSON object"},
        {"{\"peft_type\":\"IA3\",\"r\":3}", WF_ECORRUPT, "peft_type"},
        {"{\"peft_type\":\"LORA\",\"r\":0}", WF_ECORRUPT, "\"r\""},
        {"{\"peft_type\":\"LORA\",\"r\":3,\"target_modules\":[\"q_proj\"]}", WF_ECORRUPT,
         "lora_alpha"},
        {"{\"peft_type\":\"LORA\",\"r\":3,\"r\":3}", WF_EPARSE, "duplicate"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text(cfg, cases[i].text);
        expect_load(m, dir, cases[i].code, cases[i].msg);
    }
    static const char *const extras[][2] = {
        {",\"use_rslora\":true", "use_rslora"},
        {",\"use_dora\":true", "use_dora"},
        {",\"bias\":\"all\"", "bias"},
        {",\"fan_in_fan_out\":true", "fan_in_fan_out"},
        {",\"rank_pattern\":{\"q_proj\":8}", "rank_pattern"},
        {",\"layers_to_transform\":[0]", "layers_to_transform"},
        {",\"lora_dropout\":1.0", "lora_dropout"},
    };
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
        snprintf(text, sizeof text, GOOD, extras[i][0]);
        write_text(cfg, text);
        expect_load(m, dir, WF_ECORRUPT, extras[i][1]);
    }
    /* Unknown module; a rank other than the tensors'. */
    write_text(cfg, "{\"peft_type\":\"LORA\",\"r\":3,\"lora_alpha\":8,"
                    "\"target_modules\":[\"q_proj\",\"lm_head\"]}");
    expect_load(m, dir, WF_ECORRUPT, "target_modules");
    write_text(cfg, "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":8,"
                    "\"target_modules\":[\"q_proj\",\"v_proj\",\"down_proj\"]}");
    expect_load(m, dir, WF_ECORRUPT, "shape");
    /* A larger rank than the file can hold is refused before the adapter is
     * allocated (a corrupt r of 4096 would cost gigabytes on a real base). */
    write_text(cfg, "{\"peft_type\":\"LORA\",\"r\":4096,\"lora_alpha\":8,"
                    "\"target_modules\":[\"q_proj\",\"v_proj\",\"down_proj\"]}");
    expect_load(m, dir, WF_ECORRUPT, "the adapter of adapter_config.json needs");
    /* Fewer targets than the file holds: the rest are unexpected. */
    write_text(cfg, "{\"peft_type\":\"LORA\",\"r\":3,\"lora_alpha\":8,"
                    "\"target_modules\":[\"q_proj\",\"v_proj\"]}");
    expect_load(m, dir, WF_ECORRUPT, "unexpected tensor");
    remove(cfg);
    expect_load(m, dir, WF_ENOTFOUND, WF_TF_PEFT_CONFIG);
    wf_tf_adapter_free(ad);
    wf_tf_free(m);
}

/* The saved weights as an editable list. */
typedef struct tensors {
    wf_st_out t[MAX_T];
    char names[MAX_T][128];
    float *data[MAX_T];
    size_t n;
} tensors;

static void tensors_read(const char *path, tensors *ts)
{
    wf_st_file *f = NULL;
    assert_int_equal(wf_st_open(path, &f, NULL), 0);
    memset(ts, 0, sizeof *ts);
    for (size_t i = 0; i < wf_st_count(f); i++) {
        const wf_st_tensor *t = wf_st_at(f, i);
        ts->data[i] = malloc(t->numel * sizeof(float));
        wf_st_to_f32(t, ts->data[i]);
        snprintf(ts->names[i], 128, "%s", t->name);
        ts->t[i] = (wf_st_out){ts->names[i], t->ndim, {t->shape[0], t->shape[1]}, ts->data[i]};
    }
    ts->n = wf_st_count(f);
    wf_st_close(f);
}

static size_t tensors_find(const tensors *ts, const char *name)
{
    for (size_t i = 0; i < ts->n; i++)
        if (strcmp(ts->names[i], name) == 0)
            return i;
    fail_msg("no tensor %s", name);
    return 0;
}

static void tensors_free(tensors *ts)
{
    for (size_t i = 0; i < MAX_T; i++)
        free(ts->data[i]);
}

static void write_weights(const char *path, const tensors *ts, const char *head)
{
    wf_st_kv meta = {"wildfeed.head", head};
    assert_int_equal(wf_st_write(path, ts->t, ts->n, &meta, head ? 1 : 0, NULL), 0);
}

#define Q0A "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
#define SCORE_W "base_model.model.score.weight"
#define SCORE_B "base_model.model.score.bias"

static void test_bad_weights(void **state)
{
    (void)state;
    wf_tf_model *m = base_model();
    wf_tf_adapter *ad = adapter(m, 3, 6.5, 0.05, QVD, WF_HEAD_CORAL);
    const char *dir = saved(m, ad);
    char path[4096];
    snprintf(path, sizeof path, "%s", path_in(dir, WF_TF_PEFT_WEIGHTS));
    tensors good, ts;
    tensors_read(path, &good);
    /* A missing tensor. */
    ts = good;
    size_t q = tensors_find(&ts, Q0A);
    ts.t[q] = ts.t[--ts.n];
    write_weights(path, &ts, "coral");
    expect_load(m, dir, WF_ECORRUPT, Q0A);
    /* A wrong shape. */
    ts = good;
    ts.t[q].shape[0] = 1;
    write_weights(path, &ts, "coral");
    expect_load(m, dir, WF_ECORRUPT, "shape");
    /* An extra tensor. */
    ts = good;
    ts.t[ts.n] = ts.t[q];
    ts.t[ts.n++].name = "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight";
    write_weights(path, &ts, "coral");
    expect_load(m, dir, WF_ECORRUPT, "k_proj.lora_A");
    /* A NaN (the copies share good's data: each edit is undone). */
    ts = good;
    float keep = ts.data[q][2];
    ts.data[q][2] = NAN;
    write_weights(path, &ts, "coral");
    expect_load(m, dir, WF_ECORRUPT, "not finite");
    ts.data[q][2] = keep;
    /* A coral head whose rows differ; an unknown head kind. */
    size_t s = tensors_find(&ts, SCORE_W);
    keep = ts.data[s][16 + 3];
    ts.data[s][16 + 3] += 1.0f;
    write_weights(path, &ts, "coral");
    expect_load(m, dir, WF_ECORRUPT, "rows");
    ts.data[s][16 + 3] = keep;
    write_weights(path, &ts, "softmax");
    expect_load(m, dir, WF_ECORRUPT, "softmax");
    /* Intact, it loads. */
    write_weights(path, &good, "coral");
    wf_tf_adapter *back = NULL;
    assert_int_equal(wf_tf_adapter_load(m, dir, &back, NULL), 0);
    assert_memory_equal(back->params, ad->params, ad->n_params * sizeof(float));
    wf_tf_adapter_free(back);
    /* A truncated file, then none. */
    size_t n;
    char *bytes = wf_test_read_file(path, &n);
    FILE *fp = fopen(path, "wb");
    fwrite(bytes, 1, n - 7, fp);
    fclose(fp);
    free(bytes);
    expect_load(m, dir, WF_ECORRUPT, NULL);
    remove(path);
    expect_load(m, dir, WF_EIO, WF_TF_PEFT_WEIGHTS);
    tensors_free(&good);
    wf_tf_adapter_free(ad);
    wf_tf_free(m);
}

/* An adapter saved by PEFT itself: no head key (a plain score layer, i.e.
 * independent) and no score.bias (Hugging Face's has none). */
static void test_foreign_adapter(void **state)
{
    (void)state;
    wf_tf_model *m = base_model();
    wf_tf_adapter *ad = adapter(m, 2, 4, 0, BITS(WF_TF_Q), WF_HEAD_INDEPENDENT);
    const char *dir = saved(m, ad);
    char path[4096];
    snprintf(path, sizeof path, "%s", path_in(dir, WF_TF_PEFT_WEIGHTS));
    tensors ts;
    tensors_read(path, &ts);
    size_t b = tensors_find(&ts, SCORE_B);
    ts.t[b] = ts.t[--ts.n];
    write_weights(path, &ts, NULL);
    wf_tf_adapter *back = NULL;
    assert_int_equal(wf_tf_adapter_load(m, dir, &back, NULL), 0);
    assert_int_equal(back->head, WF_HEAD_INDEPENDENT);
    assert_memory_equal(back->params, ad->params, (ad->n_params - 3) * sizeof(float));
    assert_true(back->head_b[0] == 0 && back->head_b[1] == 0 && back->head_b[2] == 0);
    tensors_free(&ts);
    wf_tf_adapter_free(back);
    wf_tf_adapter_free(ad);
    wf_tf_free(m);
}

static void test_save_errors(void **state)
{
    (void)state;
    wf_tf_model *m = base_model();
    wf_tf_adapter *ad = adapter(m, 2, 4, 0, 0x7f, WF_HEAD_CORAL);
    wf_tf_config other = *wf_tf_model_config(m);
    other.layers = 3;
    wf_error err;
    assert_int_equal(wf_tf_adapter_save(ad, &other, "x", wf_test_tmpdir(), &err), WF_EINVAL);
    assert_int_equal(wf_tf_adapter_save(ad, wf_tf_model_config(m), "x", "/nonexistent/a/b", &err),
                     WF_EIO);
    wf_tf_adapter_free(ad);
    /* A rank a load would refuse is refused before anything is written. */
    ad = adapter(m, 4097, 4, 0, 0, WF_HEAD_CORAL);
    const char *dir = wf_test_tmpdir();
    assert_int_equal(wf_tf_adapter_save(ad, wf_tf_model_config(m), "x", dir, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "\"r\""));
    expect_load(m, dir, WF_ENOTFOUND, NULL);
    assert_int_equal(access(path_in(dir, WF_TF_PEFT_WEIGHTS), F_OK), -1);
    wf_tf_adapter_free(ad);
    wf_tf_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_config_fields),
        cmocka_unit_test(test_tensor_names), cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_bad_weights),  cmocka_unit_test(test_foreign_adapter),
        cmocka_unit_test(test_save_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
