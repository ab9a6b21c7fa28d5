/* Preference sets (DESIGN §7): pairs of responses to one conversation, the
 * chosen one preferred by people. Two line formats: {"prompt","chosen",
 * "rejected"} with the responses alone, and HH-RLHF's {"chosen","rejected"}
 * whole transcripts, which repeat the shared conversation in both. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/reader.h"
#include "wildfeed/eval.h"

/* A pair lives in one allocation: the history array, then its strings. */
typedef struct pref_pair {
    void *block;
    const wf_msg *history;
    size_t n_history;
    const char *query, *chosen, *rejected;
} pref_pair;

struct wf_pref_set {
    pref_pair *pairs;
    size_t n, cap;
};

/* A span of the input: one turn of a transcript, or a whole field. */
typedef struct span {
    const char *role; /* "user" / "assistant"; static */
    const char *p;
    size_t len;
} span;

typedef struct turns {
    span *v;
    size_t n, cap;
} turns;

/* Longer lines are counted bad; the reader's buffer is this size. */
#define MAX_LINE (16u << 20)

wf_pref_set *wf_pref_new(void)
{
    return calloc(1, sizeof(wf_pref_set));
}

size_t wf_pref_count(const wf_pref_set *s)
{
    return s ? s->n : 0;
}

void wf_pref_free(wf_pref_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->pairs[i].block);
    free(s->pairs);
    free(s);
}

void wf_pref_get(const wf_pref_set *s, size_t i, wf_model_input *chosen, wf_model_input *rejected)
{
    const pref_pair *p = &s->pairs[i];
    *chosen = (wf_model_input){
        .history = p->history, .n_history = p->n_history, .query = p->query, .response = p->chosen};
    *rejected = *chosen;
    rejected->response = p->rejected;
}

static int turns_push(turns *t, const char *role, const char *p, size_t len)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        span *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return WF_ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = (span){role, p, len};
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static span trimmed(const char *role, const char *p, size_t len)
{
    while (len > 0 && is_space(*p))
        p++, len--;
    while (len > 0 && is_space(p[len - 1]))
        len--;
    return (span){role, p, len};
}

static const char HUMAN[] = "Human:", ASSISTANT[] = "Assistant:";

/* The role whose marker starts at s[i] (after "\n\n", or at the very start
 * of the transcript), with the marker's length; NULL when none does. */
static const char *marker_at(const char *s, size_t len, size_t i, size_t *mlen)
{
    size_t at = i;
    if (i > 0 || (len >= 2 && s[0] == '\n' && s[1] == '\n')) {
        if (i + 2 > len || s[i] != '\n' || s[i + 1] != '\n')
            return NULL;
        at = i + 2;
    }
    if (len - at >= sizeof HUMAN - 1 && memcmp(s + at, HUMAN, sizeof HUMAN - 1) == 0) {
        *mlen = at - i + sizeof HUMAN - 1;
        return "user";
    }
    if (len - at >= sizeof ASSISTANT - 1 && memcmp(s + at, ASSISTANT, sizeof ASSISTANT - 1) == 0) {
        *mlen = at - i + sizeof ASSISTANT - 1;
        return "assistant";
    }
    return NULL;
}

/* Splits "\n\nHuman: ...\n\nAssistant: ..." into trimmed turns. The text
 * must start with a marker. */
static int split_transcript(const char *s, size_t len, turns *out)
{
    out->n = 0;
    size_t mlen = 0;
    const char *role = marker_at(s, len, 0, &mlen);
    if (!role)
        return WF_EPARSE;
    size_t start = mlen;
    for (size_t i = start; i < len; i++) {
        size_t next_mlen;
        const char *next = s[i] == '\n' ? marker_at(s, len, i, &next_mlen) : NULL;
        if (!next)
            continue;
        span t = trimmed(role, s + start, i - start);
        if (turns_push(out, t.role, t.p, t.len) < 0)
            return WF_ENOMEM;
        role = next;
        start = i + next_mlen;
        i = start - 1;
    }
    span t = trimmed(role, s + start, len - start);
    return turns_push(out, t.role, t.p, t.len);
}

