/* Reads tokenizer.json into a wf_tokenizer: vocabulary, merges, added
 * tokens, and the checks that the file asks for what this tokenizer does. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/tokenizer_internal.h"

#define QWEN2_PATTERN                                                                              \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "                          \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"                                                                \
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define LLAMA3_PATTERN                                                                             \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "                     \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

static int type_is(const json_t *obj, const char *type)
{
    const char *t = json_string_value(json_object_get(obj, "type"));
    return t && strcmp(t, type) == 0;
}

/* Adds a token spelled in the byte-level alphabet; its bytes' offset/len. */
static int add_spelled(wf_tokenizer *t, const char *s, size_t n, uint32_t *off, uint32_t *len)
{
    unsigned char small[256];
    unsigned char *buf = n <= sizeof small ? small : malloc(n);
    if (!buf)
        return -1;
    size_t m = wf_tok_unbyte(s, n, buf);
    int64_t o = wf_tok_arena_add(t, buf, m);
    if (buf != small)
        free(buf);
    if (o < 0)
        return -1;
    *off = (uint32_t)o;
    *len = (uint32_t)m;
    return 0;
}

static int load_vocab(wf_tokenizer *t, const json_t *vocab, wf_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)vocab, key, v)
    {
        json_int_t id = json_integer_value(v);
        if (!json_is_integer(v) || id < 0 || id >= WF_TOK_MAX_ID)
            return wf_error_set(err, WF_EPARSE, "tokenizer: bad id for vocabulary token '%s'", key);
        uint32_t off, len;
        if (add_spelled(t, key, strlen(key), &off, &len) < 0 ||
            wf_tok_strmap_put(t, &t->vocab, off, len, (int32_t)id) < 0)
            return wf_error_set(err, WF_ENOMEM, "tokenizer: out of memory");
        if ((size_t)id >= t->vocab_size)
            t->vocab_size = (size_t)id + 1;
    }
    return 0;
}

/* The two halves of merge i, from "a b" or ["a", "b"]. */
static int merge_halves(const json_t *m, const char **a, size_t *an, const char **b, size_t *bn)
{
    if (json_is_array(m) && json_array_size(m) == 2) {
        *a = json_string_value(json_array_get(m, 0));
        *b = json_string_value(json_array_get(m, 1));
        if (!*a || !*b)
            return -1;
        *an = json_string_length(json_array_get(m, 0));
        *bn = json_string_length(json_array_get(m, 1));
        return 0;
    }
    const char *s = json_string_value(m);
    const char *sp = s ? strchr(s, ' ') : NULL;
    if (!sp || strchr(sp + 1, ' '))
        return -1;
    *a = s;
    *an = (size_t)(sp - s);
    *b = sp + 1;
    *bn = strlen(sp + 1);
    return 0;
}

static int32_t spelled_id(wf_tokenizer *t, const char *s, size_t n, uint32_t *off, uint32_t *len)
{
    if (add_spelled(t, s, n, off, len) < 0)
        return -2;
    int32_t id = wf_tok_strmap_get(t, &t->vocab, t->arena + *off, *len);
    t->arena_len = *off; /* lookups only: give the bytes back */
    return id;
}

static int load_merge(wf_tokenizer *t, const json_t *m, uint32_t rank, wf_error *err)
{
    const char *a, *b;
    size_t an, bn;
    if (merge_halves(m, &a, &an, &b, &bn) < 0)
        return wf_error_set(err, WF_EPARSE, "tokenizer: merge %u is malformed", rank);
    uint32_t aoff, alen, boff, blen;
    int32_t left = spelled_id(t, a, an, &aoff, &alen);
    int32_t right = spelled_id(t, b, bn, &boff, &blen);
    char *both = malloc(an + bn);
    if (!both || left == -2 || right == -2) {
        free(both);
        return wf_error_set(err, WF_ENOMEM, "tokenizer: out of memory");
    }
    memcpy(both, a, an);
    memcpy(both + an, b, bn);
    int32_t merged = spelled_id(t, both, an + bn, &aoff, &alen);
    free(both);
    if (left < 0 || right < 0 || merged < 0)
        return wf_error_set(err, WF_EPARSE,
                            "tokenizer: merge %u names a token not in the vocabulary", rank);
    if (wf_tok_merges_put(&t->merges, left, right, rank, merged) < 0)
        return wf_error_set(err, WF_ENOMEM, "tokenizer: out of memory");
    return 0;
}

static int load_merges(wf_tokenizer *t, const json_t *merges, wf_error *err)
{
    if (!json_is_array(merges))
        return wf_error_set(err, WF_EPARSE, "tokenizer: model.merges is not an array");
    if (wf_tok_merges_init(&t->merges, json_array_size(merges)) < 0)
        return wf_error_set(err, WF_ENOMEM, "tokenizer: out of memory");
    for (size_t i = 0; i < json_array_size(merges); i++) {
        int rc = load_merge(t, json_array_get(merges, i), (uint32_t)i, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int load_model(wf_tokenizer *t, const json_t *model, wf_error *err)
{
    if (!json_is_object(model) || !type_is(model, "BPE"))
        return wf_error_set(err, WF_EINVAL, "tokenizer: model is not BPE");
    const json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab))
        return wf_error_set(err, WF_EPARSE, "tokenizer: model.vocab is not an object");
    int rc = load_vocab(t, vocab, err);
    if (rc < 0 || (rc = load_merges(t, json_object_get(model, "merges"), err)) < 0)
        return rc;
    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        t->byte_id[b] = wf_tok_strmap_get(t, &t->vocab, &c, 1);
    }
    const char *unk = json_string_value(json_object_get(model, "unk_token"));
    if (unk)
        t->unk_id = wf_tokenizer_token_to_id(t, unk, strlen(unk));
    t->ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));
    if (json_is_true(json_object_get(model, "byte_fallback")))
        for (int b = 0; b < 256; b++) {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", b);
            t->fallback_id[b] = wf_tok_strmap_get(t, &t->vocab, name, 6);
        }
    return 0;
}

