/* PEFT's adapter format. Names checked against PEFT's source
 * (src/peft/utils/save_and_load.py, get_peft_model_state_dict, and
 * src/peft/utils/other.py, ModulesToSaveWrapper): a LoRA layer's
 * "<module>.lora_A.default.weight" is saved as "<module>.lora_A.weight"
 * (the adapter name is removed), and a module in modules_to_save,
 * "<module>.modules_to_save.default.weight", as "<module>.weight". Under
 * PeftModel (base_model) -> LoraModel (model) -> *ForSequenceClassification
 * (model: the decoder; score: the head) that gives
 * base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight [r, in],
 * ...lora_B.weight [out, r], and base_model.model.score.weight [labels,
 * hidden]. save_pretrained writes the safetensors metadata
 * {"format": "pt"}, which we write too. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_transformer/peft.h"

#define NAME_CAP 128
#define MAX_RANK 4096
#define MAX_CONFIG_BYTES (1u << 20)
#define SCORE_W "base_model.model.score.weight"
/* Our ordinal biases. Hugging Face's score layer has no bias, so this
 * tensor is ours; PEFT would load it as an unexpected key. */
#define SCORE_B "base_model.model.score.bias"

static void lora_name(int layer, wf_tf_proj p, char ab, char name[NAME_CAP])
{
    snprintf(name, NAME_CAP, "base_model.model.model.layers.%d.%s.%s.lora_%c.weight", layer,
             p <= WF_TF_O ? "self_attn" : "mlp", wf_tf_proj_name(p), ab);
}

static size_t n_targets(unsigned targets)
{
    size_t n = 0;
    for (int p = 0; p < WF_TF_NPROJ; p++)
        n += (targets >> p) & 1u;
    return n;
}

/* ---- adapter_config.json ---- */

static int corrupt(wf_error *err, const char *what, const char *key, const char *why)
{
    return wf_error_set(err, WF_ECORRUPT, "%s: \"%s\" %s", what, key, why);
}

/* A key this implementation does not support unless it is absent, null,
 * false or empty. */
static int refuse_if_set(const json_t *root, const char *key, const char *what, wf_error *err)
{
    const json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v) || json_is_false(v) || (json_is_object(v) && !json_object_size(v)) ||
        (json_is_array(v) && !json_array_size(v)))
        return 0;
    return corrupt(err, what, key, "is set, which is not supported");
}

static int parse_targets(const json_t *root, unsigned *targets, const char *what, wf_error *err)
{
    const json_t *list = json_object_get(root, "target_modules");
    if (!json_is_array(list))
        return corrupt(err, what, "target_modules", "must be a list of module names");
    *targets = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *name = json_string_value(json_array_get(list, i));
        int p = 0;
        while (p < WF_TF_NPROJ && !(name && strcmp(name, wf_tf_proj_name(p)) == 0))
            p++;
        if (p == WF_TF_NPROJ)
            return corrupt(err, what, "target_modules",
                           "names a module other than q_proj, k_proj, v_proj, o_proj, "
                           "gate_proj, up_proj, down_proj");
        *targets |= 1u << p;
    }
    return 0;
}

static int parse_numbers(const json_t *root, wf_tf_lora_opts *o, const char *what, wf_error *err)
{
    const json_t *r = json_object_get(root, "r");
    if (!json_is_integer(r) || json_integer_value(r) < 1 || json_integer_value(r) > MAX_RANK)
        return corrupt(err, what, "r", "must be an integer in [1, 4096]");
    o->rank = (int)json_integer_value(r);
    const json_t *a = json_object_get(root, "lora_alpha");
    o->alpha = json_is_number(a) ? json_number_value(a) : NAN;
    if (!(o->alpha > 0.0) || !isfinite(o->alpha))
        return corrupt(err, what, "lora_alpha", "must be a positive number");
    const json_t *d = json_object_get(root, "lora_dropout");
    o->dropout = !d ? 0.0 : json_is_number(d) ? json_number_value(d) : NAN;
    if (!(o->dropout >= 0.0 && o->dropout < 1.0))
        return corrupt(err, what, "lora_dropout", "must be a number in [0, 1)");
    return 0;
}

