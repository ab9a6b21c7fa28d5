/* JSON strings and numbers: validated and decoded into the document's
 * string area. Chat logs are mostly long strings, so this is the hot loop. */
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ingest/json_lex.h"

/* Bytes copied verbatim inside a string: printable ASCII but '"' and '\\'. */
static int plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Copies plain bytes from p to *op; returns the first byte that is not
 * plain (or end). Sixteen at a time where it can: the string area has
 * slack for a store that runs past what is kept. */
static const unsigned char *copy_plain(const unsigned char *p, const unsigned char *end,
                                       unsigned char **op)
{
    unsigned char *o = *op;
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        _mm_storeu_si128((__m128i *)(void *)o, v);
        /* signed compare: bytes >= 0x80 are negative, so one test finds
         * both control characters and non-ASCII */
        __m128i special =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                         _mm_cmplt_epi8(v, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(special);
        if (mask) {
            unsigned k = (unsigned)__builtin_ctz(mask);
            *op = o + k;
            return p + k;
        }
        p += 16;
        o += 16;
    }
#endif
    while (p < end && plain(*p))
        *o++ = *p++;
    *op = o;
    return p;
}

size_t wf_jp_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80; /* overlong */
        hi = c == 0xED ? 0x9F : 0xBF; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80; /* overlong */
        hi = c == 0xF4 ? 0x8F : 0xBF; /* above U+10FFFF */
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

