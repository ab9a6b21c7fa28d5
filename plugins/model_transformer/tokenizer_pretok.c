/* The pre-tokenizer regex of Qwen2/Qwen3 and Llama-3, as a hand-written
 * scanner. At each position the first alternative that matches wins:
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,D}
 *   | ' '?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
 * Every code point matches some alternative, so the words tile the text. */
#include "model_transformer/tokenizer_internal.h"

static int is_crlf(uint32_t c)
{
    return c == '\r' || c == '\n';
}

static int is_other(uint32_t c)
{
    return !wf_tok_is_space(c) && !wf_tok_is_letter(c) && !wf_tok_is_number(c);
}

static uint32_t ascii_lower(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static size_t contraction(const uint32_t *cp, size_t n, size_t i)
{
    if (cp[i] != '\'' || i + 1 >= n)
        return 0;
    uint32_t a = ascii_lower(cp[i + 1]);
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if (i + 2 >= n)
        return 0;
    uint32_t b = ascii_lower(cp[i + 2]);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

static size_t letters(const uint32_t *cp, size_t n, size_t i)
{
    size_t j = i;
    if (!wf_tok_is_letter(cp[j])) {
        if (is_crlf(cp[j]) || wf_tok_is_number(cp[j]) || j + 1 >= n || !wf_tok_is_letter(cp[j + 1]))
            return 0;
        j++;
    }
    while (j < n && wf_tok_is_letter(cp[j]))
        j++;
    return j - i;
}

static size_t digits(const uint32_t *cp, size_t n, size_t i, int max)
{
    size_t j = i;
    while (j < n && j - i < (size_t)max && wf_tok_is_number(cp[j]))
        j++;
    return j - i;
}

static size_t punctuation(const uint32_t *cp, size_t n, size_t i)
{
    size_t j = cp[i] == ' ' ? i + 1 : i;
    if (j >= n || !is_other(cp[j]))
        return 0;
    while (j < n && is_other(cp[j]))
        j++;
    while (j < n && is_crlf(cp[j]))
        j++;
    return j - i;
}

/* The three whitespace alternatives; cp[i] is whitespace. */
static size_t spaces(const uint32_t *cp, size_t n, size_t i)
{
    size_t end = i, last_crlf = SIZE_MAX;
    while (end < n && wf_tok_is_space(cp[end])) {
        if (is_crlf(cp[end]))
            last_crlf = end;
        end++;
    }
    if (last_crlf != SIZE_MAX)
        return last_crlf + 1 - i;
    if (end == n || end - i == 1)
        return end - i;
    return end - 1 - i; /* leave the last space to prefix the next word */
}

static size_t match_at(const uint32_t *cp, size_t n, size_t i, int max_digits)
{
    size_t len;
    if ((len = contraction(cp, n, i)) || (len = letters(cp, n, i)) ||
        (len = digits(cp, n, i, max_digits)) || (len = punctuation(cp, n, i)))
        return len;
    return spaces(cp, n, i);
}

int wf_tok_pretokenize(const uint32_t *cp, size_t n, int max_digits, wf_tok_word_fn fn, void *ctx)
{
    for (size_t i = 0; i < n;) {
        size_t len = match_at(cp, n, i, max_digits);
        int rc = fn(ctx, i, i + len);
        if (rc < 0)
            return rc;
        i += len;
    }
    return 0;
}
