/* A tiny random Hugging Face model directory (config.json +
 * model.safetensors) for the transformer tests and benchmark: the tensors
 * stay in memory so a test can compute the expected outputs itself. */
#ifndef WF_TEST_TRANSFORMER_TINY_H
#define WF_TEST_TRANSFORMER_TINY_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_transformer/transformer.h"
#include "wildfeed/safetensors.h"

#define TINY_MAX_TENSORS 512

typedef struct tiny_spec {
    const char *arch; /* e.g. "Qwen3ForSequenceClassification" */
    int hidden, layers, heads, kv_heads, head_dim, inter, vocab;
    int labels;        /* > 0: an id2label of that many entries and a score head */
    int qk_norm;       /* write q_norm / k_norm (Qwen3) */
    int qkv_bias;      /* write q/k/v biases (Qwen2) */
    const char *extra; /* more config keys, ",\"k\": v" form, or NULL */
    uint64_t seed;
} tiny_spec;

typedef struct tiny_model {
    tiny_spec spec;
    size_t n;
    wf_st_out t[TINY_MAX_TENSORS];
    char names[TINY_MAX_TENSORS][80];
} tiny_model;

static inline double tiny_uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / (double)(1ull << 53) * 2.0 - 1.0;
}

/* Norm weights around 1, matrices scaled by 1/sqrt(fan-in) so activations
 * stay of order one through the layers. */
static inline void tiny_add(tiny_model *m, const char *name, uint64_t d0, uint64_t d1, int is_norm,
                            uint64_t *rng)
{
    size_t n = (size_t)d0 * (d1 ? d1 : 1);
    float *x = malloc(n * sizeof *x);
    double scale = d1 ? 1.0 / sqrt((double)d1) : 0.2;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((is_norm ? 1.0 : 0.0) + scale * tiny_uniform(rng));
    snprintf(m->names[m->n], sizeof m->names[0], "%s", name);
    wf_st_out *t = &m->t[m->n++];
    t->name = m->names[m->n - 1];
    t->ndim = d1 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->data = x;
}

static inline void tiny_add_layer(tiny_model *m, int i, const char *part, uint64_t d0, uint64_t d1,
                                  int is_norm, uint64_t *rng)
{
    char name[80];
    snprintf(name, sizeof name, "model.layers.%d.%s", i, part);
    tiny_add(m, name, d0, d1, is_norm, rng);
}

static inline void tiny_build(const tiny_spec *s, tiny_model *m)
{
    memset(m, 0, sizeof *m);
    m->spec = *s;
    uint64_t rng = s->seed, h = s->hidden, hd = s->head_dim, qd = hd * s->heads,
             kvd = hd * s->kv_heads, in = s->inter;
    tiny_add(m, "model.embed_tokens.weight", s->vocab, h, 0, &rng);
    tiny_add(m, "model.norm.weight", h, 0, 1, &rng);
    if (s->labels > 0)
        tiny_add(m, "score.weight", s->labels, h, 0, &rng);
    for (int i = 0; i < s->layers; i++) {
        tiny_add_layer(m, i, "input_layernorm.weight", h, 0, 1, &rng);
        tiny_add_layer(m, i, "post_attention_layernorm.weight", h, 0, 1, &rng);
        tiny_add_layer(m, i, "self_attn.q_proj.weight", qd, h, 0, &rng);
        tiny_add_layer(m, i, "self_attn.k_proj.weight", kvd, h, 0, &rng);
        tiny_add_layer(m, i, "self_attn.v_proj.weight", kvd, h, 0, &rng);
        tiny_add_layer(m, i, "self_attn.o_proj.weight", h, qd, 0, &rng);
        tiny_add_layer(m, i, "mlp.gate_proj.weight", in, h, 0, &rng);
        tiny_add_layer(m, i, "mlp.up_proj.weight", in, h, 0, &rng);
        tiny_add_layer(m, i, "mlp.down_proj.weight", h, in, 0, &rng);
        if (s->qkv_bias) {
            tiny_add_layer(m, i, "self_attn.q_proj.bias", qd, 0, 0, &rng);
            tiny_add_layer(m, i, "self_attn.k_proj.bias", kvd, 0, 0, &rng);
            tiny_add_layer(m, i, "self_attn.v_proj.bias", kvd, 0, 0, &rng);
        }
        if (s->qk_norm) {
            tiny_add_layer(m, i, "self_attn.q_norm.weight", hd, 0, 1, &rng);
            tiny_add_layer(m, i, "self_attn.k_norm.weight", hd, 0, 1, &rng);
        }
    }
}