static int compare_added(const void *a, const void *b)
{
    const wf_tok_added *x = a, *y = b;
    return x->len != y->len ? (x->len < y->len ? 1 : -1) : (x->id > y->id) - (x->id < y->id);
}

static int load_added(wf_tokenizer *t, const json_t *added, wf_error *err)
{
    if (!added || json_is_null(added))
        return 0;
    if (!json_is_array(added))
        return wf_error_set(err, WF_EPARSE, "tokenizer: added_tokens is not an array");
    t->added = calloc(json_array_size(added) + 1, sizeof *t->added);
    if (!t->added)
        return wf_error_set(err, WF_ENOMEM, "tokenizer: out of memory");
    for (size_t i = 0; i < json_array_size(added); i++) {
        const json_t *a = json_array_get(added, i), *c = json_object_get(a, "content");
        json_int_t id = json_integer_value(json_object_get(a, "id"));
        size_t n = json_string_length(c);
        if (!json_is_string(c) || n == 0 || id < 0 || id >= WF_TOK_MAX_ID)
            return wf_error_set(err, WF_EPARSE, "tokenizer: added token %zu is malformed", i);
        int64_t off = wf_tok_arena_add(t, json_string_value(c), n);
        if (off < 0)
            return wf_error_set(err, WF_ENOMEM, "tokenizer: out of memory");
        t->added[t->n_added++] = (wf_tok_added){(uint32_t)off, (uint32_t)n, (int32_t)id};
        t->added_first[(unsigned char)json_string_value(c)[0]] = 1;
        if ((size_t)id >= t->vocab_size)
            t->vocab_size = (size_t)id + 1;
    }
    qsort(t->added, t->n_added, sizeof *t->added, compare_added);
    return 0;
}

static int check_normalizer(wf_tokenizer *t, const json_t *n, wf_error *err)
{
    if (!n || json_is_null(n))
        return 0;
    const json_t *seq = json_object_get(n, "normalizers");
    if (type_is(n, "Sequence") && json_array_size(seq) == 1)
        n = json_array_get(seq, 0);
    if (!type_is(n, "NFC"))
        return wf_error_set(err, WF_EINVAL, "tokenizer: unsupported normalizer");
    t->nfc = 1;
    return 0;
}

static int check_pretokenizer(wf_tokenizer *t, const json_t *p, wf_error *err)
{
    const json_t *seq = json_object_get(p, "pretokenizers");
    const json_t *split = json_array_get(seq, 0), *bytes = json_array_get(seq, 1);
    const char *re = json_string_value(json_object_get(json_object_get(split, "pattern"), "Regex"));
    const char *behavior = json_string_value(json_object_get(split, "behavior"));
    if (!type_is(p, "Sequence") || json_array_size(seq) != 2 || !type_is(split, "Split") || !re ||
        !behavior || strcmp(behavior, "Isolated") != 0 ||
        json_is_true(json_object_get(split, "invert")) || !type_is(bytes, "ByteLevel") ||
        json_is_true(json_object_get(bytes, "add_prefix_space")) ||
        json_is_true(json_object_get(bytes, "use_regex")))
        return wf_error_set(err, WF_EINVAL,
                            "tokenizer: unsupported pre_tokenizer (want Split + ByteLevel)");
    if (strcmp(re, QWEN2_PATTERN) == 0)
        t->max_digits = 1;
    else if (strcmp(re, LLAMA3_PATTERN) == 0)
        t->max_digits = 3;
    else
        return wf_error_set(err, WF_EINVAL, "tokenizer: unsupported pre-tokenizer pattern");
    return 0;
}

static int build_id_table(wf_tokenizer *t, wf_error *err)
{
    t->id_off = malloc((t->vocab_size + 1) * sizeof *t->id_off);
    t->id_len = malloc((t->vocab_size + 1) * sizeof *t->id_len);
    if (!t->id_off || !t->id_len)
        return wf_error_set(err, WF_ENOMEM, "tokenizer: out of memory");
    for (size_t i = 0; i < t->vocab_size; i++)
        t->id_len[i] = UINT32_MAX;
    for (size_t e = 0; e < t->vocab.count; e++) {
        t->id_off[t->vocab.id[e]] = t->vocab.off[e];
        t->id_len[t->vocab.id[e]] = t->vocab.len[e];
    }
    for (size_t i = 0; i < t->n_added; i++) {
        t->id_off[t->added[i].id] = t->added[i].off;
        t->id_len[t->added[i].id] = t->added[i].len;
    }
    return 0;
}

int wf_tok_load_json(wf_tokenizer *t, const json_t *root, wf_error *err)
{
    const json_t *dec = json_object_get(root, "decoder");
    int rc = load_model(t, json_object_get(root, "model"), err);
    if (rc < 0 || (rc = load_added(t, json_object_get(root, "added_tokens"), err)) < 0 ||
        (rc = check_normalizer(t, json_object_get(root, "normalizer"), err)) < 0 ||
        (rc = check_pretokenizer(t, json_object_get(root, "pre_tokenizer"), err)) < 0)
        return rc;
    if (dec && !json_is_null(dec) && !type_is(dec, "ByteLevel"))
        return wf_error_set(err, WF_EINVAL, "tokenizer: unsupported decoder (want ByteLevel)");
    return build_id_table(t, err);
}
