/* Unicode support for the tokenizer: the category tests its pre-tokenizer
 * regex needs, UTF-8 coding that keeps invalid bytes, and NFC. */
#ifndef WF_MODEL_TRANSFORMER_TOKENIZER_UNICODE_H
#define WF_MODEL_TRANSFORMER_TOKENIZER_UNICODE_H

#include <stddef.h>
#include <stdint.h>

typedef struct wf_tok_range {
    uint32_t lo, hi;
} wf_tok_range;

typedef struct wf_tok_class_range {
    uint32_t lo, hi;
    uint8_t ccc;
} wf_tok_class_range;

typedef struct wf_tok_decomp {
    uint32_t cp;
    uint16_t offset, len;
} wf_tok_decomp;

typedef struct wf_tok_compose {
    uint32_t first, second, composed;
} wf_tok_compose;

/* Generated tables (tokenizer_unicode_tables.c), sorted by code point. */
extern const wf_tok_range wf_tok_letters[], wf_tok_numbers[], wf_tok_nfc_maybe[];
extern const size_t wf_tok_letters_count, wf_tok_numbers_count, wf_tok_nfc_maybe_count;
extern const wf_tok_class_range wf_tok_ccc[];
extern const size_t wf_tok_ccc_count;
extern const uint32_t wf_tok_decomp_pool[];
extern const wf_tok_decomp wf_tok_decomps[];
extern const size_t wf_tok_decomps_count;
extern const wf_tok_compose wf_tok_compositions[];
extern const size_t wf_tok_compositions_count;

/* An invalid UTF-8 byte b is carried as the pseudo code point RAW_BASE + b:
 * no category, class 0, never composed, written back as the byte itself. */
#define WF_TOK_RAW_BASE 0x110000u

/* A code point array owned by its user (free cp). */
typedef struct wf_tok_cps {
    uint32_t *cp;
    size_t len, cap;
} wf_tok_cps;

int wf_tok_is_letter(uint32_t cp);
int wf_tok_is_number(uint32_t cp);
/* Unicode White_Space, which is what \s means in the reference regex. */
int wf_tok_is_space(uint32_t cp);

/* Replaces out's contents with the code points of s[0..n); 0 or -1 (OOM). */
int wf_tok_utf8_decode(const char *s, size_t n, wf_tok_cps *out);
/* Writes cp as UTF-8 (or its raw byte) to dst (room for 4); returns length. */
size_t wf_tok_utf8_put(uint32_t cp, unsigned char *dst);

/* Puts cps into NFC in place, using scratch; 0 or -1 (OOM). */
int wf_tok_nfc(wf_tok_cps *cps, wf_tok_cps *scratch);

#endif
