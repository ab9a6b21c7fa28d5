/* Model inputs to token ids for the transformer backend: rendering with the
 * default WildReward template, tokenization, and truncation that keeps the
 * template text and the response whole. */
#include <stdlib.h>
#include <string.h>

#include "model_linear/features.h"
#include "models/tf_backend.h"

/* Section headers of the default template (shared/formats/
 * wildreward-input.md) around the parts a truncation may cut. */
static const char history_head[] = "## Context (History)\n";
static const char query_head[] = "\n\n## User Query\n";
static const char response_head[] = "\n\n## Assistant Response\n";
static const char output_head[] = "\n\n# Output\n";

#define LEN(s) (sizeof(s) - 1)

/* Byte offsets of the parts in a rendered text: history [h0, h1), query
 * [q0, q1), response [r0, r1); the rest is template text. */
typedef struct spans {
    size_t h0, h1, q0, q1, r0, r1;
} spans;

static const char *find_last(const char *s, size_t n, const char *what, size_t wn)
{
    const char *last = NULL;
    for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), what, wn)) != NULL; p++)
        last = p;
    return last;
}

/* The history starts after the first history header (the template's own,
 * as it comes first), or is empty when there is none. */
static void history_start(const char *t, spans *s)
{
    const char *h = memmem(t, s->h1, history_head, LEN(history_head));
    s->h0 = h ? (size_t)(h - t) + LEN(history_head) : s->h1;
}

/* Rendered from parts, the lengths of query and response are known, so
 * headers quoted inside the history or the query cannot mislead: counted
 * back from the template's last "# Output" header. */
/* The history's start, then a check that, whatever the text, the pieces
 * are in order and inside it: -1 when they are not. */
static int finish_spans(const char *t, size_t n, spans *s)
{
    history_start(t, s);
    int ordered = s->h0 <= s->h1 && s->h1 <= s->q0 && s->q0 <= s->q1 && s->q1 <= s->r0 &&
                  s->r0 <= s->r1 && s->r1 <= n;
    return ordered ? 0 : -1;
}

static int spans_of_parts(const char *t, size_t n, size_t qlen, size_t rlen, spans *s)
{
    const char *o = find_last(t, n, output_head, LEN(output_head));
    size_t need = rlen + LEN(response_head) + qlen + LEN(query_head);
    if (!o || (size_t)(o - t) < need)
        return -1;
    s->r1 = (size_t)(o - t);
    s->r0 = s->r1 - rlen;
    s->q1 = s->r0 - LEN(response_head);
    s->q0 = s->q1 - qlen;
    s->h1 = s->q0 - LEN(query_head);
    if (memcmp(t + s->q1, response_head, LEN(response_head)) != 0 ||
        memcmp(t + s->h1, query_head, LEN(query_head)) != 0)
        return -1;
    return finish_spans(t, n, s);
}

/* A text alone is split as the linear model splits it (first query header,
 * then the response header, response up to the last "# Output"); -1 when
 * it has no such sections. */
static int spans_of_text(const char *t, size_t n, spans *s)
{
    const char *q, *r;
    size_t qlen, rlen;
    wf_lin_split_text(t, n, &q, &qlen, &r, &rlen);
    if (r == t)
        return -1;
    s->q0 = (size_t)(q - t);
    s->q1 = s->q0 + qlen;
    s->r0 = (size_t)(r - t);
    s->r1 = s->r0 + rlen;
    /* The split found "\n## User Query\n"; the blank line before it is the
     * template's too. */
    size_t head = LEN(query_head) - 1;
    s->h1 = s->q0 - head;
    if (s->h1 > 0 && t[s->h1 - 1] == '\n')
        s->h1--;
    return finish_spans(t, n, s);
}

static int ids_append(wf_token_ids *out, const int32_t *ids, size_t n, wf_error *err)
{
    if (out->len + n > out->cap) {
        size_t cap = out->cap ? out->cap : 64;
        while (cap < out->len + n)
            cap *= 2;
        int32_t *grown = realloc(out->ids, cap * sizeof *grown);
        if (!grown)
            return wf_error_set(err, WF_ENOMEM, "out of memory");
        out->ids = grown;
        out->cap = cap;
    }
    if (n)
        memcpy(out->ids + out->len, ids, n * sizeof *ids);
    out->len += n;
    return 0;
}

