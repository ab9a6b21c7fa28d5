/* The weights of a model directory: model.safetensors, or the shards that
 * model.safetensors.index.json maps tensor names to. Each tensor is checked
 * for presence and exact shape before anything is allocated for it. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/tf_internal.h"
#include "wildfeed/safetensors.h"

#define MAX_SHARDS 4096

typedef struct source {
    wf_st_file **files;
    const char **names; /* shard file names, borrowed from map */
    size_t n_files;
    json_t *map; /* name -> shard file name; NULL for a single file */
    const char *dir;
} source;

static void source_close(source *s)
{
    for (size_t i = 0; i < s->n_files; i++)
        wf_st_close(s->files[i]);
    free(s->files);
    free(s->names);
    json_decref(s->map);
}

static int open_in_dir(const char *dir, const char *name, wf_st_file **out, wf_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    return wf_st_open(path, out, err);
}

/* The position of a shard among the files opened so far (n_files: none). */
static size_t shard_index(const source *s, const char *file)
{
    size_t i = 0;
    for (; i < s->n_files; i++)
        if (strcmp(s->names[i], file) == 0)
            break;
    return i;
}

static int open_shards(source *s, wf_error *err)
{
    const char *name;
    json_t *v;
    s->files = calloc(MAX_SHARDS, sizeof *s->files);
    s->names = calloc(MAX_SHARDS, sizeof *s->names);
    if (!s->files || !s->names)
        return wf_error_set(err, WF_ENOMEM, "%s: out of memory", s->dir);
    json_object_foreach(s->map, name, v)
    {
        const char *file = json_string_value(v);
        if (!file || !*file || strchr(file, '/') || file[0] == '.')
            return wf_error_set(err, WF_ECORRUPT,
                                "%s/model.safetensors.index.json: tensor \"%.64s\" maps to a bad "
                                "file name",
                                s->dir, name);
        if (shard_index(s, file) < s->n_files)
            continue;
        if (s->n_files == MAX_SHARDS)
            return wf_error_set(err, WF_ECORRUPT, "%s: more than %d shards", s->dir, MAX_SHARDS);
        int rc = open_in_dir(s->dir, file, &s->files[s->n_files], err);
        if (rc)
            return rc;
        s->names[s->n_files++] = file;
    }
    return 0;
}

static int open_index(source *s, const char *path, wf_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return wf_error_set(err, WF_ECORRUPT, "%s: line %d: %s", path, jerr.line, jerr.text);
    json_t *map = json_object_get(root, "weight_map");
    if (!json_is_object(map)) {
        json_decref(root);
        return wf_error_set(err, WF_ECORRUPT, "%s: \"weight_map\" must be an object", path);
    }
    s->map = json_incref(map);
    json_decref(root);
    return open_shards(s, err);
}

static int source_open(const char *dir, source *s, wf_error *err)
{
    memset(s, 0, sizeof *s);
    s->dir = dir;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir) >= (int)sizeof path)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        return open_index(s, path, err);
    }
    s->files = calloc(1, sizeof *s->files);
    if (!s->files)
        return wf_error_set(err, WF_ENOMEM, "%s: out of memory", dir);
    int rc = open_in_dir(dir, "model.safetensors", &s->files[0], err);
    if (rc == 0)
        s->n_files = 1;
    return rc;
}

static const wf_st_tensor *source_find(const source *s, const char *name)
{
    if (!s->map)
        return wf_st_find(s->files[0], name);
    const char *file = json_string_value(json_object_get(s->map, name));
    if (!file)
        return NULL;
    return wf_st_find(s->files[shard_index(s, file)], name);
}

/* A fresh fp32 copy of tensor name, which must have shape [d0] or [d0, d1]
 * (d1 == 0: one dimension). */
static int take(const source *s, const char *name, size_t d0, size_t d1, float **out, wf_error *err)
{
    const wf_st_tensor *t = source_find(s, name);
    if (!t)
        return wf_error_set(err, WF_ECORRUPT, "%s: no tensor \"%s\"", s->dir, name);
    int ndim = d1 ? 2 : 1;
    if (t->ndim != ndim || t->shape[0] != d0 || (d1 && t->shape[1] != d1))
        return wf_error_set(err, WF_ECORRUPT, "%s: tensor \"%s\" must have shape [%zu%s%.0zu]",
                            s->dir, name, d0, d1 ? ", " : "", d1);
    *out = malloc(t->numel * sizeof **out);
    if (!*out)
        return wf_error_set(err, WF_ENOMEM, "%s: out of memory for \"%s\"", s->dir, name);
    wf_st_to_f32(t, *out);
    return 0;
}

