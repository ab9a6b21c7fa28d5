/* Verdict cache: a bounded LRU keyed by a 64-bit hash of the judged texts.
 * Entries live in one array, linked by index into a recency list and into
 * hash chains, so nothing is allocated after creation. Only the judge's
 * worker thread uses it. */
#include <stdlib.h>
#include <string.h>

#include "llm_internal.h"

#define NIL ((size_t)-1)

typedef struct entry {
    uint64_t key;
    size_t prev, next; /* recency list, most recent at head */
    size_t chain;      /* next in the bucket */
    wf_verdict v;
} entry;

struct wf_llm_cache {
    entry *e;
    size_t cap, used;
    size_t *buckets;
    size_t nbuckets; /* power of two */
    size_t head, tail;
};

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001B3ull;
    }
    return h;
}

/* Each text is hashed with its length so ("ab","c") and ("a","bc") differ. */
static uint64_t hash_text(uint64_t h, const char *s)
{
    uint64_t n = s ? strlen(s) : 0;
    h = fnv1a(h, &n, sizeof n);
    return fnv1a(h, s ? s : "", n);
}

uint64_t wf_llm_cache_key(const wf_judge_request *req)
{
    uint64_t h = 0xCBF29CE484222325ull;
    uint32_t task = (uint32_t)req->task;
    h = fnv1a(h, &task, sizeof task);
    h = hash_text(h, req->query);
    h = hash_text(h, req->response);
    return hash_text(h, req->task == WF_TASK_FEEDBACK ? req->feedback : NULL);
}

wf_llm_cache *wf_llm_cache_new(size_t entries, int *oom)
{
    *oom = 0;
    if (entries == 0)
        return NULL;
    wf_llm_cache *c = calloc(1, sizeof *c);
    size_t nb = 1;
    while (nb < entries)
        nb <<= 1;
    if (c) {
        c->e = calloc(entries, sizeof *c->e);
        c->buckets = malloc(nb * sizeof *c->buckets);
    }
    if (!c || !c->e || !c->buckets) {
        wf_llm_cache_free(c);
        *oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < nb; i++)
        c->buckets[i] = NIL;
    c->cap = entries;
    c->nbuckets = nb;
    c->head = c->tail = NIL;
    return c;
}

void wf_llm_cache_free(wf_llm_cache *c)
{
    if (!c)
        return;
    free(c->e);
    free(c->buckets);
    free(c);
}

static void list_unlink(wf_llm_cache *c, size_t i)
{
    entry *x = &c->e[i];
    if (x->prev != NIL)
        c->e[x->prev].next = x->next;
    else
        c->head = x->next;
    if (x->next != NIL)
        c->e[x->next].prev = x->prev;
    else
        c->tail = x->prev;
}

static void list_push_head(wf_llm_cache *c, size_t i)
{
    c->e[i].prev = NIL;
    c->e[i].next = c->head;
    if (c->head != NIL)
        c->e[c->head].prev = i;
    c->head = i;
    if (c->tail == NIL)
        c->tail = i;
}

static size_t find(const wf_llm_cache *c, uint64_t key)
{
    size_t i = c->buckets[key & (c->nbuckets - 1)];
    while (i != NIL && c->e[i].key != key)
        i = c->e[i].chain;
    return i;
}

static void chain_remove(wf_llm_cache *c, size_t i)
{
    size_t *link = &c->buckets[c->e[i].key & (c->nbuckets - 1)];
    while (*link != i)
        link = &c->e[*link].chain;
    *link = c->e[i].chain;
}

int wf_llm_cache_get(wf_llm_cache *c, uint64_t key, wf_verdict *v)
{
    if (!c)
        return 0;
    size_t i = find(c, key);
    if (i == NIL)
        return 0;
    list_unlink(c, i);
    list_push_head(c, i);
    uint64_t tag = v->tag;
    *v = c->e[i].v;
    v->tag = tag;
    return 1;
}

void wf_llm_cache_put(wf_llm_cache *c, uint64_t key, const wf_verdict *v)
{
    if (!c)
        return;
    size_t i = find(c, key);
    if (i != NIL) {
        list_unlink(c, i);
    } else if (c->used < c->cap) {
        i = c->used++;
    } else {
        i = c->tail;
        list_unlink(c, i);
        chain_remove(c, i);
    }
    if (find(c, key) == NIL) {
        c->e[i].key = key;
        size_t *b = &c->buckets[key & (c->nbuckets - 1)];
        c->e[i].chain = *b;
        *b = i;
    }
    c->e[i].v = *v;
    list_push_head(c, i);
}

size_t wf_llm_cache_size(const wf_llm_cache *c)
{
    return c ? c->used : 0;
}
