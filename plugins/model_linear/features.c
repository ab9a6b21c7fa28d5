/* One pass per text: words are hashed byte by byte as they are read (FNV-1a),
 * and a token's index is a finalising mix of its hash with its namespace, so
 * no word is ever copied or looked up. */
#include "model_linear/features.h"

#include <math.h>
#include <string.h>

#include "wildfeed/text.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define CHUNK 256

enum { NS_QUERY = 1, NS_RESPONSE = 2 };
enum { TOK_UNI = 0x51, TOK_BI = 0xB2 };

enum dense {
    D_QUERY_LEN,
    D_RESPONSE_LEN,
    D_LEN_RATIO,
    D_CODE,
    D_REFUSAL,
    D_RESPONSE_QMARKS,
    D_QUERY_QMARKS,
    D_RESPONSE_LINES
};

/* Per-text state: the current word's hash, the previous token's, counts. */
typedef struct scan {
    wf_lin_sink *sink;
    int bits;
    uint64_t ns;
    uint32_t buf[CHUNK];
    size_t fill, emitted;
    uint64_t word, prev;
    int in_word, have_prev;
    size_t tokens, qmarks, lines, backticks;
    int code;
} scan;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static void emit(scan *s, uint64_t h)
{
    s->buf[s->fill++] = (uint32_t)(h >> (64 - s->bits));
    s->emitted++;
    if (s->fill == CHUNK) {
        s->sink->chunk(s->sink, s->buf, s->fill);
        s->fill = 0;
    }
}

/* A token ends: its unigram, and the bigram with the token before it. */
static void token(scan *s, uint64_t h)
{
    emit(s, mix(h ^ (s->ns << 56) ^ TOK_UNI));
    if (s->have_prev)
        emit(s, mix(s->prev * 0x9e3779b97f4a7c15ull + h + (s->ns << 56) + TOK_BI));
    s->prev = h;
    s->have_prev = 1;
    s->tokens++;
}

static void end_word(scan *s)
{
    if (s->in_word)
        token(s, s->word);
    s->in_word = 0;
    s->word = FNV_OFFSET;
}

static void word_byte(scan *s, unsigned char c)
{
    s->word = (s->word ^ c) * FNV_PRIME;
    s->in_word = 1;
}

/* Word bytes of ASCII, folded to lower case; 0 for separators. */
static const unsigned char *ascii_word_table(void)
{
    static const unsigned char t[128] = {
        ['0'] = '0',  ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5', ['6'] = '6',
        ['7'] = '7',  ['8'] = '8', ['9'] = '9', ['_'] = '_', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c',
        ['d'] = 'd',  ['e'] = 'e', ['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j',
        ['k'] = 'k',  ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o', ['p'] = 'p', ['q'] = 'q',
        ['r'] = 'r',  ['s'] = 's', ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x',
        ['y'] = 'y',  ['z'] = 'z', ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
        ['F'] = 'f',  ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l',
        ['M'] = 'm',  ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's',
        ['T'] = 't',  ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y', ['Z'] = 'z',
        ['\''] = '\''};
    return t;
}

static void ascii_other(scan *s, unsigned char c)
{
    end_word(s);
    s->qmarks += c == '?';
    s->lines += c == '\n';
    s->backticks = c == '`' ? s->backticks + 1 : 0;
    if (s->backticks == 3)
        s->code = 1;
}

/* Separators outside ASCII: spaces and punctuation blocks. */
static int is_separator(uint32_t cp)
{
    return cp == 0xa0 || (cp >= 0x2000 && cp <= 0x206f) || (cp >= 0x3000 && cp <= 0x303f) ||
           (cp >= 0xff00 && cp <= 0xff0f) || (cp >= 0xff1a && cp <= 0xff20) || cp == 0xfffd;
}

static void non_ascii(scan *s, const char *p, size_t len, uint32_t cp)
{
    if (wf_is_cjk(cp)) {
        end_word(s);
        uint64_t h = FNV_OFFSET;
        for (size_t i = 0; i < len; i++)
            h = (h ^ (unsigned char)p[i]) * FNV_PRIME;
        token(s, h);
    } else if (is_separator(cp)) {
        end_word(s);
        s->qmarks += cp == 0xff1f;
    } else if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7) {
        /* Latin-1 capitals fold onto their small letters (+0x20). */
        word_byte(s, 0xc3);
        word_byte(s, (unsigned char)(0x80 | ((cp + 0x20) & 0x3f)));
    } else {
        for (size_t i = 0; i < len; i++)
            word_byte(s, (unsigned char)p[i]);
    }
}

