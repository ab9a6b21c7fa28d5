/* Cosine similarity of character n-gram count vectors.
 *
 * Each text is normalised to a code point sequence (lower-cased, whitespace
 * runs as one space, trimmed), its n-grams are hashed to 32 bits, and the
 * sorted hash lists are merged to get exact counts, so memory is two fixed
 * arrays on the stack whatever the text. Only the first SIM_MAX_CP code points
 * of each text are read: the gate compares short feedback messages, and their
 * topic shows in the opening. */
#include "feedback/similarity.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "wildfeed/text.h"

#define SIM_MAX_CP 2048
#define SIM_MAX_N 8

static int is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

/* Simple case folding for the alphabets with case that chat text uses most:
 * Latin (ASCII, Latin-1, Extended-A), Greek and Cyrillic. */
static uint32_t fold(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) ||
        (cp >= 0x410 && cp <= 0x42F))
        return cp + 32;
    if (cp >= 0x400 && cp <= 0x40F)
        return cp + 80;
    if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
        return cp | 1;
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
        return (cp & 1) ? cp + 1 : cp;
    return cp;
}

/* Writes the normalised code points of s to out; returns how many. */
static size_t normalise(const char *s, size_t n, uint32_t *out)
{
    size_t k = 0;
    int pending_space = 0;
    for (size_t i = 0; i < n && k < SIM_MAX_CP;) {
        size_t len;
        uint32_t cp = wf_utf8_decode(s + i, n - i, &len);
        i += len;
        if (is_space(cp)) {
            pending_space = k > 0;
            continue;
        }
        if (pending_space && k < SIM_MAX_CP - 1)
            out[k++] = ' ';
        pending_space = 0;
        out[k++] = fold(cp);
    }
    return k;
}

/* FNV-1a over the n-gram's code points: any fixed mixing will do here, the
 * values never leave the process. */
static uint32_t gram_hash(const uint32_t *cp, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cp[i];
        for (int b = 0; b < 3; b++) {
            h ^= (c >> (8 * b)) & 0xFF;
            h *= 16777619u;
        }
    }
    return h;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Replaces cps[0..n) by the sorted hashes of its n-grams, in place (the hash
 * of gram i only reads code points i.. that are still intact); a text shorter
 * than one n-gram is one gram of its own. Returns the number of grams. */
static size_t grams(uint32_t *cps, size_t n, int ngram)
{
    size_t g = (size_t)ngram;
    size_t count = n >= g ? n - g + 1 : 1;
    for (size_t i = 0; i < count; i++)
        cps[i] = gram_hash(cps + i, n >= g ? g : n);
    qsort(cps, count, sizeof *cps, cmp_u32);
    return count;
}

static double sum_squares(const uint32_t *h, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && h[j] == h[i])
            j++;
        s += (double)(j - i) * (double)(j - i);
        i = j;
    }
    return s;
}

static double dot(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    double d = 0;
    size_t i = 0, j = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) {
            i++;
            continue;
        }
        if (a[i] > b[j]) {
            j++;
            continue;
        }
        size_t ci = 0, cj = 0;
        uint32_t h = a[i];
        while (i < na && a[i] == h)
            i++, ci++;
        while (j < nb && b[j] == h)
            j++, cj++;
        d += (double)ci * (double)cj;
    }
    return d;
}

double wf_text_similarity(const char *a, size_t na, const char *b, size_t nb, int ngram)
{
    uint32_t va[SIM_MAX_CP], vb[SIM_MAX_CP];
    if (ngram < 1)
        ngram = 1;
    if (ngram > SIM_MAX_N)
        ngram = SIM_MAX_N;
    size_t ka = normalise(a, na, va), kb = normalise(b, nb, vb);
    if (ka == 0 || kb == 0)
        return 0.0;
    ka = grams(va, ka, ngram);
    kb = grams(vb, kb, ngram);
    double c = dot(va, ka, vb, kb) / sqrt(sum_squares(va, ka) * sum_squares(vb, kb));
    return c > 1.0 ? 1.0 : c;
}
