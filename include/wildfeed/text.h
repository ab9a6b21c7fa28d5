/* Text utilities shared by the parser, filters, judges and models: UTF-8
 * validation and decoding, word and CJK counting, case folding. All functions
 * are pure and take (pointer, length) so they work on unterminated slices. */
#ifndef WILDFEED_TEXT_H
#define WILDFEED_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int wf_utf8_valid(const char *s, size_t n);

/* Decodes one code point at s (n bytes left); stores its length in *len.
 * Invalid bytes decode as U+FFFD with *len = 1. */
uint32_t wf_utf8_decode(const char *s, size_t n, size_t *len);

/* 1 for code points of CJK scripts written without spaces (Han, kana, Hangul
 * syllables are not included: Korean uses spaces). */
int wf_is_cjk(uint32_t cp);

typedef struct wf_text_stats {
    size_t words;     /* whitespace-separated runs that are not CJK characters */
    size_t cjk_chars; /* CJK code points (each counts as a word for limits) */
    size_t chars;     /* code points */
    size_t latin_letters;
} wf_text_stats;

void wf_text_stats_compute(const char *s, size_t n, wf_text_stats *out);

/* Like wf_text_stats_compute, but stops reading once words + cjk_chars
 * reaches max_units: thresholds need no exact count above them, and a long
 * text is then read only as far as its first units. The counts are lower
 * bounds when the scan stopped early. */
void wf_text_stats_upto(const char *s, size_t n, size_t max_units, wf_text_stats *out);

/* Writes a lower-cased copy of s into dst (ASCII and Latin-1/Latin Extended-A
 * letters folded; other bytes copied). dst must hold n + 1 bytes; the result
 * is NUL-terminated and has the same length. */
void wf_text_lower(const char *s, size_t n, char *dst);

#endif
