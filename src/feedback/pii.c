/* E-mail and phone number scanners; see pii.h for what they accept. */
#include "feedback/pii.h"

#include <string.h>

#define MAX_GROUPS 8

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}
static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_alnum(char c)
{
    return is_digit(c) || is_alpha(c);
}

/* strchr would also find the terminating NUL. */
static int in_set(char c, const char *set)
{
    return c && strchr(set, c);
}

static int is_local_char(char c)
{
    return is_alnum(c) || in_set(c, "._%+-");
}

/* Checks the domain after '@' at s[0..n): labels of letters, digits and '-'
 * joined by single dots, the last one alphabetic with 2+ letters. */
static int domain_ok(const char *s, size_t n)
{
    size_t labels = 0, label_len = 0, alpha_run = 0;
    int label_alpha = 1;
    for (size_t i = 0;; i++) {
        char c = i < n ? s[i] : '\0';
        if (is_alnum(c) || c == '-') {
            label_len++;
            label_alpha &= is_alpha(c);
            continue;
        }
        int next_is_label = c == '.' && i + 1 < n && is_alnum(s[i + 1]);
        if (label_len == 0)
            break;
        labels++;
        alpha_run = label_alpha ? label_len : 0;
        if (!next_is_label)
            break;
        label_len = 0;
        label_alpha = 1;
    }
    return labels >= 2 && alpha_run >= 2;
}

int wf_pii_has_email(const char *s, size_t n)
{
    for (const char *at = memchr(s, '@', n); at;
         at = memchr(at + 1, '@', n - (size_t)(at + 1 - s))) {
        const char *p = at;
        while (p > s && is_local_char(p[-1]))
            p--;
        while (p < at && *p == '.')
            p++; /* a local part does not start with a dot */
        if (p < at && domain_ok(at + 1, n - (size_t)(at + 1 - s)))
            return 1;
        if (at + 1 >= s + n)
            break;
    }
    return 0;
}

typedef struct run {
    int plus;
    size_t n_groups, digits;
    size_t len[MAX_GROUPS];
    const char *lead;       /* first digit of the first group */
    int dots, other_joints; /* joint kinds seen between groups */
    size_t end;             /* index just past the run */
} run;

/* Bytes before a number that make it part of something else: a decimal, a
 * version, a price, an identifier, a path or a time. */
static int starts_clean(const char *s, size_t i)
{
    if (i == 0)
        return 1;
    char c = s[i - 1];
    if (c == ':') /* "tel:555..." is a phone, "12:30" is a time */
        return i < 2 || !is_digit(s[i - 2]);
    return !is_alnum(c) && !in_set(c, "_.,/+-$#=&%");
}

static int ends_clean(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return 1;
    char c = s[i];
    if (is_alnum(c) || c == '_')
        return 0;
    return !(in_set(c, ".,-/:") && i + 1 < n && is_digit(s[i + 1]));
}

/* Reads one group at s[j]: digits, or digits in parentheses. Returns its
 * digit count (0 if none) and advances *j past it. */
static size_t read_group(const char *s, size_t n, size_t *j)
{
    size_t k = *j, open = k < n && s[k] == '(';
    k += open;
    size_t d = 0;
    while (k + d < n && is_digit(s[k + d]))
        d++;
    if (d == 0 || (open && (k + d >= n || s[k + d] != ')')))
        return 0;
    *j = k + d + open;
    return d;
}

/* Reads the joint after a group: one of ' ', '-', '.', optionally with a
 * space around a parenthesis. Returns its kind ('.' or ' ') or 0. */
static char read_joint(const char *s, size_t n, size_t *j)
{
    size_t k = *j;
    if (k < n && s[k - 1] == ')' && s[k] != ' ' && s[k] != '-')
        return ' '; /* "(555)123-4567" */
    if (k >= n || !in_set(s[k], " -."))
        return 0;
    char kind = s[k] == '.' ? '.' : ' ';
    k++;
    if (k < n && (is_digit(s[k]) || s[k] == '(')) {
        *j = k;
        return kind;
    }
    return 0;
}

static void scan_run(const char *s, size_t n, size_t i, run *r)
{
    memset(r, 0, sizeof *r);
    size_t j = i;
    if (s[j] == '+') {
        r->plus = 1;
        j++;
    }
    for (;;) {
        size_t at = j, d = read_group(s, n, &j);
        if (d == 0 || r->n_groups == MAX_GROUPS) {
            j = at;
            break;
        }
        if (r->n_groups == 0)
            r->lead = s + at + (s[at] == '(');
        r->len[r->n_groups++] = d;
        r->digits += d;
        size_t before = j;
        char joint = read_joint(s, n, &j);
        if (!joint || (j < n && !is_digit(s[j]) && s[j] != '(')) {
            j = before;
            break;
        }
        r->dots += joint == '.';
        r->other_joints += joint != '.';
    }
    r->end = j;
}

static int all_lengths(const run *r, size_t len)
{
    for (size_t g = 0; g < r->n_groups; g++)
        if (r->len[g] != len)
            return 0;
    return 1;
}

/* "1 000 000 000": digit grouping of one large number. */
static int thousands(const run *r)
{
    for (size_t g = 1; g < r->n_groups; g++)
        if (r->len[g] != 3)
            return 0;
    return 1;
}

/* Group shapes of formatted numbers without a country prefix. */
static int grouped_phone(const run *r)
{
    if (r->n_groups < 2 || r->len[0] > 4)
        return 0;
    for (size_t g = 1; g + 1 < r->n_groups; g++)
        if (r->len[g] < 2 || r->len[g] > 4)
            return 0;
    size_t last = r->len[r->n_groups - 1];
    if (last < 2 || last > 8)
        return 0;
    if (r->dots) /* only the North American 555.123.4567 */
        return !r->other_joints && r->n_groups == 3 && r->len[0] == 3 && r->len[1] == 3 &&
               last == 4;
    /* equal groups are lists of numbers or years, except French 0x xx xx xx xx */
    if (all_lengths(r, r->len[0]))
        return r->len[0] == 2 && r->lead[0] == '0';
    return !thousands(r);
}

static int chinese_mobile(const run *r)
{
    return r->n_groups == 1 && r->len[0] == 11 && r->lead[0] == '1' && r->lead[1] >= '3' &&
           r->lead[1] <= '9';
}

static int is_phone(const run *r)
{
    if (r->digits < 10 || r->digits > 15)
        return 0;
    return r->plus || chinese_mobile(r) || grouped_phone(r);
}

int wf_pii_has_phone(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int opener = (c == '+' || c == '(') && i + 1 < n && (is_digit(s[i + 1]) || s[i + 1] == '(');
        if (!(is_digit(c) || opener) || !starts_clean(s, i))
            continue;
        run r;
        scan_run(s, n, i, &r);
        if (r.n_groups && ends_clean(s, n, r.end) && is_phone(&r))
            return 1;
        if (r.end > i)
            i = r.end - 1; /* the rest of this run is no new start */
    }
    return 0;
}
