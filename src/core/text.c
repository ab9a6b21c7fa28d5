#include "wildfeed/text.h"

#include <string.h>

#define HIGH_BITS 0x8080808080808080ull

/* Length of the UTF-8 sequence at s (n > 0 bytes left) when it is well formed,
 * else 0. The second-byte ranges exclude overlongs (E0 80..9F, F0 80..8F),
 * surrogates (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF). */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

int wf_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* Most log text is ASCII: test eight bytes at once. */
        if (n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if ((w & HIGH_BITS) == 0) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = seq_len(p + i, n - i);
        if (len == 0)
            return 0;
        i += len;
    }
    return 1;
}

/* n == 0 yields U+FFFD with *len = 0: there is nothing to consume. */
uint32_t wf_utf8_decode(const char *s, size_t n, size_t *len)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n == 0) {
        *len = 0;
        return 0xFFFD;
    }
    size_t l = seq_len(p, n);
    *len = l ? l : 1;
    switch (l) {
    case 1: return p[0];
    case 2: return (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
    case 3: return (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    case 4:
        return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
               (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
    default: return 0xFFFD;
    }
}

/* Han ideographs (with the ideographic iteration marks and numerals) and
 * kana letters. Punctuation of these scripts (U+3000-303F marks, the katakana
 * middle dot, fullwidth forms) is deliberately left out: it is not a word. */
int wf_is_cjk(uint32_t cp)
{
    if (cp < 0x3005)
        return 0;
    return (cp >= 0x4E00 && cp <= 0x9FFF) ||   /* CJK Unified Ideographs */
           (cp >= 0x3400 && cp <= 0x4DBF) ||   /* Extension A */
           (cp >= 0x20000 && cp <= 0x3FFFF) || /* planes 2-3: Extensions B-H, compat. supplement */
           (cp >= 0xF900 && cp <= 0xFAFF) ||   /* Compatibility Ideographs */
           (cp >= 0x3041 && cp <= 0x309F) ||   /* Hiragana */
           (cp >= 0x30A1 && cp <= 0x30FF && cp != 0x30FB) || /* Katakana without the middle dot */
           (cp >= 0x31F0 && cp <= 0x31FF) ||                 /* Katakana phonetic extensions */
           (cp >= 0xFF66 && cp <= 0xFF9F) ||                 /* halfwidth katakana */
           cp <= 0x3007 ||                   /* 々 〆 〇, the lowest CJK code points */
           (cp >= 0x3021 && cp <= 0x3029) || /* Hangzhou numerals */
           (cp >= 0x3038 && cp <= 0x303B);
}

/* The non-ASCII separators of Python's str.split(), which the reference
 * filters rely on (ASCII goes through ascii_class). */
static int is_space(uint32_t cp)
{
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Non-ASCII punctuation that does not make a run of text a word on its own
 * ("，", "。", "—"): CJK marks, fullwidth and general punctuation. */
static int is_punct(uint32_t cp)
{
    return (cp >= 0x3000 && cp <= 0x303F && !wf_is_cjk(cp)) || cp == 0x30FB ||
           (cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
           (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) ||
           (cp >= 0x2010 && cp <= 0x2027) ||
           (cp >= 0xA1 && cp <= 0xBF && cp != 0xAA && cp != 0xB5 && cp != 0xBA);
}

/* Letters of Latin-1, Latin Extended-A/B and Latin Extended Additional. */
static int is_latin_letter(uint32_t cp)
{
    return (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) ||
           (cp >= 0x1E00 && cp <= 0x1EFF);
}

/* Classes of ASCII bytes for the stats fast path: s(pace), p(unctuation),
 * l(etter), o(ther: digits and controls, which make a word). One row per 32. */
static const char ascii_class[129] = "ooooooooosssssoooooooooooooossss"
                                     "spppppppppppppppoooooooooopppppp"
                                     "pllllllllllllllllllllllllllppppp"
                                     "pllllllllllllllllllllllllllppppo";

typedef struct run_state {
    int in_run, has_word_char;
} run_state;

static void end_run(wf_text_stats *out, run_state *r)
{
    out->words += r->in_run && r->has_word_char;
    r->in_run = r->has_word_char = 0;
}

/* Words are maximal runs of code points that are neither whitespace nor CJK
 * (a CJK character ends a run and is counted on its own); a run made only of
 * punctuation is not a word. */
void wf_text_stats_compute(const char *s, size_t n, wf_text_stats *out)
{
    wf_text_stats_upto(s, n, SIZE_MAX, out);
}

void wf_text_stats_upto(const char *s, size_t n, size_t max_units, wf_text_stats *out)
{
    memset(out, 0, sizeof *out);
    run_state r = {0, 0};
    for (size_t i = 0; i < n && out->words + out->cjk_chars < max_units;) {
        unsigned char c = (unsigned char)s[i];
        out->chars++;
        if (c < 0x80) {
            char k = ascii_class[c];
            i++;
            if (k == 's') {
                end_run(out, &r);
                continue;
            }
            out->latin_letters += k == 'l';
            r.in_run = 1;
            r.has_word_char |= k != 'p';
            continue;
        }
        size_t len;
        uint32_t cp = wf_utf8_decode(s + i, n - i, &len);
        i += len;
        int cjk = wf_is_cjk(cp);
        out->cjk_chars += cjk;
        out->latin_letters += is_latin_letter(cp);
        if (cjk || is_space(cp)) {
            end_run(out, &r);
            continue;
        }
        r.in_run = 1;
        r.has_word_char |= !is_punct(cp);
    }
    end_run(out, &r);
}

/* Lower-case of a two-byte code point (U+0080..U+07FF) when folding keeps it
 * two bytes; otherwise cp itself. U+0130 (İ) would need "i" plus a combining
 * dot, so it is left as is. */
static uint32_t lower_2byte(uint32_t cp)
{
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
        return cp + 0x20;
    if (cp >= 0x100 && cp <= 0x137 && cp != 0x130)
        return cp | 1;
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
        return (cp & 1) ? cp + 1 : cp;
    if (cp >= 0x14A && cp <= 0x177)
        return cp | 1;
    if (cp == 0x178)
        return 0xFF;
    return cp;
}

void wf_text_lower(const char *s, size_t n, char *dst)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            dst[i++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            continue;
        }
        size_t len;
        uint32_t cp = wf_utf8_decode(s + i, n - i, &len);
        if (len == 2 && cp <= 0x17F) {
            uint32_t lc = lower_2byte(cp);
            dst[i] = (char)(0xC0 | lc >> 6);
            dst[i + 1] = (char)(0x80 | (lc & 0x3F));
        } else {
            memcpy(dst + i, s + i, len);
        }
        i += len;
    }
    dst[n] = '\0';
}
