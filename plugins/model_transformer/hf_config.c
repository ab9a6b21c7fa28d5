/* config.json of the Qwen3 / Qwen2 / Llama families. Every value is checked
 * against bounds far above real checkpoints, so later size arithmetic cannot
 * overflow; an error names the key. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/transformer.h"

#define MAX_DIM (1 << 16)
#define MAX_LAYERS 1024
#define MAX_VOCAB (1 << 22)
#define MAX_LABELS 4096

typedef struct arch_name {
    const char *name;
    wf_tf_arch arch;
    int seq_cls;
} arch_name;

static const arch_name ARCHS[] = {
    {"Qwen3ForCausalLM", WF_TF_QWEN3, 0}, {"Qwen3ForSequenceClassification", WF_TF_QWEN3, 1},
    {"Qwen2ForCausalLM", WF_TF_QWEN2, 0}, {"Qwen2ForSequenceClassification", WF_TF_QWEN2, 1},
    {"LlamaForCausalLM", WF_TF_LLAMA, 0}, {"LlamaForSequenceClassification", WF_TF_LLAMA, 1},
};

/* An integer key in [lo, hi]; def when absent (def < lo: required). */
static int get_int(const json_t *root, const char *key, long lo, long hi, long def, int *out,
                   const char *what, wf_error *err)
{
    const json_t *v = json_object_get(root, key);
    if (!v) {
        if (def < lo)
            return wf_error_set(err, WF_EINVAL, "%s: missing \"%s\"", what, key);
        *out = (int)def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return wf_error_set(err, WF_EINVAL, "%s: \"%s\" must be an integer in [%ld, %ld]", what,
                            key, lo, hi);
    *out = (int)json_integer_value(v);
    return 0;
}

/* A number in (lo, hi]; def when absent (NAN: required). */
static int get_num(const json_t *root, const char *key, double lo, double hi, double def,
                   double *out, const char *what, wf_error *err)
{
    const json_t *v = json_object_get(root, key);
    if (!v) {
        if (isnan(def))
            return wf_error_set(err, WF_EINVAL, "%s: missing \"%s\"", what, key);
        *out = def;
        return 0;
    }
    double x = json_is_number(v) ? json_number_value(v) : NAN;
    if (!(x > lo && x <= hi))
        return wf_error_set(err, WF_EINVAL, "%s: \"%s\" must be a number in (%g, %g]", what, key,
                            lo, hi);
    *out = x;
    return 0;
}

static int get_bool(const json_t *root, const char *key, int def, int *out, const char *what,
                    wf_error *err)
{
    const json_t *v = json_object_get(root, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v))
        return wf_error_set(err, WF_EINVAL, "%s: \"%s\" must be true or false", what, key);
    *out = json_is_true(v);
    return 0;
}

static int parse_arch(const json_t *root, wf_tf_config *c, const char *what, wf_error *err)
{
    const json_t *a = json_object_get(root, "architectures");
    const json_t *first = json_is_array(a) ? json_array_get(a, 0) : NULL;
    if (!json_is_string(first))
        return wf_error_set(err, WF_EINVAL,
                            "%s: \"architectures\" must be a non-empty array of "
                            "strings",
                            what);
    const char *name = json_string_value(first);
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++) {
        if (strcmp(name, ARCHS[i].name) == 0) {
            c->arch = ARCHS[i].arch;
            c->seq_cls = ARCHS[i].seq_cls;
            return 0;
        }
    }
    return wf_error_set(err, WF_EINVAL, "%s: \"architectures\": unsupported \"%.64s\"", what, name);
}

