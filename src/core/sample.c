/* Candidates, samples, label mapping, the train/eval split and JSONL export
 * (DESIGN §1, §4). */
#include "wildfeed/sample.h"

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/strbuf.h"

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* Bump allocator over the candidate's single block: the sizing pass and the
 * copying pass walk the same fields in the same order, so they cannot
 * disagree about the total. */
typedef struct arena {
    char *next;
} arena;

static const char *arena_copy(arena *a, const char *s, size_t n)
{
    char *dst = a->next;
    if (n)
        memcpy(dst, s, n);
    dst[n] = '\0';
    a->next += n + 1;
    return dst;
}

static size_t round_up(size_t n, size_t align)
{
    return (n + align - 1) / align * align;
}

static int id_length(const wf_candidate_parts *p)
{
    return snprintf(NULL, 0, "%s_turn%d", or_empty(p->conversation_id), p->turn);
}

static size_t strings_size(const wf_candidate_parts *p)
{
    size_t n = (size_t)id_length(p) + 1;
    const char *fields[] = {p->conversation_id, p->user_id,  p->language, p->model,
                            p->query,           p->response, p->feedback};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        n += strlen(or_empty(fields[i])) + 1;
    for (size_t i = 0; i < p->n_history; i++)
        n += strlen(or_empty(p->history[i].role)) + 1 + p->history[i].content_len + 1;
    return n;
}

static void copy_history(wf_candidate *c, wf_msg *msgs, const wf_candidate_parts *p, arena *a)
{
    for (size_t i = 0; i < p->n_history; i++) {
        const wf_msg *src = &p->history[i];
        const char *role = or_empty(src->role);
        msgs[i].role = arena_copy(a, role, strlen(role));
        msgs[i].content = arena_copy(a, src->content ? src->content : "", src->content_len);
        msgs[i].content_len = src->content_len;
    }
    c->history = p->n_history ? msgs : NULL;
    c->n_history = p->n_history;
}

static const char *arena_str(arena *a, const char *s)
{
    s = or_empty(s);
    return arena_copy(a, s, strlen(s));
}

wf_candidate *wf_candidate_new(const wf_candidate_parts *p)
{
    size_t head = round_up(sizeof(wf_candidate), alignof(wf_msg));
    size_t msgs_size = p->n_history * sizeof(wf_msg);
    char *block = malloc(head + msgs_size + strings_size(p));
    if (!block)
        return NULL;
    wf_candidate *c = (wf_candidate *)block;
    wf_msg *msgs = (wf_msg *)(block + head);
    arena a = {block + head + msgs_size};

    c->id = a.next;
    a.next += (size_t)sprintf(c->id, "%s_turn%d", or_empty(p->conversation_id), p->turn) + 1;
    c->conversation_id = arena_str(&a, p->conversation_id);
    c->turn = p->turn;
    c->response_turn = p->response_turn;
    c->user_id = arena_str(&a, p->user_id);
    c->language = arena_str(&a, p->language);
    c->model = arena_str(&a, p->model);
    c->created_at = p->created_at;
    copy_history(c, msgs, p, &a);
    c->query = arena_str(&a, p->query);
    c->response = arena_str(&a, p->response);
    c->feedback = arena_str(&a, p->feedback);
    return c;
}

void wf_candidate_parts_of(const wf_candidate *c, wf_candidate_parts *p)
{
    *p = (wf_candidate_parts){
        .conversation_id = c->conversation_id,
        .turn = c->turn,
        .response_turn = c->response_turn,
        .user_id = c->user_id,
        .language = c->language,
        .model = c->model,
        .created_at = c->created_at,
        .history = c->history,
        .n_history = c->n_history,
        .query = c->query,
        .response = c->response,
        .feedback = c->feedback,
    };
}

void wf_candidate_free(wf_candidate *c)
{
    free(c);
}

static const char *const source_names[WF_SRC_COUNT] = {
    [WF_SRC_RULES] = "rules",         [WF_SRC_LLM] = "llm",         [WF_SRC_EXPLICIT] = "explicit",
    [WF_SRC_HINDSIGHT] = "hindsight", [WF_SRC_REFUSAL] = "refusal",
};

const char *wf_label_source_name(wf_label_source s)
{
    if ((int)s < 0 || s >= WF_SRC_COUNT)
        return "unknown";
    return source_names[s];
}

int wf_label_source_parse(const char *name)
{
    for (int i = 0; name && i < WF_SRC_COUNT; i++)
        if (strcmp(name, source_names[i]) == 0)
            return i;
    return -1;
}

