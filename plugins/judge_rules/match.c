/* Lexicon look-up: binary search for the group of phrases that share the
 * text's first character (first two bytes for English), then a short linear
 * pass over that group. */
#include "rules_internal.h"

size_t wf_rules_char_len(unsigned char c)
{
    if (c >= 0xF0 && c < 0xF8)
        return 4;
    if (c >= 0xE0)
        return c < 0xF0 ? 3 : 1;
    if (c >= 0xC0)
        return 2;
    return 1;
}

/* Orders a lexicon entry's first cl bytes against key. The
 * loops are inline: phrases are short and a library call per step costs
 * more than the comparison. */
static int cmp_first(const wf_rules_cue *e, const unsigned char *key, size_t cl)
{
    const unsigned char *t = (const unsigned char *)e->text;
    for (size_t i = 0; i < cl; i++) {
        if (i >= e->len)
            return -1;
        if (t[i] != key[i])
            return t[i] < key[i] ? -1 : 1;
    }
    return 0;
}

static int same_bytes(const char *a, const unsigned char *b, size_t from, size_t len)
{
    for (size_t i = from; i < len; i++)
        if ((unsigned char)a[i] != b[i])
            return 0;
    return 1;
}

static int ends_on_boundary(const wf_rules_cue *e, const char *s, size_t n, size_t end)
{
    unsigned char last = (unsigned char)e->text[e->len - 1];
    if (!wf_rules_is_word(last))
        return 1;
    return end == n || !wf_rules_is_word((unsigned char)s[end]);
}

static void insert_by_length(const wf_rules_cue **out, size_t count, const wf_rules_cue *e)
{
    size_t i = count;
    while (i > 0 && out[i - 1]->len < e->len) {
        out[i] = out[i - 1];
        i--;
    }
    out[i] = e;
}

size_t wf_rules_lexicon_match(const char *s, size_t n, size_t pos, const wf_rules_cue **out,
                              size_t max)
{
    size_t total;
    const unsigned char *key = (const unsigned char *)s + pos;
    const wf_rules_cue *lex =
        *key < 0x80 ? wf_rules_lexicon_en(&total) : wf_rules_lexicon_intl(&total);
    size_t cl = wf_rules_char_len(*key);
    if (cl > n - pos)
        return 0;
    /* English phrases have two bytes at least, and the table is in byte
     * order, so two bytes narrow the search to a handful of phrases. */
    if (cl == 1 && n - pos >= 2)
        cl = 2;
    size_t lo = 0, hi = total;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_first(&lex[mid], key, cl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t count = 0;
    for (size_t i = lo; i < total && count < max && cmp_first(&lex[i], key, cl) == 0; i++) {
        const wf_rules_cue *e = &lex[i];
        if (e->len > n - pos || !same_bytes(e->text, key, cl, e->len))
            continue;
        if (ends_on_boundary(e, s, n, pos + e->len))
            insert_by_length(out, count++, e);
    }
    return count;
}