static int parse_root(const json_t *root, wf_tf_lora_opts *o, const char *what, wf_error *err)
{
    static const char *const UNSUPPORTED[] = {"use_rslora",          "use_dora",
                                              "fan_in_fan_out",      "lora_bias",
                                              "rank_pattern",        "alpha_pattern",
                                              "layers_to_transform", "megatron_config",
                                              "target_parameters",   "trainable_token_indices"};
    if (!json_is_object(root))
        return wf_error_set(err, WF_ECORRUPT, "%s: not a JSON object", what);
    const char *type = json_string_value(json_object_get(root, "peft_type"));
    if (!type || strcmp(type, "LORA") != 0)
        return corrupt(err, what, "peft_type", "must be \"LORA\"");
    const json_t *bias = json_object_get(root, "bias");
    if (bias && !(json_is_string(bias) && strcmp(json_string_value(bias), "none") == 0))
        return corrupt(err, what, "bias", "must be \"none\"");
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof UNSUPPORTED / sizeof UNSUPPORTED[0]; i++)
        rc = refuse_if_set(root, UNSUPPORTED[i], what, err);
    if (!rc)
        rc = parse_numbers(root, o, what, err);
    return rc ? rc : parse_targets(root, &o->targets, what, err);
}

int wf_tf_peft_config_parse(const char *json, size_t len, const char *what, wf_tf_lora_opts *out,
                            wf_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return wf_error_set(err, WF_EPARSE, "%s: not JSON: %s (line %d)", what, je.text, je.line);
    wf_tf_lora_opts o = {0};
    int rc = parse_root(root, &o, what, err);
    json_decref(root);
    if (!rc)
        *out = o;
    return rc;
}

static json_t *config_json(const wf_tf_lora_opts *o, const char *base_name)
{
    json_t *targets = json_array();
    for (int p = 0; p < WF_TF_NPROJ; p++)
        if (o->targets & (1u << p))
            json_array_append_new(targets, json_string(wf_tf_proj_name(p)));
    json_t *save = json_array();
    json_array_append_new(save, json_string("score"));
    /* PEFT writes lora_alpha as an integer; keep it one when it is. */
    int alpha_int = o->alpha == floor(o->alpha) && o->alpha < 9007199254740992.0;
    return json_pack(
        "{s:s, s:s, s:i, s:o, s:f, s:o, s:s, s:o, s:b, s:b, s:o, s:b, s:b, s:b, s:n, s:{}, s:{}}",
        "peft_type", "LORA", "task_type", "SEQ_CLS", "r", o->rank, "lora_alpha",
        alpha_int ? json_integer((json_int_t)o->alpha) : json_real(o->alpha), "lora_dropout",
        o->dropout, "target_modules", targets, "bias", "none", "modules_to_save", save,
        "fan_in_fan_out", 0, "inference_mode", 1, "base_model_name_or_path",
        base_name ? json_string(base_name) : json_null(), "init_lora_weights", 1, "use_rslora", 0,
        "use_dora", 0, "layers_to_transform", "rank_pattern", "alpha_pattern");
}

/* The config's text with the fewest digits that read back as the same
 * numbers (0.05, not 0.050000000000000003); 17 always do. Reading it back
 * also refuses options a load would refuse. */
static int config_text(const wf_tf_lora_opts *o, const char *base_name, char **out, wf_error *err)
{
    *out = NULL;
    json_t *root = config_json(o, base_name);
    if (!root)
        return wf_error_set(err, WF_EINVAL,
                            "adapter save: cannot encode the config (is the base model name "
                            "UTF-8?)");
    int rc = 0;
    for (int prec = 15; prec <= 17; prec++) {
        free(*out);
        *out = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(prec));
        wf_tf_lora_opts back;
        wf_error why = {0};
        if (!*out) {
            rc = wf_error_set(err, WF_ENOMEM, "out of memory");
            break;
        }
        if (wf_tf_peft_config_parse(*out, strlen(*out), "adapter save", &back, &why) != 0) {
            rc = wf_error_set(err, WF_EINVAL, "%s", why.msg);
            break;
        }
        if (back.alpha == o->alpha && back.dropout == o->dropout)
            break;
    }
    json_decref(root);
    return rc;
}

