/* Category lookups, lossless UTF-8 coding and NFC for the tokenizer. */
#include <stdlib.h>

#include "model_transformer/tokenizer_unicode.h"

#define HANGUL_S 0xAC00u
#define HANGUL_L 0x1100u
#define HANGUL_V 0x1161u
#define HANGUL_T 0x11A7u
#define HANGUL_LCOUNT 19u
#define HANGUL_VCOUNT 21u
#define HANGUL_TCOUNT 28u
#define HANGUL_NCOUNT (HANGUL_VCOUNT * HANGUL_TCOUNT)
#define HANGUL_SCOUNT (HANGUL_LCOUNT * HANGUL_NCOUNT)

static int in_ranges(const wf_tok_range *r, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int wf_tok_is_letter(uint32_t cp)
{
    if (cp < 0x80)
        return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    return in_ranges(wf_tok_letters, wf_tok_letters_count, cp);
}

int wf_tok_is_number(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= '0' && cp <= '9';
    return in_ranges(wf_tok_numbers, wf_tok_numbers_count, cp);
}

int wf_tok_is_space(uint32_t cp)
{
    if (cp < 0x80)
        return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static int reserve(wf_tok_cps *c, size_t need)
{
    if (need <= c->cap)
        return 0;
    size_t cap = c->cap ? c->cap : 64;
    while (cap < need)
        cap *= 2;
    uint32_t *p = realloc(c->cp, cap * sizeof *p);
    if (!p)
        return -1;
    c->cp = p;
    c->cap = cap;
    return 0;
}

/* Length of the valid UTF-8 sequence at s (0 if invalid), its value in *cp. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char b = s[0];
    size_t len;
    uint32_t v, min;
    if (b >= 0xF0 && b <= 0xF4)
        len = 4, v = b & 0x07, min = 0x10000;
    else if (b >= 0xE0 && b < 0xF0)
        len = 3, v = b & 0x0F, min = 0x800;
    else if (b >= 0xC2 && b < 0xE0)
        len = 2, v = b & 0x1F, min = 0x80;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

int wf_tok_utf8_decode(const char *s, size_t n, wf_tok_cps *out)
{
    out->len = 0;
    if (reserve(out, n) < 0)
        return -1;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp = u[i];
        size_t len = 1;
        if (cp >= 0x80) {
            len = utf8_seq(u + i, n - i, &cp);
            if (len == 0) {
                cp = WF_TOK_RAW_BASE + u[i];
                len = 1;
            }
        }
        out->cp[out->len++] = cp;
        i += len;
    }
    return 0;
}

size_t wf_tok_utf8_put(uint32_t cp, unsigned char *d)
{
    if (cp < 0x80) {
        d[0] = (unsigned char)cp;
        return 1;
    }
    if (cp >= WF_TOK_RAW_BASE) {
        d[0] = (unsigned char)(cp - WF_TOK_RAW_BASE);
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (unsigned char)(0xC0 | (cp >> 6));
        d[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (unsigned char)(0xE0 | (cp >> 12));
        d[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (unsigned char)(0xF0 | (cp >> 18));
    d[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

static uint8_t ccc_of(uint32_t cp)
{
    size_t lo = 0, hi = wf_tok_ccc_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < wf_tok_ccc[mid].lo)
            hi = mid;
        else if (cp > wf_tok_ccc[mid].hi)
            lo = mid + 1;
        else
            return wf_tok_ccc[mid].ccc;
    }
    return 0;
}

static const wf_tok_decomp *decomp_of(uint32_t cp)
{
    size_t lo = 0, hi = wf_tok_decomps_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < wf_tok_decomps[mid].cp)
            hi = mid;
        else if (cp > wf_tok_decomps[mid].cp)
            lo = mid + 1;
        else
            return &wf_tok_decomps[mid];
    }
    return NULL;
}

/* The primary composite of a and b, or 0. */
static uint32_t compose(uint32_t a, uint32_t b)
{
    if (a >= HANGUL_L && a < HANGUL_L + HANGUL_LCOUNT && b >= HANGUL_V &&
        b < HANGUL_V + HANGUL_VCOUNT)
        return HANGUL_S + ((a - HANGUL_L) * HANGUL_VCOUNT + (b - HANGUL_V)) * HANGUL_TCOUNT;
    if (a >= HANGUL_S && a < HANGUL_S + HANGUL_SCOUNT && (a - HANGUL_S) % HANGUL_TCOUNT == 0 &&
        b > HANGUL_T && b < HANGUL_T + HANGUL_TCOUNT)
        return a + (b - HANGUL_T);
    size_t lo = 0, hi = wf_tok_compositions_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const wf_tok_compose *c = &wf_tok_compositions[mid];
        if (a < c->first || (a == c->first && b < c->second))
            hi = mid;
        else if (a > c->first || b > c->second)
            lo = mid + 1;
        else
            return c->composed;
    }
    return 0;
}

static int decompose(const wf_tok_cps *in, wf_tok_cps *out)
{
    out->len = 0;
    for (size_t i = 0; i < in->len; i++) {
        uint32_t cp = in->cp[i];
        if (reserve(out, out->len + 4) < 0)
            return -1;
        const wf_tok_decomp *d;
        if (cp >= HANGUL_S && cp < HANGUL_S + HANGUL_SCOUNT) {
            uint32_t s = cp - HANGUL_S;
            out->cp[out->len++] = HANGUL_L + s / HANGUL_NCOUNT;
            out->cp[out->len++] = HANGUL_V + (s % HANGUL_NCOUNT) / HANGUL_TCOUNT;
            if (s % HANGUL_TCOUNT)
                out->cp[out->len++] = HANGUL_T + s % HANGUL_TCOUNT;
        } else if ((d = decomp_of(cp)) != NULL) {
            if (reserve(out, out->len + d->len) < 0)
                return -1;
            for (size_t k = 0; k < d->len; k++)
                out->cp[out->len++] = wf_tok_decomp_pool[d->offset + k];
        } else {
            out->cp[out->len++] = cp;
        }
    }
    return 0;
}

/* Stable insertion sort of each run of non-starters by combining class. */
static void canonical_order(wf_tok_cps *c)
{
    for (size_t i = 1; i < c->len; i++) {
        uint32_t cp = c->cp[i];
        uint8_t cc = ccc_of(cp);
        if (cc == 0)
            continue;
        size_t j = i;
        while (j > 0) {
            uint8_t prev = ccc_of(c->cp[j - 1]);
            if (prev == 0 || prev <= cc)
                break;
            c->cp[j] = c->cp[j - 1];
            j--;
        }
        c->cp[j] = cp;
    }
}

/* Canonical composition of in into out (which has room for in->len). */
static void recompose(const wf_tok_cps *in, wf_tok_cps *out)
{
    size_t w = 0, starter = SIZE_MAX;
    uint8_t last_cc = 0;
    for (size_t i = 0; i < in->len; i++) {
        uint32_t cp = in->cp[i];
        uint8_t cc = ccc_of(cp);
        if (starter != SIZE_MAX) {
            int blocked = w - 1 != starter && (last_cc == 0 || last_cc >= cc);
            uint32_t comp = blocked ? 0 : compose(out->cp[starter], cp);
            if (comp) {
                out->cp[starter] = comp;
                continue;
            }
        }
        if (cc == 0)
            starter = w;
        last_cc = cc;
        out->cp[w++] = cp;
    }
    out->len = w;
}

int wf_tok_nfc(wf_tok_cps *cps, wf_tok_cps *scratch)
{
    size_t i = 0;
    while (i < cps->len &&
           (cps->cp[i] < 0x300 || !in_ranges(wf_tok_nfc_maybe, wf_tok_nfc_maybe_count, cps->cp[i])))
        i++;
    if (i == cps->len)
        return 0;
    if (decompose(cps, scratch) < 0 || reserve(cps, scratch->len) < 0)
        return -1;
    canonical_order(scratch);
    recompose(scratch, cps);
    return 0;
}