enum { P_PREFIX, P_HISTORY, P_QHEAD, P_QUERY, P_RHEAD, P_RESPONSE, P_SUFFIX, P_COUNT };

static int encode_pieces(const wf_tfb_base *b, const char *t, const size_t cut[P_COUNT + 1],
                         wf_token_ids piece[P_COUNT], wf_error *err)
{
    for (int k = 0; k < P_COUNT; k++) {
        int rc = wf_tokenizer_encode(b->tok, t + cut[k], cut[k + 1] - cut[k], &piece[k], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Tokenizes the pieces apart, so that cutting one never changes how its
 * neighbours tokenize, and keeps what wf_tf_truncate allows. */
static int truncate_pieces(const wf_tfb_base *b, size_t max_len, const char *t, size_t n,
                           const spans *s, wf_token_ids *out, wf_error *err)
{
    const size_t cut[P_COUNT + 1] = {0, s->h0, s->h1, s->q0, s->q1, s->r0, s->r1, n};
    wf_token_ids p[P_COUNT];
    memset(p, 0, sizeof p);
    int rc = encode_pieces(b, t, cut, p, err);
    size_t fixed = p[P_PREFIX].len + p[P_QHEAD].len + p[P_RHEAD].len + p[P_SUFFIX].len;
    if (rc == 0 && fixed + p[P_RESPONSE].len > max_len)
        rc = wf_error_set(err, WF_EINVAL,
                          "the response (%zu tokens) and the template (%zu) exceed max_len %zu; "
                          "a response is never cut",
                          p[P_RESPONSE].len, fixed, max_len);
    wf_tf_keep keep;
    if (rc == 0)
        rc = wf_tf_truncate(p[P_HISTORY].len, p[P_QUERY].len, p[P_RESPONSE].len, max_len - fixed,
                            &keep, err);
    size_t from[P_COUNT] = {0};
    from[P_HISTORY] = rc == 0 ? keep.history_from : 0;
    from[P_QUERY] = rc == 0 ? keep.query_from : 0;
    for (int k = 0; rc == 0 && k < P_COUNT; k++)
        rc = ids_append(out, p[k].ids + from[k], p[k].len - from[k], err);
    for (int k = 0; k < P_COUNT; k++)
        wf_token_ids_free(&p[k]);
    return rc;
}

static int encode_text(const wf_tfb_base *b, size_t max_len, const char *t, size_t n,
                       const wf_model_input *in, wf_token_ids *out, wf_error *err)
{
    size_t start = out->len;
    int rc = wf_tokenizer_encode(b->tok, t, n, out, err);
    if (rc < 0)
        return rc;
    if (out->len == start)
        return wf_error_set(err, WF_EINVAL, "empty input: nothing to score");
    if (out->len - start <= max_len)
        return 0;
    size_t whole = out->len - start;
    out->len = start;
    spans s;
    int found = in->text ? spans_of_text(t, n, &s)
                         : spans_of_parts(t, n, strlen(in->query), strlen(in->response), &s);
    if (found < 0)
        return wf_error_set(err, WF_EINVAL,
                            "input of %zu tokens exceeds max_len %zu and has no template sections "
                            "to cut",
                            whole, max_len);
    return truncate_pieces(b, max_len, t, n, &s, out, err);
}

int wf_tfb_encode(const wf_tfb_base *b, size_t max_len, const wf_model_input *in, wf_token_ids *out,
                  wf_error *err)
{
    if (in->text)
        return encode_text(b, max_len, in->text, strlen(in->text), in, out, err);
    if (!in->query || !in->response)
        return wf_error_set(err, WF_EINVAL, "an input needs a text or a query and a response");
    wf_strbuf buf;
    wf_strbuf_init(&buf);
    wf_template_render(b->tpl, in->history, in->n_history, in->query, in->response, &buf);
    int rc = buf.oom ? wf_error_set(err, WF_ENOMEM, "out of memory")
                     : encode_text(b, max_len, buf.data, buf.len, in, out, err);
    wf_strbuf_free(&buf);
    return rc;
}