static int write_atomic(const char *path, const char *data, size_t len, wf_error *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return wf_error_set(err, WF_EIO, "%s: %s", tmp, strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    int failed = done < len || fsync(fd) != 0;
    failed |= close(fd) != 0;
    if (failed || rename(tmp, path) != 0) {
        int rc = wf_error_set(err, WF_EIO, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    return 0;
}

/* ---- adapter_model.safetensors ---- */

typedef struct st_list {
    wf_st_out *t;
    char (*names)[NAME_CAP];
    size_t n;
    float *score; /* owned: the coral head's vector in all three rows */
} st_list;

static void add_out(st_list *l, const char *name, uint64_t d0, uint64_t d1, const float *data)
{
    wf_st_out *t = &l->t[l->n];
    snprintf(l->names[l->n], NAME_CAP, "%s", name);
    t->name = l->names[l->n++];
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->data = data;
}

static int build_list(const wf_tf_adapter *ad, const wf_tf_config *c, st_list *l, wf_error *err)
{
    size_t n = (size_t)ad->layers * n_targets(ad->lora.targets) * 2 + 2, h = (size_t)ad->hidden;
    l->t = calloc(n, sizeof *l->t);
    l->names = calloc(n, sizeof *l->names);
    l->score = ad->head == WF_HEAD_CORAL ? malloc(WF_LOGITS * h * sizeof *l->score) : NULL;
    if (!l->t || !l->names || (ad->head == WF_HEAD_CORAL && !l->score))
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    char name[NAME_CAP];
    for (int i = 0; i < ad->layers; i++) {
        for (int p = 0; p < WF_TF_NPROJ; p++) {
            if (!(ad->lora.targets & (1u << p)))
                continue;
            size_t in, out;
            wf_tf_proj_dims(c, p, &in, &out);
            lora_name(i, p, 'A', name);
            add_out(l, name, (uint64_t)ad->lora.rank, in, ad->proj[i][p].a);
            lora_name(i, p, 'B', name);
            add_out(l, name, out, (uint64_t)ad->lora.rank, ad->proj[i][p].b);
        }
    }
    for (int k = 0; l->score && k < WF_LOGITS; k++)
        memcpy(l->score + k * h, ad->head_w, h * sizeof *l->score);
    add_out(l, SCORE_W, WF_LOGITS, h, l->score ? l->score : ad->head_w);
    add_out(l, SCORE_B, WF_LOGITS, 0, ad->head_b);
    return 0;
}

static int save_weights(const wf_tf_adapter *ad, const wf_tf_config *c, const char *path,
                        wf_error *err)
{
    st_list l = {0};
    int rc = build_list(ad, c, &l, err);
    const wf_st_kv meta[] = {{"format", "pt"}, {WF_TF_PEFT_HEAD_KEY, wf_head_name(ad->head)}};
    if (!rc)
        rc = wf_st_write(path, l.t, l.n, meta, 2, err);
    free(l.t);
    free(l.names);
    free(l.score);
    return rc;
}

int wf_tf_adapter_save(const wf_tf_adapter *ad, const wf_tf_config *c, const char *base_name,
                       const char *dir, wf_error *err)
{
    if (ad->layers != c->layers || ad->hidden != c->hidden)
        return wf_error_set(err, WF_EINVAL,
                            "adapter save: the adapter (%d layers, hidden %d) is not for this "
                            "model (%d layers, hidden %d)",
                            ad->layers, ad->hidden, c->layers, c->hidden);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return wf_error_set(err, WF_EIO, "%s: %s", dir, strerror(errno));
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, WF_TF_PEFT_WEIGHTS) >= (int)sizeof path)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    char *text = NULL;
    int rc = config_text(&ad->lora, base_name, &text, err);
    if (!rc)
        rc = save_weights(ad, c, path, err);
    if (!rc) {
        snprintf(path, sizeof path, "%s/%s", dir, WF_TF_PEFT_CONFIG);
        rc = write_atomic(path, text, strlen(text), err);
    }
    free(text);
    return rc;
}

static int read_head(const wf_st_file *f, wf_tf_adapter *ad, int ours, wf_error *err)
{
    size_t h = (size_t)ad->hidden;
    uint64_t shape[2] = {WF_LOGITS, h};
    float *rows = ad->head == WF_HEAD_CORAL ? malloc(WF_LOGITS * h * sizeof *rows) : ad->head_w;
    if (!rows)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    int rc = wf_st_read_f32(f, SCORE_W, shape, 2, rows, err);
    if (!rc && ad->head == WF_HEAD_CORAL) {
        /* A coral head is one vector; we write it into every row. */
        if (memcmp(rows, rows + h, h * sizeof *rows) ||
            memcmp(rows, rows + 2 * h, h * sizeof *rows))
            rc = wf_error_set(err, WF_ECORRUPT, "%s: the rows of \"%s\" differ in a coral head",
                              wf_st_what(f), SCORE_W);
        memcpy(ad->head_w, rows, h * sizeof *rows);
    }
    if (ad->head == WF_HEAD_CORAL)
        free(rows);
    /* An adapter trained elsewhere (no head key) has Hugging Face's
     * bias-free score: zero biases. */
    if (!rc && (ours || wf_st_find(f, SCORE_B)))
        rc = wf_st_read_f32(f, SCORE_B, shape, 1, ad->head_b, err);
    else if (!rc)
        memset(ad->head_b, 0, WF_LOGITS * sizeof *ad->head_b);
    return rc;
}

/* Reads every expected tensor; *expected = how many there were. */
static int read_tensors(const wf_st_file *f, const wf_tf_config *c, wf_tf_adapter *ad, int ours,
                        size_t *expected, wf_error *err)
{
    char name[NAME_CAP];
    int rc = 0;
    *expected = 0;
    for (int i = 0; !rc && i < ad->layers; i++) {
        for (int p = 0; !rc && p < WF_TF_NPROJ; p++) {
            if (!(ad->lora.targets & (1u << p)))
                continue;
            size_t in, out;
            wf_tf_proj_dims(c, p, &in, &out);
            uint64_t a_shape[2] = {(uint64_t)ad->lora.rank, in};
            uint64_t b_shape[2] = {out, (uint64_t)ad->lora.rank};
            lora_name(i, p, 'A', name);
            rc = wf_st_read_f32(f, name, a_shape, 2, ad->proj[i][p].a, err);
            lora_name(i, p, 'B', name);
            if (!rc)
                rc = wf_st_read_f32(f, name, b_shape, 2, ad->proj[i][p].b, err);
            *expected += 2;
        }
    }
    *expected += 1 + (size_t)(ours || wf_st_find(f, SCORE_B));
    return rc ? rc : read_head(f, ad, ours, err);
}

/* Names the first tensor that is not one of ad's. */
static int unexpected(const wf_st_file *f, const wf_tf_adapter *ad, wf_error *err)
{
    char name[NAME_CAP];
    for (size_t t = 0; t < wf_st_count(f); t++) {
        const char *got = wf_st_at(f, t)->name;
        int known = strcmp(got, SCORE_W) == 0 || strcmp(got, SCORE_B) == 0;
        for (int i = 0; !known && i < ad->layers; i++)
            for (int p = 0; !known && p < WF_TF_NPROJ; p++)
                for (int ab = 0; !known && ab < 2 && (ad->lora.targets & (1u << p)); ab++) {
                    lora_name(i, p, ab ? 'B' : 'A', name);
                    known = strcmp(got, name) == 0;
                }
        if (!known)
            return wf_error_set(err, WF_ECORRUPT, "%s: unexpected tensor \"%.80s\"", wf_st_what(f),
                                got);
    }
    return wf_error_set(err, WF_ECORRUPT, "%s: unexpected tensors", wf_st_what(f));
}

static int check_values(const wf_st_file *f, const wf_tf_adapter *ad, wf_error *err)
{
    for (size_t i = 0; i < ad->n_params; i++)
        if (!isfinite(ad->params[i]))
            return wf_error_set(err, WF_ECORRUPT, "%s: value %zu is not finite", wf_st_what(f), i);
    return 0;
}

/* The LoRA values o's adapter has, from the options alone. */
static size_t values_needed(const wf_tf_config *c, const wf_tf_lora_opts *o)
{
    size_t n = 0;
    for (int p = 0; p < WF_TF_NPROJ; p++)
        if (o->targets & (1u << p)) {
            size_t in, out;
            wf_tf_proj_dims(c, (wf_tf_proj)p, &in, &out);
            n += (size_t)o->rank * (in + out);
        }
    return n * (size_t)c->layers;
}

static size_t values_held(const wf_st_file *f)
{
    size_t n = 0;
    for (size_t i = 0; i < wf_st_count(f); i++)
        n += wf_st_at(f, i)->numel;
    return n;
}

int wf_tf_adapter_from_st(const wf_tf_model *base, const wf_tf_lora_opts *o, const wf_st_file *f,
                          wf_tf_adapter **out, wf_error *err)
{
    *out = NULL;
    const wf_tf_config *c = wf_tf_model_config(base);
    /* A corrupt rank must not cost gigabytes: a file too small for the
     * adapter its configuration describes is refused before allocating. */
    size_t needed = values_needed(c, o), held = values_held(f);
    if (held < needed)
        return wf_error_set(err, WF_ECORRUPT,
                            "%s: holds %zu values, the adapter of adapter_config.json needs %zu",
                            wf_st_what(f), held, needed);
    const char *kind = wf_st_meta(f, WF_TF_PEFT_HEAD_KEY);
    int head = kind ? wf_head_parse(kind) : WF_HEAD_INDEPENDENT;
    if (head < 0)
        return wf_error_set(err, WF_ECORRUPT, "%s: unknown head \"%.32s\"", wf_st_what(f), kind);
    wf_tf_adapter *ad = NULL;
    wf_error inner = {0};
    int rc = wf_tf_adapter_new(base, o, (wf_head_kind)head, 0, &ad, &inner);
    if (rc)
        return wf_error_set(err, rc == WF_ENOMEM ? rc : WF_ECORRUPT, "%s: %s", wf_st_what(f),
                            inner.msg);
    size_t expected = 0;
    rc = read_tensors(f, c, ad, kind != NULL, &expected, err);
    if (!rc && wf_st_count(f) != expected)
        rc = unexpected(f, ad, err);
    if (!rc)
        rc = check_values(f, ad, err);
    if (rc) {
        wf_tf_adapter_free(ad);
        return rc;
    }
    *out = ad;
    return 0;
}

static int read_config(const char *path, char **text, size_t *len, wf_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wf_error_set(err, errno == ENOENT ? WF_ENOTFOUND : WF_EIO, "%s: %s", path,
                            strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st) != 0 ? wf_error_set(err, WF_EIO, "%s: %s", path, strerror(errno)) : 0;
    if (!rc && (st.st_size < 0 || (uint64_t)st.st_size > MAX_CONFIG_BYTES))
        rc = wf_error_set(err, WF_ECORRUPT, "%s: larger than %u bytes", path, MAX_CONFIG_BYTES);
    *len = rc ? 0 : (size_t)st.st_size;
    if (!rc && !(*text = malloc(*len + 1)))
        rc = wf_error_set(err, WF_ENOMEM, "out of memory");
    if (!rc && read(fd, *text, *len) != (ssize_t)*len)
        rc = wf_error_set(err, WF_EIO, "%s: short read", path);
    close(fd);
    return rc;
}

int wf_tf_adapter_load(const wf_tf_model *base, const char *dir, wf_tf_adapter **out, wf_error *err)
{
    *out = NULL;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, WF_TF_PEFT_CONFIG) >= (int)sizeof path)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    char *text = NULL;
    size_t len = 0;
    wf_tf_lora_opts o;
    int rc = read_config(path, &text, &len, err);
    if (!rc)
        rc = wf_tf_peft_config_parse(text, len, path, &o, err);
    free(text);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/%s", dir, WF_TF_PEFT_WEIGHTS);
    wf_st_file *f = NULL;
    if ((rc = wf_st_open(path, &f, err)) != 0)
        return rc;
    rc = wf_tf_adapter_from_st(base, &o, f, out, err);
    wf_st_close(f);
    return rc;
}