int wf_label_from_annotation(int annotation)
{
    switch (annotation) {
    case 1: return 1;
    case 2: return 2;
    case 4: return 3;
    case 5: return 4;
    default: return 0;
    }
}

void wf_sample_free(wf_sample *s)
{
    if (!s)
        return;
    wf_candidate_free(s->cand);
    free(s->text);
    free(s);
}

/* The split must never move a sample between train and eval, across restarts
 * and versions alike, so the hash is fixed here as part of the data format:
 * FNV-1a 64 over the id's bytes (offset basis 0xcbf29ce484222325, prime
 * 0x100000001b3), then MurmurHash3's 64-bit finaliser, because FNV-1a alone
 * barely moves its top bits when only the last byte differs (ids of one
 * conversation would land together). The top 53 bits, scaled to [0, 1), are
 * compared to the fraction. */
static uint64_t fnv1a(const char *id)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* MurmurHash3's finaliser, scaled to [0, 1) from its top 53 bits. */
static double unit_of(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

int wf_split_is_eval(const char *id, double eval_fraction)
{
    return unit_of(fnv1a(id)) < eval_fraction;
}

/* The finaliser of the FNV hash xored with a constant (the 64-bit golden
 * ratio): a value unrelated to the eval split's. */
int wf_split_is_validation(const char *id, double fraction)
{
    return unit_of(fnv1a(id) ^ 0x9e3779b97f4a7c15ULL) < fraction;
}

static void json_key_str(wf_strbuf *out, const char *key, const char *val)
{
    wf_strbuf_printf(out, ",\"%s\":", key);
    wf_strbuf_json_string(out, val, strlen(val));
}

static void json_msg(wf_strbuf *out, const char *role, const char *content, size_t len)
{
    wf_strbuf_puts(out, "{\"role\":");
    wf_strbuf_json_string(out, role, strlen(role));
    wf_strbuf_puts(out, ",\"content\":");
    wf_strbuf_json_string(out, content, len);
    wf_strbuf_putc(out, '}');
}

/* The judge's reason is cut at a byte limit, which may split a UTF-8
 * sequence; the export must stay valid UTF-8, so an incomplete tail is
 * dropped. */
static size_t utf8_whole_prefix(const char *s, size_t n)
{
    size_t i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && n - i < 3)
        i--;
    if (i == 0 || ((unsigned char)s[i - 1] & 0x80) == 0)
        return n;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return n - (i - 1) >= need ? n : i - 1;
}

static void json_history(wf_strbuf *out, const wf_candidate *c)
{
    for (size_t i = 0; i < c->n_history; i++) {
        if (i)
            wf_strbuf_putc(out, ',');
        json_msg(out, c->history[i].role, c->history[i].content, c->history[i].content_len);
    }
}

void wf_sample_to_jsonl(const wf_sample *s, wf_strbuf *out)
{
    const wf_candidate *c = s->cand;
    wf_strbuf_puts(out, "{\"id\":");
    wf_strbuf_json_string(out, c->id, strlen(c->id));
    wf_strbuf_puts(out, ",\"history\":[");
    json_history(out, c);
    wf_strbuf_putc(out, ']');
    json_key_str(out, "text", or_empty(s->text));
    wf_strbuf_puts(out, ",\"messages\":[");
    json_history(out, c);
    if (c->n_history)
        wf_strbuf_putc(out, ',');
    json_msg(out, "user", c->query, strlen(c->query));
    wf_strbuf_putc(out, ',');
    json_msg(out, "assistant", c->response, strlen(c->response));
    wf_strbuf_putc(out, ']');
    json_key_str(out, "user_feedback", c->feedback);
    wf_strbuf_printf(out, ",\"label\":%d,\"annotation\":%d", s->label, s->annotation);
    json_key_str(out, "source", wf_label_source_name(s->source));
    wf_strbuf_puts(out, ",\"reason\":");
    wf_strbuf_json_string(out, s->reason,
                          utf8_whole_prefix(s->reason, strnlen(s->reason, sizeof s->reason)));
    json_key_str(out, "split", s->eval ? "eval" : "train");
    json_key_str(out, "conversation_id", c->conversation_id);
    wf_strbuf_printf(out, ",\"turn\":%d", c->turn);
    json_key_str(out, "user_id", c->user_id);
    json_key_str(out, "language", c->language);
    json_key_str(out, "model", c->model);
    wf_strbuf_printf(out, ",\"created_at\":%lld,\"type\":\"sample\"}\n", (long long)c->created_at);
}
