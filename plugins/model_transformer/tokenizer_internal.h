/* The tokenizer's private state, shared by its translation units. */
#ifndef WF_MODEL_TRANSFORMER_TOKENIZER_INTERNAL_H
#define WF_MODEL_TRANSFORMER_TOKENIZER_INTERNAL_H

#include <pthread.h>

#include "model_transformer/tokenizer.h"
#include "model_transformer/tokenizer_unicode.h"

/* Open-addressing map from byte strings (in the tokenizer's arena) to ids. */
typedef struct wf_tok_strmap {
    uint32_t *slots; /* entry index + 1; 0 = empty */
    size_t mask;
    uint32_t *off, *len; /* per entry: bytes in the arena */
    int32_t *id;
    size_t count;
} wf_tok_strmap;

/* Map from an adjacent id pair to its merge rank and the merged id. */
typedef struct wf_tok_merges {
    uint64_t *keys; /* (left << 32 | right) + 1; 0 = empty */
    uint32_t *rank;
    int32_t *merged;
    size_t mask;
    size_t count;
} wf_tok_merges;

typedef struct wf_tok_added {
    uint32_t off, len; /* content bytes in the arena */
    int32_t id;
} wf_tok_added;

/* One cached word: its bytes, then its ids (direct-mapped, replaced on
 * collision, so the cache is bounded by its slot count). */
typedef struct wf_tok_cached {
    uint32_t key_len, n_ids;
    unsigned char *key;
    int32_t *ids;
} wf_tok_cached;

#define WF_TOK_CACHE_SLOTS 16384
#define WF_TOK_CACHE_MAX_WORD 64

/* Ids at or above this are refused: they would size the id tables. */
#define WF_TOK_MAX_ID (1 << 24)

struct wf_tokenizer {
    unsigned char *arena;
    size_t arena_len, arena_cap;
    wf_tok_strmap vocab;
    wf_tok_merges merges;
    uint32_t *id_off, *id_len; /* per id: bytes to decode; len UINT32_MAX = unused id */
    size_t vocab_size;
    int32_t byte_id[256];     /* id of the one-byte token, or -1 */
    int32_t fallback_id[256]; /* id of "<0xXX>" when byte_fallback, or -1 */
    int32_t unk_id;
    int ignore_merges;   /* a pre-token found whole in the vocabulary skips BPE */
    wf_tok_added *added; /* longest first */
    size_t n_added;
    uint8_t added_first[256]; /* 1 when some added token starts with the byte */
    int nfc;
    int max_digits; /* digits per pre-token: 1 (Qwen2) or 3 (Llama-3) */
    int32_t pad_id;
    pthread_mutex_t cache_lock;
    wf_tok_cached *cache; /* WF_TOK_CACHE_SLOTS */
};

uint64_t wf_tok_hash(const unsigned char *s, size_t n);

/* Copies bytes into the arena; returns their offset or -1 (OOM/too big). */
int64_t wf_tok_arena_add(wf_tokenizer *t, const void *s, size_t n);

int wf_tok_strmap_put(wf_tokenizer *t, wf_tok_strmap *m, uint32_t off, uint32_t len, int32_t id);
int32_t wf_tok_strmap_get(const wf_tokenizer *t, const wf_tok_strmap *m, const void *s, size_t n);
void wf_tok_strmap_free(wf_tok_strmap *m);

int wf_tok_merges_init(wf_tok_merges *m, size_t expected);
/* Keeps the first rank given for a pair, as the reference does. */
int wf_tok_merges_put(wf_tok_merges *m, int32_t left, int32_t right, uint32_t rank, int32_t merged);
/* 1 and the pair's rank and merged id, or 0 when the pair does not merge. */
int wf_tok_merges_get(const wf_tok_merges *m, int32_t left, int32_t right, uint32_t *rank,
                      int32_t *merged);
void wf_tok_merges_free(wf_tok_merges *m);

/* Converts a token spelled in the byte-level alphabet to its bytes in out
 * (room for n bytes); code points outside the alphabet stay UTF-8. */
size_t wf_tok_unbyte(const char *s, size_t n, unsigned char *out);

/* Splits cp[0..n) into pre-tokens with the Qwen2/Llama-3 regex. */
typedef int (*wf_tok_word_fn)(void *ctx, size_t start, size_t end);
int wf_tok_pretokenize(const uint32_t *cp, size_t n, int max_digits, wf_tok_word_fn fn, void *ctx);

/* Appends the BPE ids of one pre-token's bytes to out. */
int wf_tok_bpe_word(wf_tokenizer *t, const unsigned char *w, size_t n, wf_token_ids *out);

int wf_tok_ids_push(wf_token_ids *ids, int32_t id);

/* Fills t from a parsed tokenizer.json (jansson's json_t). */
struct json_t;
int wf_tok_load_json(wf_tokenizer *t, const struct json_t *root, wf_error *err);

#endif
