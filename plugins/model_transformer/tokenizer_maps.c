/* The tokenizer's storage: a byte arena, the vocabulary map, the merge map
 * and the byte-level alphabet. */
#include <stdlib.h>
#include <string.h>

#include "model_transformer/tokenizer_internal.h"

uint64_t wf_tok_hash(const unsigned char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

int64_t wf_tok_arena_add(wf_tokenizer *t, const void *s, size_t n)
{
    if (t->arena_len + n > UINT32_MAX)
        return -1;
    if (t->arena_len + n > t->arena_cap) {
        size_t cap = t->arena_cap ? t->arena_cap : 1 << 16;
        while (cap < t->arena_len + n)
            cap *= 2;
        unsigned char *p = realloc(t->arena, cap);
        if (!p)
            return -1;
        t->arena = p;
        t->arena_cap = cap;
    }
    if (n)
        memcpy(t->arena + t->arena_len, s, n);
    t->arena_len += n;
    return (int64_t)(t->arena_len - n);
}

static int strmap_grow(const wf_tokenizer *t, wf_tok_strmap *m)
{
    size_t slots = m->mask ? (m->mask + 1) * 2 : 1024;
    uint32_t *s = calloc(slots, sizeof *s);
    size_t cap = slots / 2;
    uint32_t *off = realloc(m->off, cap * sizeof *off);
    if (off)
        m->off = off;
    uint32_t *len = realloc(m->len, cap * sizeof *len);
    if (len)
        m->len = len;
    int32_t *id = realloc(m->id, cap * sizeof *id);
    if (id)
        m->id = id;
    if (!s || !off || !len || !id) {
        free(s);
        return -1;
    }
    for (size_t e = 0; e < m->count; e++) {
        size_t h = wf_tok_hash(t->arena + m->off[e], m->len[e]) & (slots - 1);
        while (s[h])
            h = (h + 1) & (slots - 1);
        s[h] = (uint32_t)e + 1;
    }
    free(m->slots);
    m->slots = s;
    m->mask = slots - 1;
    return 0;
}

static size_t strmap_find(const wf_tokenizer *t, const wf_tok_strmap *m, const void *s, size_t n)
{
    size_t h = wf_tok_hash(s, n) & m->mask;
    while (m->slots[h]) {
        uint32_t e = m->slots[h] - 1;
        if (m->len[e] == n && memcmp(t->arena + m->off[e], s, n) == 0)
            break;
        h = (h + 1) & m->mask;
    }
    return h;
}

int wf_tok_strmap_put(wf_tokenizer *t, wf_tok_strmap *m, uint32_t off, uint32_t len, int32_t id)
{
    if ((m->count + 1) * 2 > m->mask + 1 && strmap_grow(t, m) < 0)
        return -1;
    size_t h = strmap_find(t, m, t->arena + off, len);
    if (m->slots[h]) {
        m->id[m->slots[h] - 1] = id;
        return 0;
    }
    m->off[m->count] = off;
    m->len[m->count] = len;
    m->id[m->count] = id;
    m->slots[h] = (uint32_t)++m->count;
    return 0;
}

int32_t wf_tok_strmap_get(const wf_tokenizer *t, const wf_tok_strmap *m, const void *s, size_t n)
{
    if (!m->slots)
        return -1;
    size_t h = strmap_find(t, m, s, n);
    return m->slots[h] ? m->id[m->slots[h] - 1] : -1;
}

void wf_tok_strmap_free(wf_tok_strmap *m)
{
    free(m->slots);
    free(m->off);
    free(m->len);
    free(m->id);
}

static uint64_t pair_key(int32_t left, int32_t right)
{
    return (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
}

static size_t pair_slot(uint64_t key, size_t mask)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & mask;
}

int wf_tok_merges_init(wf_tok_merges *m, size_t expected)
{
    size_t slots = 1024;
    while (slots < expected * 2)
        slots *= 2;
    m->keys = calloc(slots, sizeof *m->keys);
    m->rank = malloc(slots * sizeof *m->rank);
    m->merged = malloc(slots * sizeof *m->merged);
    m->mask = slots - 1;
    m->count = 0;
    return m->keys && m->rank && m->merged ? 0 : -1;
}

int wf_tok_merges_put(wf_tok_merges *m, int32_t left, int32_t right, uint32_t rank, int32_t merged)
{
    if ((m->count + 1) * 2 > m->mask + 1)
        return -1; /* sized by wf_tok_merges_init from the merge count */
    uint64_t key = pair_key(left, right);
    size_t h = pair_slot(key, m->mask);
    while (m->keys[h] && m->keys[h] != key)
        h = (h + 1) & m->mask;
    if (m->keys[h])
        return 0;
    m->keys[h] = key;
    m->rank[h] = rank;
    m->merged[h] = merged;
    m->count++;
    return 0;
}

/* 1 and the rank and merged id of the pair, or 0 when it does not merge. */
int wf_tok_merges_get(const wf_tok_merges *m, int32_t left, int32_t right, uint32_t *rank,
                      int32_t *merged)
{
    uint64_t key = pair_key(left, right);
    size_t h = pair_slot(key, m->mask);
    while (m->keys[h]) {
        if (m->keys[h] == key) {
            *rank = m->rank[h];
            *merged = m->merged[h];
            return 1;
        }
        h = (h + 1) & m->mask;
    }
    return 0;
}

void wf_tok_merges_free(wf_tok_merges *m)
{
    free(m->keys);
    free(m->rank);
    free(m->merged);
}

/* GPT-2's alphabet keeps the printable bytes 33-126, 161-172 and 174-255 as
 * themselves and moves the other 68 bytes, in order, to 256 and up; this
 * maps a code point of that alphabet back to its byte, or -1. */
static int alphabet_byte(uint32_t cp)
{
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255))
        return (int)cp;
    if (cp < 256 || cp >= 256 + 68)
        return -1;
    uint32_t i = cp - 256;
    return i <= 32 ? (int)i : i <= 66 ? (int)(127 + i - 33) : 173;
}

size_t wf_tok_unbyte(const char *s, size_t n, unsigned char *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp = u[i];
        size_t len = 1;
        if (cp >= 0xC0 && cp < 0xE0 && i + 1 < n && (u[i + 1] & 0xC0) == 0x80) {
            cp = ((cp & 0x1F) << 6) | (u[i + 1] & 0x3F);
            len = 2;
        }
        int b = alphabet_byte(cp);
        if (b >= 0) {
            out[w++] = (unsigned char)b;
        } else {
            memcpy(out + w, u + i, len);
            w += len;
        }
        i += len;
    }
    return w;
}

int wf_tok_ids_push(wf_token_ids *ids, int32_t id)
{
    if (ids->len == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *p = realloc(ids->ids, cap * sizeof *p);
        if (!p)
            return -1;
        ids->ids = p;
        ids->cap = cap;
    }
    ids->ids[ids->len++] = id;
    return 0;
}

void wf_token_ids_free(wf_token_ids *ids)
{
    free(ids->ids);
    ids->ids = NULL;
    ids->len = ids->cap = 0;
}
