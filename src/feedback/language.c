/* Language guess from scripts and English function words.
 *
 * Scripts are weighed per letter, with one Han or kana character worth three
 * Latin letters and a Hangul syllable worth two, roughly what each carries
 * (an English word is about five letters, a Chinese word one or two
 * characters), so a Chinese question with a few English identifiers stays
 * Chinese and an English one quoting a Chinese word stays English. */
#include "feedback/language.h"

#include <stdint.h>
#include <string.h>

#include "wildfeed/text.h"

#define SCAN_BYTES 2048
#define WORD_MAX 16

enum script { SC_HAN, SC_KANA, SC_HANGUL, SC_CYRILLIC, SC_ARABIC, SC_LATIN, SC_NONE };

static enum script script_of(uint32_t cp)
{
    if (cp < 0x80)
        return ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') ? SC_LATIN : SC_NONE;
    if ((cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) || (cp >= 0x1E00 && cp <= 0x1EFF))
        return SC_LATIN;
    if (cp >= 0x400 && cp <= 0x52F)
        return SC_CYRILLIC;
    if ((cp >= 0x600 && cp <= 0x6FF) || (cp >= 0x750 && cp <= 0x77F) ||
        (cp >= 0xFB50 && cp <= 0xFDFF) || (cp >= 0xFE70 && cp <= 0xFEFF))
        return SC_ARABIC;
    if ((cp >= 0x3041 && cp <= 0x309F) || (cp >= 0x30A1 && cp <= 0x30FA) ||
        (cp >= 0x31F0 && cp <= 0x31FF) || (cp >= 0xFF66 && cp <= 0xFF9F))
        return SC_KANA;
    if ((cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0x1100 && cp <= 0x11FF) ||
        (cp >= 0x3131 && cp <= 0x318E))
        return SC_HANGUL;
    if (wf_is_cjk(cp))
        return SC_HAN; /* kana were taken above */
    return SC_NONE;
}

/* Frequent English function words and chat words, sorted, leaving out those that
 * are as frequent in other Latin-script languages ("a", "in", "no", "me",
 * "was", "on", "do", ...). English prose is a third or more of them, code
 * with English comments around a tenth, other languages a few percent. */
static const char *const english_words[] = {
    "about", "after", "all",   "and",    "any",   "are",  "be",     "but",   "can",    "could",
    "did",   "does",  "for",   "from",   "give",  "has",  "have",   "hello", "his",    "how",
    "i",     "if",    "into",  "is",     "it",    "its",  "just",   "more",  "my",     "not",
    "of",    "ok",    "one",   "only",   "or",    "our",  "please", "she",   "should", "some",
    "tell",  "than",  "thank", "thanks", "that",  "the",  "their",  "them",  "then",   "there",
    "these", "they",  "this",  "to",     "we",    "were", "what",   "when",  "where",  "which",
    "who",   "why",   "with",  "would",  "write", "yes",  "you",    "your",
};

/* Binary search: the table above is sorted. */
static int is_english_word(const char *w, size_t n)
{
    size_t lo = 0, hi = sizeof english_words / sizeof english_words[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strncmp(w, english_words[mid], n);
        if (c == 0)
            c = english_words[mid][n] == '\0' ? 0 : -1;
        if (c == 0)
            return 1;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

typedef struct tally {
    size_t letters[SC_NONE];
    size_t latin_words, english_hits;
    char word[WORD_MAX];
    size_t word_len; /* ASCII letters of the current Latin word; > WORD_MAX: too long */
    int word_open;
} tally;

static void end_word(tally *t)
{
    if (!t->word_open)
        return;
    t->latin_words++;
    if (t->word_len <= WORD_MAX && is_english_word(t->word, t->word_len))
        t->english_hits++;
    t->word_open = 0;
    t->word_len = 0;
}

static void add_latin(tally *t, uint32_t cp)
{
    t->word_open = 1;
    if (cp < 0x80 && t->word_len < WORD_MAX)
        t->word[t->word_len] = (char)(cp | 0x20);
    /* non-ASCII letters never spell an English function word */
    t->word_len += cp < 0x80 ? 1 : WORD_MAX + 1;
}

static const char *verdict(const tally *t)
{
    size_t cjk = 3 * (t->letters[SC_HAN] + t->letters[SC_KANA]);
    size_t scores[SC_NONE] = {
        [SC_HAN] = cjk,
        [SC_HANGUL] = 2 * t->letters[SC_HANGUL],
        [SC_CYRILLIC] = t->letters[SC_CYRILLIC],
        [SC_ARABIC] = t->letters[SC_ARABIC],
        [SC_LATIN] = t->letters[SC_LATIN],
    };
    enum script best = SC_NONE;
    size_t top = 0;
    for (int s = 0; s < SC_NONE; s++)
        if (scores[s] > top) {
            top = scores[s];
            best = (enum script)s;
        }
    switch (best) {
    case SC_HAN:
        /* Japanese writes its grammar in kana; Chinese has none. */
        return 10 * t->letters[SC_KANA] >= t->letters[SC_HAN] + t->letters[SC_KANA] ? "Japanese"
                                                                                    : "Chinese";
    case SC_HANGUL: return "Korean";
    case SC_CYRILLIC: return "Russian";
    case SC_ARABIC: return "Arabic";
    case SC_LATIN:
        return t->english_hits > 0 && 10 * t->english_hits >= t->latin_words ? "English" : "Other";
    default: return "Other";
    }
}

const char *wf_language_detect(const char *s, size_t n)
{
    tally t;
    memset(&t, 0, sizeof t);
    if (n > SCAN_BYTES)
        n = SCAN_BYTES;
    for (size_t i = 0; i < n;) {
        size_t len;
        uint32_t cp = wf_utf8_decode(s + i, n - i, &len);
        i += len;
        enum script sc = script_of(cp);
        if (sc == SC_LATIN) {
            add_latin(&t, cp);
        } else if (cp != '\'' && cp != 0x2019) { /* "don't" is one word */
            end_word(&t);
        }
        if (sc != SC_NONE)
            t.letters[sc]++;
    }
    end_word(&t);
    return verdict(&t);
}
