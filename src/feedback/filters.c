/* Sample filters (DESIGN §1), checked in wf_drop_reason order.
 *
 * The five query phrase lists are merged into one table bucketed by first
 * byte, so a query is lower-cased once and scanned once for all of them.
 * Phrases match whole words where they begin or end with a letter or digit
 * ("draw me" does not fire on "draw meaningful"), with a plural 's' allowed
 * ("video" matches "videos"); CJK phrases match anywhere. */
#include "feedback/filters.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "feedback/language.h"
#include "feedback/pii.h"
#include "wildfeed/text.h"

enum { N_LISTS = 5 };

/* Phrase lists in drop-reason order. */
static const struct {
    const char *key;
    wf_drop_reason reason;
} phrase_lists[N_LISTS] = {
    {"filter.image_generation", WF_DROP_IMAGE_GENERATION},
    {"filter.web_search", WF_DROP_WEB_SEARCH},
    {"filter.identity", WF_DROP_IDENTITY},
    {"filter.uploaded_file", WF_DROP_UPLOADED_FILE},
    {"filter.audio_video", WF_DROP_AUDIO_VIDEO},
};

typedef struct phrase {
    const char *text; /* lower-cased, inside wf_filters.strings */
    size_t len;
    unsigned list;
} phrase;

struct wf_filters {
    char **languages; /* canonical names, lower-case */
    size_t n_languages;
    int64_t max_history, min_resp_words, min_resp_cjk, min_query_words, min_query_cjk;
    size_t resp_enough, query_enough; /* units past which a text is never too short */
    int64_t max_text_words;
    int drop_urls, drop_pii;
    phrase *phrases; /* sorted by first byte */
    size_t n_phrases;
    uint32_t bucket_start[257]; /* phrases starting with byte b: [start[b], start[b+1]) */
    char *strings;
};

/* ISO 639-1 codes (with any region suffix) to the names logs such as
 * WildChat use, so "en", "en-US" and "English" are one language. */
static const char *const iso_names[][2] = {
    {"en", "english"}, {"zh", "chinese"},    {"ja", "japanese"}, {"ko", "korean"},
    {"ru", "russian"}, {"ar", "arabic"},     {"fr", "french"},   {"de", "german"},
    {"es", "spanish"}, {"pt", "portuguese"}, {"it", "italian"},
};

/* Writes the canonical lower-case name of lang into out (size cap). */
static void canonical_language(const char *lang, char *out, size_t cap)
{
    size_t n = strlen(lang);
    if (n >= cap)
        n = cap - 1;
    if (strcspn(lang, "-_") == 2)
        for (size_t i = 0; i < sizeof iso_names / sizeof iso_names[0]; i++)
            if (strncasecmp(lang, iso_names[i][0], 2) == 0) {
                snprintf(out, cap, "%s", iso_names[i][1]);
                return;
            }
    wf_text_lower(lang, n, out);
}

static int language_kept(const wf_filters *f, const char *lang)
{
    if (f->n_languages == 0)
        return 1; /* an empty list keeps every language */
    char canon[64];
    canonical_language(lang, canon, sizeof canon);
    for (size_t i = 0; i < f->n_languages; i++)
        if (strcmp(f->languages[i], canon) == 0)
            return 1;
    return 0;
}

static int load_languages(wf_filters *f, const wf_config *cfg)
{
    size_t n = wf_config_list_len(cfg, "filter.languages");
    f->languages = calloc(n ? n : 1, sizeof *f->languages);
    if (!f->languages)
        return WF_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char canon[64];
        canonical_language(wf_config_list_at(cfg, "filter.languages", i), canon, sizeof canon);
        if (!(f->languages[i] = strdup(canon)))
            return WF_ENOMEM;
        f->n_languages++;
    }
    return 0;
}

static int cmp_phrase(const void *a, const void *b)
{
    const phrase *x = a, *y = b;
    return (unsigned char)x->text[0] - (unsigned char)y->text[0];
}

/* Copies every non-empty phrase of the five lists, lower-cased, into one
 * string block and indexes it by first byte. */