static int parse_dims(const json_t *root, wf_tf_config *c, const char *what, wf_error *err)
{
    int rc;
    if ((rc = get_int(root, "hidden_size", 1, MAX_DIM, -1, &c->hidden, what, err)) ||
        (rc = get_int(root, "num_hidden_layers", 1, MAX_LAYERS, -1, &c->layers, what, err)) ||
        (rc = get_int(root, "num_attention_heads", 1, 1024, -1, &c->heads, what, err)) ||
        (rc = get_int(root, "num_key_value_heads", 1, 1024, c->heads, &c->kv_heads, what, err)) ||
        (rc =
             get_int(root, "intermediate_size", 1, 4 * MAX_DIM, -1, &c->intermediate, what, err)) ||
        (rc = get_int(root, "vocab_size", 1, MAX_VOCAB, -1, &c->vocab, what, err)))
        return rc;
    if (c->heads % c->kv_heads != 0)
        return wf_error_set(err, WF_EINVAL,
                            "%s: \"num_key_value_heads\" (%d) must divide "
                            "\"num_attention_heads\" (%d)",
                            what, c->kv_heads, c->heads);
    const json_t *hd = json_object_get(root, "head_dim");
    if (!hd || json_is_null(hd)) {
        if (c->hidden % c->heads != 0)
            return wf_error_set(err, WF_EINVAL,
                                "%s: \"num_attention_heads\" must divide \"hidden_size\" when "
                                "\"head_dim\" is absent",
                                what);
        c->head_dim = c->hidden / c->heads;
    } else if ((rc = get_int(root, "head_dim", 2, 1024, -1, &c->head_dim, what, err))) {
        return rc;
    }
    if (c->head_dim % 2 != 0)
        return wf_error_set(err, WF_EINVAL, "%s: \"head_dim\" (%d) must be even for RoPE", what,
                            c->head_dim);
    if ((long)c->heads * c->head_dim > 4L * MAX_DIM)
        return wf_error_set(err, WF_EINVAL, "%s: \"head_dim\" times heads is too large", what);
    return 0;
}

/* The scaling block: "rope_scaling" (transformers 4), or "rope_parameters"
 * (transformers 5, which moves rope_theta into it too). */
static int parse_rope_scaling(const json_t *s, const char *name, wf_tf_rope *r, const char *what,
                              wf_error *err)
{
    if (!s || json_is_null(s))
        return 0;
    if (!json_is_object(s))
        return wf_error_set(err, WF_EINVAL, "%s: \"%s\" must be an object or null", what, name);
    const json_t *t = json_object_get(s, "rope_type");
    if (!t)
        t = json_object_get(s, "type");
    const char *type = json_string_value(t);
    if (!type)
        return wf_error_set(err, WF_EINVAL, "%s: \"%s.rope_type\" must be a string", what, name);
    if (strcmp(type, "default") == 0)
        return 0;
    char key[320];
    snprintf(key, sizeof key, "%.256s: %s", what, name);
    int rc = get_num(s, "factor", 0.0, 1e6, NAN, &r->factor, key, err);
    if (strcmp(type, "linear") == 0) {
        r->kind = WF_TF_ROPE_LINEAR;
        return rc;
    }
    if (strcmp(type, "llama3") != 0)
        return wf_error_set(err, WF_EINVAL,
                            "%s: \"%s.rope_type\" \"%.32s\" is unsupported (default, linear, "
                            "llama3)",
                            what, name, type);
    r->kind = WF_TF_ROPE_LLAMA3;
    if (rc || (rc = get_num(s, "low_freq_factor", 0.0, 1e6, NAN, &r->low_freq_factor, key, err)) ||
        (rc = get_num(s, "high_freq_factor", 0.0, 1e6, NAN, &r->high_freq_factor, key, err)) ||
        (rc = get_num(s, "original_max_position_embeddings", 0.0, 1e9, NAN,
                      &r->original_max_position_embeddings, key, err)))
        return rc;
    if (r->high_freq_factor <= r->low_freq_factor)
        return wf_error_set(err, WF_EINVAL,
                            "%s: \"%s.high_freq_factor\" must exceed low_freq_factor", what, name);
    return 0;
}

static int parse_rope(const json_t *root, wf_tf_rope *r, const char *what, wf_error *err)
{
    int rc = get_num(root, "rope_theta", 0.0, 1e12, 10000.0, &r->theta, what, err);
    const json_t *params = json_object_get(root, "rope_parameters");
    if (rc || !params || json_is_null(params))
        return rc ? rc
                  : parse_rope_scaling(json_object_get(root, "rope_scaling"), "rope_scaling", r,
                                       what, err);
    char key[320];
    snprintf(key, sizeof key, "%.256s: rope_parameters", what);
    if (json_is_object(params) &&
        (rc = get_num(params, "rope_theta", 0.0, 1e12, r->theta, &r->theta, key, err)))
        return rc;
    return parse_rope_scaling(params, "rope_parameters", r, what, err);
}