/* A transcript that ends with a human turn and then an assistant turn. */
static int ends_with_exchange(const turns *t)
{
    return t->n >= 2 && strcmp(t->v[t->n - 1].role, "assistant") == 0 &&
           strcmp(t->v[t->n - 2].role, "user") == 0;
}

static int same_span(const span *a, const span *b)
{
    return a->role == b->role && a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* Copies history, query and the two responses into one block. */
static int pair_build(pref_pair *pair, const span *hist, size_t n_hist, span query, span chosen,
                      span rejected)
{
    size_t bytes = n_hist * sizeof(wf_msg) + query.len + chosen.len + rejected.len + 3;
    for (size_t i = 0; i < n_hist; i++)
        bytes += hist[i].len + 1;
    char *block = malloc(bytes);
    if (!block)
        return WF_ENOMEM;
    wf_msg *msgs = (wf_msg *)(void *)block;
    char *w = block + n_hist * sizeof(wf_msg);
    for (size_t i = 0; i < n_hist; i++) {
        msgs[i] = (wf_msg){.role = hist[i].role, .content = w, .content_len = hist[i].len};
        memcpy(w, hist[i].p, hist[i].len);
        w += hist[i].len;
        *w++ = '\0';
    }
    const span *parts[3] = {&query, &chosen, &rejected};
    const char **dst[3] = {&pair->query, &pair->chosen, &pair->rejected};
    for (int k = 0; k < 3; k++) {
        *dst[k] = w;
        memcpy(w, parts[k]->p, parts[k]->len);
        w += parts[k]->len;
        *w++ = '\0';
    }
    pair->block = block;
    pair->history = msgs;
    pair->n_history = n_hist;
    return 0;
}

static int set_push(wf_pref_set *s, const pref_pair *p)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        pref_pair *v = realloc(s->pairs, cap * sizeof *v);
        if (!v)
            return WF_ENOMEM;
        s->pairs = v;
        s->cap = cap;
    }
    s->pairs[s->n++] = *p;
    return 0;
}

static int add_pair(wf_pref_set *s, const span *hist, size_t n_hist, span q, span c, span r,
                    wf_error *err)
{
    pref_pair p;
    if (pair_build(&p, hist, n_hist, q, c, r) < 0)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    if (set_push(s, &p) < 0) {
        free(p.block);
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    }
    return 0;
}

/* HH-RLHF: both transcripts must end with a human turn and an assistant
 * answer, and agree on everything before that answer. */
static int add_transcripts(wf_pref_set *s, json_t *chosen, json_t *rejected, wf_error *err)
{
    turns c = {0}, r = {0};
    int rc = split_transcript(json_string_value(chosen), json_string_length(chosen), &c);
    if (rc == 0)
        rc = split_transcript(json_string_value(rejected), json_string_length(rejected), &r);
    if (rc == WF_ENOMEM) {
        rc = wf_error_set(err, WF_ENOMEM, "out of memory");
    } else if (rc < 0 || !ends_with_exchange(&c) || !ends_with_exchange(&r)) {
        rc = wf_error_set(err, WF_EPARSE, "transcript does not end with Human then Assistant");
    } else if (c.n != r.n) {
        rc = wf_error_set(err, WF_EPARSE, "chosen and rejected differ before the last answer");
    } else {
        for (size_t i = 0; i + 1 < c.n && rc == 0; i++)
            if (!same_span(&c.v[i], &r.v[i]))
                rc = wf_error_set(err, WF_EPARSE,
                                  "chosen and rejected differ before the last answer");
        if (rc == 0)
            rc = add_pair(s, c.v, c.n - 2, c.v[c.n - 2], c.v[c.n - 1], r.v[r.n - 1], err);
    }
    free(c.v);
    free(r.v);
    return rc;
}