static int load_phrases(wf_filters *f, const wf_config *cfg)
{
    size_t count = 0, bytes = 0;
    for (unsigned l = 0; l < N_LISTS; l++)
        for (size_t i = 0; i < wf_config_list_len(cfg, phrase_lists[l].key); i++) {
            count++;
            bytes += strlen(wf_config_list_at(cfg, phrase_lists[l].key, i)) + 1;
        }
    f->phrases = calloc(count ? count : 1, sizeof *f->phrases);
    f->strings = malloc(bytes ? bytes : 1);
    if (!f->phrases || !f->strings)
        return WF_ENOMEM;
    char *dst = f->strings;
    for (unsigned l = 0; l < N_LISTS; l++)
        for (size_t i = 0; i < wf_config_list_len(cfg, phrase_lists[l].key); i++) {
            const char *p = wf_config_list_at(cfg, phrase_lists[l].key, i);
            size_t len = strlen(p);
            if (len == 0)
                continue;
            wf_text_lower(p, len, dst);
            f->phrases[f->n_phrases++] = (phrase){dst, len, l};
            dst += len + 1;
        }
    qsort(f->phrases, f->n_phrases, sizeof *f->phrases, cmp_phrase);
    size_t k = 0;
    for (unsigned b = 0; b < 256; b++) {
        f->bucket_start[b] = (uint32_t)k;
        while (k < f->n_phrases && (unsigned char)f->phrases[k].text[0] == b)
            k++;
    }
    f->bucket_start[256] = (uint32_t)k;
    return 0;
}

wf_filters *wf_filters_new(const wf_config *cfg, wf_error *err)
{
    wf_filters *f = calloc(1, sizeof *f);
    if (!f) {
        wf_error_set(err, WF_ENOMEM, "out of memory");
        return NULL;
    }
    f->max_history = wf_config_int(cfg, "filter.max_history_messages");
    f->min_resp_words = wf_config_int(cfg, "filter.min_response_words");
    f->min_resp_cjk = wf_config_int(cfg, "filter.min_response_cjk_chars");
    f->min_query_words = wf_config_int(cfg, "filter.min_query_words");
    f->min_query_cjk = wf_config_int(cfg, "filter.min_query_cjk_chars");
    f->max_text_words = wf_config_int(cfg, "filter.max_text_words");
    f->resp_enough =
        (size_t)(f->min_resp_words > f->min_resp_cjk ? f->min_resp_words : f->min_resp_cjk);
    f->query_enough =
        (size_t)(f->min_query_words > f->min_query_cjk ? f->min_query_words : f->min_query_cjk);
    f->drop_urls = wf_config_bool(cfg, "filter.drop_urls");
    f->drop_pii = wf_config_bool(cfg, "filter.drop_pii");
    if (load_languages(f, cfg) < 0 || load_phrases(f, cfg) < 0) {
        wf_filters_free(f);
        wf_error_set(err, WF_ENOMEM, "out of memory");
        return NULL;
    }
    return f;
}

void wf_filters_free(wf_filters *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_languages; i++)
        free(f->languages[i]);
    free(f->languages);
    free(f->phrases);
    free(f->strings);
    free(f);
}

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

static int phrase_fits(const phrase *p, const char *s, size_t n, size_t i)
{
    if (p->len > n - i || memcmp(s + i, p->text, p->len) != 0)
        return 0;
    if (is_word_byte((unsigned char)p->text[0]) && i > 0 && is_word_byte((unsigned char)s[i - 1]))
        return 0;
    size_t end = i + p->len;
    if (!is_word_byte((unsigned char)p->text[p->len - 1]) || end >= n ||
        !is_word_byte((unsigned char)s[end]))
        return 1;
    return s[end] == 's' && (end + 1 >= n || !is_word_byte((unsigned char)s[end + 1]));
}

/* Bit l set when the lower-cased query contains a phrase of list l. */
static unsigned phrase_hits(const wf_filters *f, const char *s, size_t n)
{
    unsigned hits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        for (uint32_t k = f->bucket_start[b]; k < f->bucket_start[b + 1]; k++)
            if (!(hits >> f->phrases[k].list & 1) && phrase_fits(&f->phrases[k], s, n, i))
                hits |= 1u << f->phrases[k].list;
    }
    return hits;
}

static int has_url(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 'h' && ((n - i >= 7 && memcmp(s + i, "http://", 7) == 0) ||
                            (n - i >= 8 && memcmp(s + i, "https://", 8) == 0)))
            return 1;
        if (s[i] == 'w' && n - i > 4 && memcmp(s + i, "www.", 4) == 0 &&
            is_word_byte((unsigned char)s[i + 4]) &&
            (i == 0 || !is_word_byte((unsigned char)s[i - 1])))
            return 1;
    }
    return 0;
}

static size_t units_of(const wf_text_stats *st)
{
    return st->words + st->cjk_chars;
}

/* Words plus CJK characters; a text mostly in CJK is held to the CJK
 * threshold, any other to the word threshold. */
