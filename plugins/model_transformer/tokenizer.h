/* Byte-level BPE tokenizer read from a Hugging Face tokenizer.json (the
 * Qwen2/Qwen3 and Llama-3 families).
 *
 * Supported: model "BPE" (merges as "a b" strings or [a, b] arrays, unk
 * token, byte_fallback, ignore_merges), normalizer null or "NFC", pre_tokenizer ByteLevel
 * behind a Split whose regex is the Qwen2 (single-digit) or Llama-3
 * (1-3 digit) pattern, decoder ByteLevel, added tokens (special or not,
 * matched on the raw text, longest first; the text between them is
 * normalised and pre-tokenised on its own). Not supported (load fails with
 * WF_EINVAL): other models, normalizers and pre-tokenizer patterns,
 * add_prefix_space. The lstrip/rstrip/single_word/normalized flags of added
 * tokens are ignored.
 *
 * Known divergences from Hugging Face's implementation: letters, numbers and
 * NFC use Unicode 14.0 data (Python's unicodedata), so characters assigned
 * later are neither letters nor numbers here; the contractions match ASCII
 * case only (not U+017F, which folds to s). \s is Unicode White_Space as in the
 * reference regex engine (a JavaScript port differs on U+0085 and U+FEFF).
 *
 * A loaded tokenizer is read-only apart from its merge cache, which is
 * guarded by a mutex, so encode may be called from several threads. */
#ifndef WF_MODEL_TRANSFORMER_TOKENIZER_H
#define WF_MODEL_TRANSFORMER_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wildfeed/err.h"
#include "wildfeed/strbuf.h"

typedef struct wf_tokenizer wf_tokenizer;

/* A growable id array owned by its user; wf_token_ids_free releases it. */
typedef struct wf_token_ids {
    int32_t *ids;
    size_t len;
    size_t cap;
} wf_token_ids;

void wf_token_ids_free(wf_token_ids *ids);

/* Loads path (tokenizer.json). The pad id comes from its "padding" block, or
 * else from "pad_token" in a tokenizer_config.json beside it, or is -1.
 * On success *out is owned by the caller (wf_tokenizer_free). */
int wf_tokenizer_load(const char *path, wf_tokenizer **out, wf_error *err);

void wf_tokenizer_free(wf_tokenizer *tok);

/* Appends the ids of text[0..len) to out; no special tokens are added.
 * Any bytes are accepted: invalid UTF-8 passes through byte by byte. */
int wf_tokenizer_encode(wf_tokenizer *tok, const char *text, size_t len, wf_token_ids *out,
                        wf_error *err);

/* Appends the bytes of ids to out (added tokens as their content). An id
 * outside the vocabulary is WF_EINVAL. */
int wf_tokenizer_decode(const wf_tokenizer *tok, const int32_t *ids, size_t n, wf_strbuf *out,
                        wf_error *err);

/* Id of a token as spelled in tokenizer.json (byte-level alphabet, e.g.
 * "\xc4\xa0the" for " the"), or of an added token; -1 if absent. */
int32_t wf_tokenizer_token_to_id(const wf_tokenizer *tok, const char *token, size_t len);

/* One more than the largest id of the vocabulary and added tokens. */
size_t wf_tokenizer_vocab_size(const wf_tokenizer *tok);

/* The configured padding id, or -1 when none is configured. */
int32_t wf_tokenizer_pad_id(const wf_tokenizer *tok);

/* The `wildfeed tokenize` loop: each line of in is one JSON string; writes
 * one JSON array of its ids per line to out. A line that is not a JSON
 * string is WF_EPARSE, naming the line number. */
int wf_tokenizer_encode_lines(wf_tokenizer *tok, FILE *in, FILE *out, wf_error *err);

#endif