static int parse_labels(const json_t *root, wf_tf_config *c, const char *what, wf_error *err)
{
    /* HF writes id2label and leaves num_labels implicit. */
    const json_t *m = json_object_get(root, "id2label");
    if (m && !json_is_object(m))
        return wf_error_set(err, WF_EINVAL, "%s: \"id2label\" must be an object", what);
    int rc = get_int(root, "num_labels", 1, MAX_LABELS, 2, &c->num_labels, what, err);
    if (rc)
        return rc;
    if (m) {
        if (json_object_size(m) < 1 || json_object_size(m) > MAX_LABELS)
            return wf_error_set(err, WF_EINVAL, "%s: \"id2label\" must hold 1..%d labels", what,
                                MAX_LABELS);
        c->num_labels = (int)json_object_size(m);
    }
    const json_t *p = json_object_get(root, "pad_token_id");
    if (!p || json_is_null(p)) {
        c->pad_token_id = -1;
        return 0;
    }
    return get_int(root, "pad_token_id", 0, c->vocab - 1, -1, &c->pad_token_id, what, err);
}

static int parse_unsupported(const json_t *root, const char *what, wf_error *err)
{
    const json_t *act = json_object_get(root, "hidden_act");
    if (act && (!json_is_string(act) || strcmp(json_string_value(act), "silu") != 0))
        return wf_error_set(err, WF_EINVAL, "%s: \"hidden_act\" must be \"silu\"", what);
    static const char *const off[] = {"attention_bias", "mlp_bias"};
    for (size_t i = 0; i < 2; i++) {
        int on = 0, rc = get_bool(root, off[i], 0, &on, what, err);
        if (rc)
            return rc;
        if (on)
            return wf_error_set(err, WF_EINVAL, "%s: \"%s\": true is unsupported", what, off[i]);
    }
    return 0;
}

static int parse_root(const json_t *root, wf_tf_config *c, const char *what, wf_error *err)
{
    int rc;
    if (!json_is_object(root))
        return wf_error_set(err, WF_EPARSE, "%s: not a JSON object", what);
    if ((rc = parse_arch(root, c, what, err)) || (rc = parse_dims(root, c, what, err)) ||
        (rc = get_num(root, "rms_norm_eps", 0.0, 1.0, 1e-6, &c->rms_eps, what, err)) ||
        (rc = parse_rope(root, &c->rope, what, err)) ||
        (rc = get_bool(root, "tie_word_embeddings", 0, &c->tie_word_embeddings, what, err)) ||
        (rc = parse_labels(root, c, what, err)) || (rc = parse_unsupported(root, what, err)))
        return rc;
    c->qk_norm = c->arch == WF_TF_QWEN3;
    c->qkv_bias = c->arch == WF_TF_QWEN2;
    return 0;
}

int wf_tf_config_parse(const char *json, size_t len, const char *what, wf_tf_config *out,
                       wf_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return wf_error_set(err, WF_EPARSE, "%s: line %d: %s", what, jerr.line, jerr.text);
    wf_tf_config c;
    memset(&c, 0, sizeof c);
    int rc = parse_root(root, &c, what, err);
    json_decref(root);
    if (rc == 0)
        *out = c;
    return rc;
}

int wf_tf_config_load(const char *path, wf_tf_config *out, wf_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return wf_error_set(err, WF_EIO, "%s: cannot open", path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (n == cap) {
            char *nb = cap < (16u << 20) ? realloc(buf, cap ? 2 * cap : 4096) : NULL;
            if (!nb) {
                rc = wf_error_set(err, cap ? WF_EINVAL : WF_ENOMEM, "%s: too large", path);
                break;
            }
            buf = nb;
            cap = cap ? 2 * cap : 4096;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = wf_error_set(err, WF_EIO, "%s: read error", path);
    fclose(f);
    if (rc == 0)
        rc = wf_tf_config_parse(buf, n, path, out, err);
    free(buf);
    return rc;
}