static int too_short(const wf_text_stats *st, int64_t min_words, int64_t min_cjk)
{
    return (int64_t)units_of(st) < (st->cjk_chars > st->words ? min_cjk : min_words);
}

/* A unit (a word and its separator, or a 3-byte CJK character) takes at
 * least two bytes, so a text of few bytes needs no counting; otherwise the
 * count stops as soon as it passes the limit. */
static int text_too_long(const wf_filters *f, const wf_candidate *c, size_t n_query,
                         size_t n_response)
{
    size_t limit = (size_t)f->max_text_words;
    size_t bound = n_query / 2 + n_response / 2 + 2;
    for (size_t i = 0; i < c->n_history; i++)
        bound += c->history[i].content_len / 2 + 1;
    if (bound <= limit)
        return 0;
    const char *texts[2] = {c->query, c->response};
    size_t lens[2] = {n_query, n_response}, total = 0;
    for (size_t i = 0; i < c->n_history + 2 && total <= limit; i++) {
        wf_text_stats st;
        const char *s = i < 2 ? texts[i] : c->history[i - 2].content;
        size_t n = i < 2 ? lens[i] : c->history[i - 2].content_len;
        wf_text_stats_upto(s, n, limit - total + 1, &st);
        total += units_of(&st);
    }
    return total > limit;
}

/* The user's language is the query's; the response is read too (2 KiB in
 * all, what the detector reads anyway) only when the query alone says
 * nothing, as a greeting or a pasted snippet does. */
static const char *detect_language(const wf_candidate *c)
{
    enum { ROOM = 2047 }; /* plus the '\n' between them */
    size_t nq = strlen(c->query), nr = strlen(c->response);
    const char *lang = wf_language_detect(c->query, nq);
    if (strcmp(lang, "Other") != 0)
        return lang;
    char buf[ROOM + 1];
    size_t q = nq < ROOM / 2 ? nq : ROOM / 2;
    size_t r = nr < ROOM - q ? nr : ROOM - q;
    q = nq < ROOM - r ? nq : ROOM - r;
    memcpy(buf, c->query, q);
    buf[q] = '\n';
    memcpy(buf + q + 1, c->response, r);
    return wf_language_detect(buf, q + 1 + r);
}

static int query_reason(const wf_filters *f, const char *lower, size_t n)
{
    unsigned hits = phrase_hits(f, lower, n);
    for (unsigned l = 0; l < N_LISTS; l++) {
        /* URL sits between web search and identity in the enum */
        if (phrase_lists[l].reason == WF_DROP_IDENTITY && f->drop_urls && has_url(lower, n))
            return WF_DROP_URL;
        if (hits >> l & 1)
            return (int)phrase_lists[l].reason;
    }
    if (f->drop_pii && (wf_pii_has_email(lower, n) || wf_pii_has_phone(lower, n)))
        return WF_DROP_PII;
    return -1;
}

/* Lower-cases the query (on the stack when it fits) for the query checks. */
static int check_query(const wf_filters *f, const char *query)
{
    char small[4096];
    size_t n = strlen(query);
    char *lower = n < sizeof small ? small : malloc(n + 1);
    if (!lower) /* out of memory: match the query as written */
        return query_reason(f, query, n);
    wf_text_lower(query, n, lower);
    int r = query_reason(f, lower, n);
    if (lower != small)
        free(lower);
    return r;
}

int wf_filters_check(const wf_filters *f, const wf_candidate *c, int is_refusal,
                     const char **language)
{
    *language = c->language && *c->language ? c->language : detect_language(c);
    if (!language_kept(f, *language))
        return WF_DROP_LANGUAGE;
    int r = check_query(f, c->query);
    if (r >= 0)
        return r;
    if ((int64_t)c->n_history > f->max_history)
        return WF_DROP_HISTORY_TOO_LONG;
    /* Past the larger threshold a text is long enough under either rule. */
    wf_text_stats q, resp;
    size_t n_query = strlen(c->query), n_response = strlen(c->response);
    wf_text_stats_upto(c->response, n_response, f->resp_enough, &resp);
    if (!is_refusal && too_short(&resp, f->min_resp_words, f->min_resp_cjk))
        return WF_DROP_RESPONSE_TOO_SHORT;
    wf_text_stats_upto(c->query, n_query, f->query_enough, &q);
    if (too_short(&q, f->min_query_words, f->min_query_cjk))
        return WF_DROP_QUERY_TOO_SHORT;
    if (text_too_long(f, c, n_query, n_response))
        return WF_DROP_TEXT_TOO_LONG;
    return -1;
}