static span field_span(json_t *v)
{
    return (span){"", json_string_value(v), json_string_length(v)};
}

/* A prompt is plain text (the query), or an HH-RLHF transcript that ends
 * with a human turn and, usually, the empty "Assistant:" the responses
 * complete (the layout of HH-RLHF's prompt/chosen/rejected conversions). */
static int add_prompted(wf_pref_set *s, json_t *prompt, json_t *chosen, json_t *rejected,
                        wf_error *err)
{
    span c = trimmed("", json_string_value(chosen), json_string_length(chosen));
    span r = trimmed("", json_string_value(rejected), json_string_length(rejected));
    turns t = {0};
    int rc = split_transcript(json_string_value(prompt), json_string_length(prompt), &t);
    if (rc == WF_EPARSE) { /* no transcript: the prompt is the query */
        free(t.v);
        return add_pair(s, NULL, 0, field_span(prompt), field_span(chosen), field_span(rejected),
                        err);
    }
    if (rc == 0 && strcmp(t.v[t.n - 1].role, "assistant") == 0 && t.v[t.n - 1].len == 0)
        t.n--;
    if (rc == WF_ENOMEM)
        rc = wf_error_set(err, rc, "out of memory");
    else if (t.n == 0 || strcmp(t.v[t.n - 1].role, "user") != 0)
        rc = wf_error_set(err, WF_EPARSE, "prompt transcript does not end with Human");
    else
        rc = add_pair(s, t.v, t.n - 1, t.v[t.n - 1], c, r, err);
    free(t.v);
    return rc;
}

int wf_pref_add_line(wf_pref_set *s, const char *line, size_t len, wf_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(line, len, 0, &jerr);
    if (!doc)
        return wf_error_set(err, WF_EPARSE, "not JSON: %s", jerr.text);
    json_t *prompt = json_object_get(doc, "prompt");
    json_t *chosen = json_object_get(doc, "chosen");
    json_t *rejected = json_object_get(doc, "rejected");
    int rc;
    if (!json_is_string(chosen) || !json_is_string(rejected)) {
        rc = wf_error_set(err, WF_EPARSE, "\"chosen\" and \"rejected\" must be strings");
    } else if (prompt && !json_is_string(prompt)) {
        rc = wf_error_set(err, WF_EPARSE, "\"prompt\" must be a string");
    } else if (prompt) {
        rc = add_prompted(s, prompt, chosen, rejected, err);
    } else {
        rc = add_transcripts(s, chosen, rejected, err);
    }
    json_decref(doc);
    return rc;
}

static int load_lines(wf_line_reader *r, wf_pref_set *s, size_t *bad, wf_error *err)
{
    for (;;) {
        const char *line;
        size_t len;
        int got = wf_line_reader_next(r, &line, &len, err);
        if (got == WF_LINE_EOF)
            return 0;
        if (got < 0)
            return got;
        if (got == WF_LINE_TOO_LONG) {
            (*bad)++;
            continue;
        }
        wf_error lerr;
        int rc = wf_pref_add_line(s, line, len, &lerr);
        if (rc == WF_ENOMEM)
            return wf_error_set(err, rc, "%s", lerr.msg);
        if (rc < 0)
            (*bad)++;
    }
}

int wf_pref_load(const char *path, wf_pref_set **out, size_t *bad_lines, wf_error *err)
{
    size_t bad = 0;
    wf_error oerr;
    wf_line_reader *r = wf_line_reader_open(path, MAX_LINE, &oerr);
    if (!r) {
        if (err)
            *err = oerr;
        return oerr.code;
    }
    wf_pref_set *s = wf_pref_new();
    int rc = s ? load_lines(r, s, &bad, err) : wf_error_set(err, WF_ENOMEM, "out of memory");
    wf_line_reader_close(r);
    if (rc < 0) {
        wf_pref_free(s);
        return rc;
    }
    *out = s;
    if (bad_lines)
        *bad_lines = bad;
    return 0;
}