static int take_layer(const source *s, int i, const char *part, size_t d0, size_t d1, float **out,
                      wf_error *err)
{
    char name[256];
    snprintf(name, sizeof name, "model.layers.%d.%s", i, part);
    return take(s, name, d0, d1, out, err);
}

static int load_layer(const source *s, const wf_tf_config *c, int i, wf_tf_layer *l, wf_error *err)
{
    size_t h = (size_t)c->hidden, qd = (size_t)c->heads * c->head_dim,
           kvd = (size_t)c->kv_heads * c->head_dim, in = (size_t)c->intermediate,
           hd = (size_t)c->head_dim;
    int rc;
    if ((rc = take_layer(s, i, "input_layernorm.weight", h, 0, &l->in_norm, err)) ||
        (rc = take_layer(s, i, "post_attention_layernorm.weight", h, 0, &l->post_norm, err)) ||
        (rc = take_layer(s, i, "self_attn.q_proj.weight", qd, h, &l->wq, err)) ||
        (rc = take_layer(s, i, "self_attn.k_proj.weight", kvd, h, &l->wk, err)) ||
        (rc = take_layer(s, i, "self_attn.v_proj.weight", kvd, h, &l->wv, err)) ||
        (rc = take_layer(s, i, "self_attn.o_proj.weight", h, qd, &l->wo, err)) ||
        (rc = take_layer(s, i, "mlp.gate_proj.weight", in, h, &l->w_gate, err)) ||
        (rc = take_layer(s, i, "mlp.up_proj.weight", in, h, &l->w_up, err)) ||
        (rc = take_layer(s, i, "mlp.down_proj.weight", h, in, &l->w_down, err)))
        return rc;
    if (c->qkv_bias && ((rc = take_layer(s, i, "self_attn.q_proj.bias", qd, 0, &l->bq, err)) ||
                        (rc = take_layer(s, i, "self_attn.k_proj.bias", kvd, 0, &l->bk, err)) ||
                        (rc = take_layer(s, i, "self_attn.v_proj.bias", kvd, 0, &l->bv, err))))
        return rc;
    if (c->qk_norm && ((rc = take_layer(s, i, "self_attn.q_norm.weight", hd, 0, &l->q_norm, err)) ||
                       (rc = take_layer(s, i, "self_attn.k_norm.weight", hd, 0, &l->k_norm, err))))
        return rc;
    return 0;
}

/* splitmix64: a small deterministic stream for a seeded new head. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int new_head(wf_tf_model *m, uint64_t seed, wf_error *err)
{
    size_t n = (size_t)WF_TF_HEAD_OUT * m->cfg.hidden;
    m->head_w = calloc(n, sizeof *m->head_w);
    if (!m->head_w)
        return wf_error_set(err, WF_ENOMEM, "out of memory for the head");
    uint64_t state = seed;
    for (size_t i = 0; seed && i < n; i++) {
        /* Uniform in [-0.02, 0.02): small enough not to saturate the sigmoid. */
        double u = (double)(next_u64(&state) >> 11) / (double)(1ull << 53);
        m->head_w[i] = (float)(0.04 * u - 0.02);
    }
    return 0;
}

static int load_all(const source *s, wf_tf_model *m, uint64_t head_seed, wf_error *err)
{
    const wf_tf_config *c = &m->cfg;
    int rc;
    if ((rc = take(s, "model.embed_tokens.weight", (size_t)c->vocab, (size_t)c->hidden, &m->embed,
                   err)) ||
        (rc = take(s, "model.norm.weight", (size_t)c->hidden, 0, &m->final_norm, err)))
        return rc;
    for (int i = 0; i < c->layers; i++)
        if ((rc = load_layer(s, c, i, &m->layers[i], err)))
            return rc;
    if (c->seq_cls && c->num_labels == WF_TF_HEAD_OUT) {
        m->head_from_checkpoint = 1;
        return take(s, "score.weight", WF_TF_HEAD_OUT, (size_t)c->hidden, &m->head_w, err);
    }
    return new_head(m, head_seed, err);
}

int wf_tf_load_weights(const char *dir, wf_tf_model *m, uint64_t head_seed, wf_error *err)
{
    m->layers = calloc((size_t)m->cfg.layers, sizeof *m->layers);
    if (!m->layers)
        return wf_error_set(err, WF_ENOMEM, "%s: out of memory", dir);
    source s;
    int rc = source_open(dir, &s, err);
    if (rc == 0)
        rc = load_all(&s, m, head_seed, err);
    source_close(&s);
    return rc;
}