size_t wf_json_utf8_prefix(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t len = p[i] < 0x80 ? 1 : wf_jp_utf8_seq(p + i, n - i);
        if (!len)
            break;
        i += len;
    }
    return i;
}

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *out)
{
    if (end - p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        uint32_t d = c >= '0' && c <= '9'   ? (uint32_t)(c - '0')
                     : c >= 'a' && c <= 'f' ? (uint32_t)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10)
                                            : 16;
        if (d == 16)
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static unsigned char *put_utf8(unsigned char *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *o++ = (unsigned char)(0xC0 | cp >> 6);
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (unsigned char)(0xE0 | cp >> 12);
        *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (unsigned char)(0xF0 | cp >> 18);
        *o++ = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Past the closing quote of the string that starts at tok, or NULL when it
 * is not closed. */
static const unsigned char *string_end(const unsigned char *tok, const unsigned char *end)
{
    for (const unsigned char *p = tok + 1; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* A surrogate escape that is not a well-formed pair: the whole string is
 * quoted, as the record's reader would see it. */
static int bad_unicode(wf_jparser *j, const unsigned char *tok, uint32_t a, const uint32_t *b)
{
    const unsigned char *at = string_end(tok, j->end);
    if (!at)
        return wf_jp_fail(j, WF_JSON_SYNTAX, j->end, tok, "premature end of input");
    if (b)
        return wf_jp_fail(j, WF_JSON_SYNTAX, at, tok, "invalid Unicode '\\u%04X\\u%04X'",
                          (unsigned)a, (unsigned)*b);
    return wf_jp_fail(j, WF_JSON_SYNTAX, at, tok, "invalid Unicode '\\u%04X'", (unsigned)a);
}

/* *pp at "\\u": one code point, or a surrogate pair as one. */
static int bad_hex(wf_jparser *j, const unsigned char *tok, const unsigned char *esc)
{
    const unsigned char *at = j->end - esc > 6 ? esc + 6 : j->end;
    return wf_jp_fail(j, WF_JSON_SYNTAX, at, tok, "invalid \\u escape");
}

static int unicode_escape(wf_jparser *j, const unsigned char *tok, const unsigned char **pp,
                          uint32_t *cp)
{
    const unsigned char *p = *pp;
    if (hex4(p + 2, j->end, cp) < 0)
        return bad_hex(j, tok, p);
    p += 6;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF)
        return bad_unicode(j, tok, *cp, NULL);
    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
        uint32_t lo;
        if (j->end - p < 2 || p[0] != '\\' || p[1] != 'u')
            return bad_unicode(j, tok, *cp, NULL);
        if (hex4(p + 2, j->end, &lo) < 0)
            return bad_hex(j, tok, p);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return bad_unicode(j, tok, *cp, &lo);
        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
    }
    *pp = p;
    return 0;
}

/* *pp at a backslash. */
static int escape(wf_jparser *j, const unsigned char *tok, const unsigned char **pp,
                  unsigned char **op, int *has_nul)
{
    const unsigned char *p = *pp;
    if (j->end - p < 2)
        return wf_jp_fail(j, WF_JSON_SYNTAX, j->end, tok, "premature end of input");
    unsigned char c = p[1], out;
    switch (c) {
    case '"':
    case '\\':
    case '/': out = c; break;
    case 'b': out = '\b'; break;
    case 'f': out = '\f'; break;
    case 'n': out = '\n'; break;
    case 'r': out = '\r'; break;
    case 't': out = '\t'; break;
    case 'u': {
        uint32_t cp = 0; /* gcc -O3 cannot see unicode_escape set it */
        if (unicode_escape(j, tok, pp, &cp) < 0)
            return WF_EPARSE;
        *has_nul |= cp == 0;
        *op = put_utf8(*op, cp);
        return 0;
    }
    default: return wf_jp_fail(j, WF_JSON_SYNTAX, p + 2, tok, "invalid escape");
    }
    *(*op)++ = out;
    *pp = p + 2;
    return 0;
}

int wf_jp_string(wf_jparser *j, wf_jval *node, int *has_nul)
{
    const unsigned char *tok = j->p, *p = j->p + 1, *end = j->end;
    unsigned char *o0 = (unsigned char *)j->out, *o = o0;
    *has_nul = 0;
    for (;;) {
        p = copy_plain(p, end, &o);
        if (p == end)
            return wf_jp_fail(j, WF_JSON_SYNTAX, end, tok, "premature end of input");
        unsigned char c = *p;
        if (c == '"')
            break;
        if (c == '\\') {
            if (escape(j, tok, &p, &o, has_nul) < 0)
                return WF_EPARSE;
        } else if (c < 0x20) {
            return wf_jp_fail(j, WF_JSON_SYNTAX, p, tok, "control character 0x%02x in string", c);
        } else {
            size_t n = wf_jp_utf8_seq(p, (size_t)(end - p));
            if (!n)
                return wf_jp_fail(j, WF_JSON_UTF8, p, NULL, "invalid UTF-8");
            memcpy(o, p, n);
            o += n;
            p += n;
        }
    }
    *o = '\0';
    node->type = WF_JSON_STRING;
    node->n = (uint32_t)(o - o0);
    node->u.s = (const char *)o0;
    j->out = (char *)o + 1;
    j->p = p + 1;
    return 0;
}

static int digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* Digits from *pp into *mag; *big once the value no longer fits. */
static void digits(const unsigned char **pp, const unsigned char *end, uint64_t *mag, int *big)
{
    const unsigned char *p = *pp;
    for (; digit(p, end); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (*mag > (UINT64_MAX - d) / 10)
            *big = 1;
        else
            *mag = *mag * 10 + d;
    }
    *pp = p;
}

/* at is the byte that broke the grammar: the excerpt ends with it. */
static int bad_number(wf_jparser *j, const unsigned char *tok, const unsigned char *at)
{
    return wf_jp_fail(j, WF_JSON_SYNTAX, at + (at < j->end), tok, "invalid number");
}

int wf_jp_number(wf_jparser *j, wf_jval *node)
{
    const unsigned char *tok = j->p, *p = tok, *end = j->end;
    int neg = *p == '-', big = 0, real = 0;
    uint64_t mag = 0;
    p += neg;
    if (!digit(p, end))
        return bad_number(j, tok, p);
    if (*p == '0') {
        if (digit(++p, end))
            return bad_number(j, tok, p);
    } else {
        digits(&p, end, &mag, &big);
    }
    if (p < end && *p == '.') {
        if (!digit(++p, end))
            return bad_number(j, tok, p);
        while (digit(p, end))
            p++;
        real = 1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        p += p < end && (*p == '+' || *p == '-');
        if (!digit(p, end))
            return bad_number(j, tok, p);
        while (digit(p, end))
            p++;
        real = 1;
    }
    j->p = p;
    if (!real && !big && mag <= (uint64_t)INT64_MAX + neg) {
        node->type = WF_JSON_INT;
        node->n = 0;
        node->u.i = neg && mag ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
        return 0;
    }
    size_t n = (size_t)(p - tok);
    memcpy(j->out, tok, n);
    j->out[n] = '\0';
    node->type = WF_JSON_REAL;
    node->n = (uint32_t)n;
    node->u.s = j->out;
    j->out += n + 1;
    return 0;
}
