/* wf_tokenizer's public functions: load, encode, decode and lookups. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/tokenizer_internal.h"

/* The pad token named by a tokenizer_config.json beside path, or -1. */
static int32_t config_pad_id(const wf_tokenizer *t, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path + 1) : 0;
    static const char name[] = "tokenizer_config.json";
    char *cfg = malloc(dir + sizeof name);
    if (!cfg)
        return -1;
    memcpy(cfg, path, dir);
    memcpy(cfg + dir, name, sizeof name);
    json_t *root = json_load_file(cfg, 0, NULL);
    free(cfg);
    const json_t *pad = json_object_get(root, "pad_token");
    if (json_is_object(pad))
        pad = json_object_get(pad, "content");
    int32_t id = json_is_string(pad)
                     ? wf_tokenizer_token_to_id(t, json_string_value(pad), json_string_length(pad))
                     : -1;
    json_decref(root);
    return id;
}

static wf_tokenizer *tokenizer_new(void)
{
    wf_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cache = calloc(WF_TOK_CACHE_SLOTS, sizeof *t->cache);
    if (!t->cache || pthread_mutex_init(&t->cache_lock, NULL) != 0) {
        free(t->cache);
        free(t);
        return NULL;
    }
    t->unk_id = -1;
    t->pad_id = -1;
    memset(t->fallback_id, 0xFF, sizeof t->fallback_id);
    return t;
}

int wf_tokenizer_load(const char *path, wf_tokenizer **out, wf_error *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return wf_error_set(err, WF_EPARSE, "tokenizer: %s:%d: %s", path, jerr.line, jerr.text);
    wf_tokenizer *t = tokenizer_new();
    if (!t) {
        json_decref(root);
        return wf_error_set(err, WF_ENOMEM, "tokenizer: out of memory");
    }
    int rc = wf_tok_load_json(t, root, err);
    const json_t *pad = json_object_get(json_object_get(root, "padding"), "pad_id");
    if (json_is_integer(pad))
        t->pad_id = (int32_t)json_integer_value(pad);
    json_decref(root);
    if (rc < 0) {
        wf_tokenizer_free(t);
        return rc;
    }
    if (t->pad_id < 0)
        t->pad_id = config_pad_id(t, path);
    *out = t;
    return 0;
}

void wf_tokenizer_free(wf_tokenizer *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < WF_TOK_CACHE_SLOTS; i++)
        free(t->cache[i].ids);
    free(t->cache);
    pthread_mutex_destroy(&t->cache_lock);
    wf_tok_strmap_free(&t->vocab);
    wf_tok_merges_free(&t->merges);
    free(t->id_off);
    free(t->id_len);
    free(t->added);
    free(t->arena);
    free(t);
}

typedef struct encoder {
    wf_tokenizer *tok;
    wf_tok_cps cps, scratch;
    unsigned char *bytes;
    size_t bytes_cap;
    wf_token_ids *out;
} encoder;

static int encode_word(void *ctx, size_t start, size_t end)
{
    encoder *e = ctx;
    size_t n = 0;
    for (size_t i = start; i < end; i++)
        n += wf_tok_utf8_put(e->cps.cp[i], e->bytes + n);
    return wf_tok_bpe_word(e->tok, e->bytes, n, e->out);
}

/* Normalises and pre-tokenises text that holds no added token, then BPE. */
static int encode_plain(encoder *e, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (wf_tok_utf8_decode(s, n, &e->cps) < 0 ||
        (e->tok->nfc && wf_tok_nfc(&e->cps, &e->scratch) < 0))
        return -1;
    if (e->cps.len * 4 > e->bytes_cap) {
        unsigned char *b = realloc(e->bytes, e->cps.len * 4);
        if (!b)
            return -1;
        e->bytes = b;
        e->bytes_cap = e->cps.len * 4;
    }
    return wf_tok_pretokenize(e->cps.cp, e->cps.len, e->tok->max_digits, encode_word, e);
}

/* The longest added token at s[0..n), or NULL. */
static const wf_tok_added *added_at(const wf_tokenizer *t, const char *s, size_t n)
{
    if (!t->added_first[(unsigned char)s[0]])
        return NULL;
    for (size_t i = 0; i < t->n_added; i++) {
        const wf_tok_added *a = &t->added[i];
        if (a->len <= n && memcmp(t->arena + a->off, s, a->len) == 0)
            return a;
    }
    return NULL;
}

static int encode_all(encoder *e, const char *text, size_t len)
{
    size_t plain = 0;
    for (size_t i = 0; i < len;) {
        const wf_tok_added *a = added_at(e->tok, text + i, len - i);
        if (!a) {
            i++;
            continue;
        }
        if (encode_plain(e, text + plain, i - plain) < 0 || wf_tok_ids_push(e->out, a->id) < 0)
            return -1;
        i += a->len;
        plain = i;
    }
    return encode_plain(e, text + plain, len - plain);
}

int wf_tokenizer_encode(wf_tokenizer *tok, const char *text, size_t len, wf_token_ids *out,
                        wf_error *err)
{
    encoder e = {.tok = tok, .out = out};
    int rc = encode_all(&e, text, len);
    free(e.cps.cp);
    free(e.scratch.cp);
    free(e.bytes);
    if (rc < 0)
        return wf_error_set(err, WF_ENOMEM, "tokenizer: out of memory");
    return 0;
}

int wf_tokenizer_decode(const wf_tokenizer *tok, const int32_t *ids, size_t n, wf_strbuf *out,
                        wf_error *err)
{
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || (size_t)id >= tok->vocab_size || tok->id_len[id] == UINT32_MAX)
            return wf_error_set(err, WF_EINVAL, "tokenizer: id %d is not in the vocabulary", id);
        wf_strbuf_append(out, (const char *)tok->arena + tok->id_off[id], tok->id_len[id]);
    }
    if (out->oom)
        return wf_error_set(err, WF_ENOMEM, "tokenizer: out of memory");
    return 0;
}

int32_t wf_tokenizer_token_to_id(const wf_tokenizer *tok, const char *token, size_t len)
{
    for (size_t i = 0; i < tok->n_added; i++)
        if (tok->added[i].len == len && memcmp(tok->arena + tok->added[i].off, token, len) == 0)
            return tok->added[i].id;
    unsigned char *buf = malloc(len + 1);
    if (!buf)
        return -1;
    size_t n = wf_tok_unbyte(token, len, buf);
    int32_t id = wf_tok_strmap_get(tok, &tok->vocab, buf, n);
    free(buf);
    return id;
}

size_t wf_tokenizer_vocab_size(const wf_tokenizer *tok)
{
    return tok->vocab_size;
}

int32_t wf_tokenizer_pad_id(const wf_tokenizer *tok)
{
    return tok->pad_id;
}
