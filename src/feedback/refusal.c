/* Refusal markers in short replies.
 *
 * Markers and replies go through the same normalisation before matching:
 * lower case, typographic apostrophes (’ ‘ ʼ ＇) as ', and whitespace runs as
 * one space, so "I can’t" and "I  CAN'T" both meet the marker "i can't". Each
 * marker is matched as a substring, so "sorry" also fires inside "i'm sorry,". */
#include "feedback/refusal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/text.h"

struct wf_refusal_detector {
    int64_t max_chars;
    char **markers; /* normalised */
    size_t n_markers;
};

static int is_apostrophe(uint32_t cp)
{
    return cp == 0x2019 || cp == 0x2018 || cp == 0x02BC || cp == 0xFF07;
}

static int is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0xA0 || cp == 0x3000 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F;
}

/* Writes the normalised form of lower-cased s[0..n) to out (n + 1 bytes
 * suffice: every replacement is shorter than what it replaces); returns its
 * length. */
static size_t normalise(const char *s, size_t n, char *out)
{
    size_t k = 0;
    int space = 0;
    for (size_t i = 0; i < n;) {
        size_t len;
        uint32_t cp = (unsigned char)s[i] < 0x80 ? (len = 1, (unsigned char)s[i])
                                                 : wf_utf8_decode(s + i, n - i, &len);
        if (is_space(cp)) {
            space = 1;
            i += len;
            continue;
        }
        if (space && k > 0)
            out[k++] = ' ';
        space = 0;
        if (is_apostrophe(cp)) {
            out[k++] = '\'';
        } else {
            memmove(out + k, s + i, len);
            k += len;
        }
        i += len;
    }
    out[k] = '\0';
    return k;
}

/* Lower-cases then normalises; returns a malloc'd string or NULL. */
static char *normalised_copy(const char *s, size_t n)
{
    char *lower = malloc(n + 1);
    if (!lower)
        return NULL;
    wf_text_lower(s, n, lower);
    normalise(lower, n, lower); /* in place: output never overtakes input */
    return lower;
}

wf_refusal_detector *wf_refusal_detector_new(const wf_config *cfg, wf_error *err)
{
    wf_refusal_detector *d = calloc(1, sizeof *d);
    size_t n = wf_config_list_len(cfg, "refusal.markers");
    if (d)
        d->markers = calloc(n ? n : 1, sizeof *d->markers);
    if (!d || !d->markers)
        goto oom;
    d->max_chars = wf_config_int(cfg, "refusal.max_chars");
    for (size_t i = 0; i < n; i++) {
        const char *m = wf_config_list_at(cfg, "refusal.markers", i);
        char *norm = normalised_copy(m, strlen(m));
        if (!norm)
            goto oom;
        if (!*norm) {
            free(norm); /* an empty marker would match every reply */
            continue;
        }
        d->markers[d->n_markers++] = norm;
    }
    return d;
oom:
    wf_refusal_detector_free(d);
    wf_error_set(err, WF_ENOMEM, "out of memory");
    return NULL;
}

void wf_refusal_detector_free(wf_refusal_detector *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_markers; i++)
        free(d->markers[i]);
    free(d->markers);
    free(d);
}

/* 1 when s[0..n) has fewer than limit code points (a limit of 0 turns
 * detection off). */
static int shorter_than(const char *s, size_t n, int64_t limit)
{
    int64_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80 && ++count >= limit)
            return 0;
    return count < limit;
}

int wf_refusal_detect(const wf_refusal_detector *d, const char *response, size_t n)
{
    if (!shorter_than(response, n, d->max_chars))
        return 0;
    char small[2048];
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf)
        return 0;
    wf_text_lower(response, n, buf);
    normalise(buf, n, buf);
    int found = 0;
    for (size_t i = 0; i < d->n_markers && !found; i++)
        found = strstr(buf, d->markers[i]) != NULL;
    if (buf != small)
        free(buf);
    return found;
}
