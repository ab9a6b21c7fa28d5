/* BPE on one pre-token: start from one symbol per byte and apply the
 * lowest-ranked adjacent merge (leftmost on ties) until none applies, with
 * a bounded cache of finished words. */
#include <stdlib.h>
#include <string.h>

#include "model_transformer/tokenizer_internal.h"

typedef struct candidate {
    uint32_t rank;
    uint32_t pos;
} candidate;

typedef struct word {
    int32_t *id;
    int32_t *prev, *next; /* neighbouring live symbols, -1 at the ends */
    candidate *heap;
    size_t heap_len;
} word;

static int before(candidate a, candidate b)
{
    return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static void heap_push(word *w, candidate c)
{
    size_t i = w->heap_len++;
    while (i > 0 && before(c, w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = c;
}

static candidate heap_pop(word *w)
{
    candidate top = w->heap[0], last = w->heap[--w->heap_len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->heap_len)
            break;
        if (c + 1 < w->heap_len && before(w->heap[c + 1], w->heap[c]))
            c++;
        if (!before(w->heap[c], last))
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (w->heap_len)
        w->heap[i] = last;
    return top;
}

static void consider(const wf_tokenizer *t, word *w, int32_t pos)
{
    uint32_t rank;
    int32_t merged;
    if (pos >= 0 && w->next[pos] >= 0 &&
        wf_tok_merges_get(&t->merges, w->id[pos], w->id[w->next[pos]], &rank, &merged))
        heap_push(w, (candidate){rank, (uint32_t)pos});
}

static void merge_all(const wf_tokenizer *t, word *w, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        consider(t, w, (int32_t)i);
    while (w->heap_len) {
        candidate c = heap_pop(w);
        int32_t pos = (int32_t)c.pos, right = w->next[pos];
        uint32_t rank;
        int32_t merged;
        /* A stale candidate: its symbols changed since it was pushed. */
        if (w->id[pos] < 0 || right < 0 ||
            !wf_tok_merges_get(&t->merges, w->id[pos], w->id[right], &rank, &merged) ||
            rank != c.rank)
            continue;
        w->id[pos] = merged;
        w->id[right] = -1;
        w->next[pos] = w->next[right];
        if (w->next[right] >= 0)
            w->prev[w->next[right]] = pos;
        consider(t, w, w->prev[pos]);
        consider(t, w, pos);
    }
}

/* The symbol for byte b: its token, else "<0xXX>" under byte_fallback, else
 * the unk token; -1 drops the byte, as the reference does without unk. */
static int32_t byte_symbol(const wf_tokenizer *t, unsigned char b)
{
    if (t->byte_id[b] >= 0)
        return t->byte_id[b];
    if (t->fallback_id[b] >= 0)
        return t->fallback_id[b];
    return t->unk_id;
}

static int bpe_uncached(const wf_tokenizer *t, const unsigned char *s, size_t n, wf_token_ids *out)
{
    int32_t *ints = malloc(n * 3 * sizeof *ints);
    candidate *heap = malloc(n * 3 * sizeof *heap);
    if (!ints || !heap) {
        free(ints);
        free(heap);
        return -1;
    }
    word w = {ints, ints + n, ints + 2 * n, heap, 0};
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = byte_symbol(t, s[i]);
        if (id < 0)
            continue;
        w.id[m] = id;
        w.prev[m] = (int32_t)m - 1;
        w.next[m] = (int32_t)m + 1;
        m++;
    }
    if (m)
        w.next[m - 1] = -1;
    merge_all(t, &w, m);
    int rc = 0;
    for (int32_t i = m ? 0 : -1; i >= 0 && rc == 0; i = w.next[i])
        rc = wf_tok_ids_push(out, w.id[i]);
    free(ints);
    free(heap);
    return rc;
}

static int cache_get(wf_tokenizer *t, size_t slot, const unsigned char *s, size_t n,
                     wf_token_ids *out)
{
    int hit = 0, rc = 0;
    pthread_mutex_lock(&t->cache_lock);
    wf_tok_cached *c = &t->cache[slot];
    if (c->key && c->key_len == n && memcmp(c->key, s, n) == 0) {
        hit = 1;
        for (uint32_t i = 0; i < c->n_ids && rc == 0; i++)
            rc = wf_tok_ids_push(out, c->ids[i]);
    }
    pthread_mutex_unlock(&t->cache_lock);
    return rc < 0 ? rc : hit;
}

static void cache_put(wf_tokenizer *t, size_t slot, const unsigned char *s, size_t n,
                      const int32_t *ids, size_t n_ids)
{
    unsigned char *blob = malloc(n_ids * sizeof *ids + n);
    if (!blob)
        return; /* the cache is an optimisation; a failed insert is harmless */
    memcpy(blob, ids, n_ids * sizeof *ids);
    memcpy(blob + n_ids * sizeof *ids, s, n);
    pthread_mutex_lock(&t->cache_lock);
    wf_tok_cached *c = &t->cache[slot];
    free(c->ids);
    c->ids = (int32_t *)(void *)blob;
    c->key = blob + n_ids * sizeof *ids;
    c->key_len = (uint32_t)n;
    c->n_ids = (uint32_t)n_ids;
    pthread_mutex_unlock(&t->cache_lock);
}

int wf_tok_bpe_word(wf_tokenizer *t, const unsigned char *s, size_t n, wf_token_ids *out)
{
    int32_t whole = t->ignore_merges ? wf_tok_strmap_get(t, &t->vocab, s, n) : -1;
    if (whole >= 0)
        return wf_tok_ids_push(out, whole);
    if (n > WF_TOK_CACHE_MAX_WORD)
        return bpe_uncached(t, s, n, out);
    size_t slot = wf_tok_hash(s, n) & (WF_TOK_CACHE_SLOTS - 1);
    int hit = cache_get(t, slot, s, n, out);
    if (hit != 0)
        return hit < 0 ? hit : 0;
    size_t start = out->len;
    if (bpe_uncached(t, s, n, out) < 0)
        return -1;
    cache_put(t, slot, s, n, out->ids + start, out->len - start);
    return 0;
}