/* The tensor's data, or NULL. */
static inline const float *tiny_find(const tiny_model *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->t[i].name, name) == 0)
            return m->t[i].data;
    return NULL;
}

static inline const float *tiny_layer(const tiny_model *m, int i, const char *part)
{
    char name[80];
    snprintf(name, sizeof name, "model.layers.%d.%s", i, part);
    return tiny_find(m, name);
}

static inline void tiny_free(tiny_model *m)
{
    for (size_t i = 0; i < m->n; i++)
        free((void *)m->t[i].data);
    m->n = 0;
}

static inline int tiny_write_config(const tiny_model *m, const char *dir)
{
    const tiny_spec *s = &m->spec;
    char path[4096], labels[256] = "";
    if (s->labels > 0) {
        size_t at = (size_t)snprintf(labels, sizeof labels, ",\"id2label\":{");
        for (int i = 0; i < s->labels; i++)
            at += (size_t)snprintf(labels + at, sizeof labels - at, "%s\"%d\":\"L%d\"",
                                   i ? "," : "", i, i);
        snprintf(labels + at, sizeof labels - at, "}");
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "{\"architectures\":[\"%s\"],\"hidden_size\":%d,\"num_hidden_layers\":%d,"
            "\"num_attention_heads\":%d,\"num_key_value_heads\":%d,\"head_dim\":%d,"
            "\"intermediate_size\":%d,\"vocab_size\":%d,\"rms_norm_eps\":1e-06,"
            "\"hidden_act\":\"silu\",\"rope_theta\":10000.0%s%s}\n",
            s->arch, s->hidden, s->layers, s->heads, s->kv_heads, s->head_dim, s->inter, s->vocab,
            labels, s->extra ? s->extra : "");
    return fclose(f);
}

/* Writes config.json and model.safetensors into dir; 0 on success. */
static inline int tiny_write(const tiny_model *m, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    wf_error err;
    if (wf_st_write(path, m->t, m->n, NULL, 0, &err) != 0)
        return -1;
    return tiny_write_config(m, dir);
}

/* Loads the tiny model of spec s, longest sequence max_len (0: the
 * default), into *out through a temporary directory, removed again. */
static inline int tiny_load(const tiny_spec *s, size_t max_len, wf_tf_model **out, wf_error *err)
{
    char dir[] = "/tmp/wf-tiny-model-XXXXXX", path[64];
    if (!mkdtemp(dir))
        return wf_error_set(err, WF_EIO, "mkdtemp failed");
    tiny_model *tm = malloc(sizeof *tm);
    int rc = tm ? 0 : wf_error_set(err, WF_ENOMEM, "out of memory");
    if (rc == 0) {
        wf_tf_load_opts lo = {.max_len = max_len};
        tiny_build(s, tm);
        rc = tiny_write(tm, dir) ? wf_error_set(err, WF_EIO, "%s: cannot write the model", dir)
                                 : wf_tf_load_dir(dir, &lo, out, err);
        tiny_free(tm);
    }
    free(tm);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
    return rc;
}

/* The backend's and the CLI's test base in dir: a tiny random Qwen3 whose
 * vocabulary covers the fixture tokenizer's 303 ids, with a copy of that
 * tokenizer.json (from); 0 on success. */
static inline int tiny_write_fixture_base(const char *dir, const char *tokenizer)
{
    tiny_spec s = {.arch = "Qwen3ForCausalLM",
                   .hidden = 32,
                   .layers = 2,
                   .heads = 4,
                   .kv_heads = 2,
                   .head_dim = 8,
                   .inter = 64,
                   .vocab = 320,
                   .qk_norm = 1,
                   .seed = 11};
    tiny_model m;
    tiny_build(&s, &m);
    int rc = tiny_write(&m, dir);
    tiny_free(&m);
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *in = rc == 0 ? fopen(tokenizer, "rb") : NULL, *out = in ? fopen(path, "wb") : NULL;
    char buf[8192];
    size_t n;
    int ok = in && out;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

#endif