static void scan_text(scan *s, uint64_t ns, const char *text, size_t n)
{
    const unsigned char *t = ascii_word_table();
    s->ns = ns;
    s->fill = s->emitted = 0;
    s->in_word = s->have_prev = 0;
    s->word = FNV_OFFSET;
    s->tokens = s->qmarks = s->lines = s->backticks = 0;
    s->code = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x80 && t[c]) {
            /* The common case, a run of ASCII word bytes, in registers. */
            uint64_t h = s->word;
            do
                h = (h ^ t[c]) * FNV_PRIME;
            while (++i < n && (c = (unsigned char)text[i]) < 0x80 && t[c]);
            s->word = h;
            s->in_word = 1;
            continue;
        }
        if (c < 0x80) {
            ascii_other(s, c);
            i++;
            continue;
        }
        size_t len;
        uint32_t cp = wf_utf8_decode(text + i, n - i, &len);
        non_ascii(s, text + i, len, cp);
        i += len;
    }
    end_word(s);
    if (s->fill)
        s->sink->chunk(s->sink, s->buf, s->fill);
    s->sink->end_ns(s->sink, s->emitted);
}

/* Refusal markers of short replies (DESIGN §1); long replies rarely refuse. */
static int refuses(const char *r, size_t n)
{
    static const char *const markers[] = {"i cannot",
                                          "i can't",
                                          "i can\xe2\x80\x99t",
                                          "i'm unable",
                                          "i am unable",
                                          "as an ai",
                                          "sorry, but",
                                          "i'm sorry",
                                          "i won't",
                                          "\xe6\x88\x91\xe6\x97\xa0\xe6\xb3\x95",
                                          "\xe6\x8a\xb1\xe6\xad\x89"};
    char low[600];
    if (n >= sizeof low)
        return 0;
    wf_text_lower(r, n, low);
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++)
        if (memmem(low, n, markers[i], strlen(markers[i])))
            return 1;
    return 0;
}

static float clampf(double x, double lo, double hi)
{
    return (float)(x < lo ? lo : x > hi ? hi : x);
}

void wf_lin_extract(int hash_bits, const char *query, size_t qlen, const char *response,
                    size_t rlen, wf_lin_sink *sink)
{
    scan s = {.sink = sink, .bits = hash_bits};
    uint32_t base = (uint32_t)1 << hash_bits;
    scan_text(&s, NS_QUERY, query, qlen);
    size_t q_tokens = s.tokens, q_qmarks = s.qmarks;
    scan_text(&s, NS_RESPONSE, response, rlen);
    float v[WF_LIN_DENSE];
    v[D_QUERY_LEN] = (float)(log1p((double)q_tokens) / 5.0);
    v[D_RESPONSE_LEN] = (float)(log1p((double)s.tokens) / 5.0);
    v[D_LEN_RATIO] = clampf(log((s.tokens + 1.0) / (q_tokens + 1.0)) / 3.0, -2.0, 2.0);
    v[D_CODE] = (float)s.code;
    v[D_REFUSAL] = (float)refuses(response, rlen);
    v[D_RESPONSE_QMARKS] = clampf(s.qmarks / 5.0, 0.0, 1.0);
    v[D_QUERY_QMARKS] = clampf(q_qmarks / 5.0, 0.0, 1.0);
    v[D_RESPONSE_LINES] = (float)(log1p((double)s.lines) / 4.0);
    for (uint32_t j = 0; j < WF_LIN_DENSE; j++)
        sink->dense(sink, base + j, v[j]);
}
