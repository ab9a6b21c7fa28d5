/* Example sets built from the store or from WildFB JSONL files. */
#include "train/examples.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/reader.h"

/* WildFB lines hold whole conversations; longer ones are counted bad. */
#define MAX_LINE (16u << 20)

void wf_examples_init(wf_examples *e)
{
    memset(e, 0, sizeof *e);
}

void wf_examples_free(wf_examples *e)
{
    for (size_t i = 0; i < e->n; i++)
        wf_candidate_free(e->cands[i]);
    free(e->items);
    free(e->cands);
    wf_examples_init(e);
}

static int grow(wf_examples *e)
{
    size_t cap = e->cap ? 2 * e->cap : 256;
    wf_example *items = realloc(e->items, cap * sizeof *items);
    if (!items)
        return WF_ENOMEM;
    e->items = items;
    wf_candidate **cands = realloc(e->cands, cap * sizeof *cands);
    if (!cands)
        return WF_ENOMEM;
    e->cands = cands;
    e->cap = cap;
    return 0;
}

int wf_examples_add(wf_examples *e, const wf_candidate_parts *parts, int label, wf_error *err)
{
    if (label < 1 || label > WF_LABELS)
        return wf_error_set(err, WF_EINVAL, "label %d is not 1..4", label);
    if (e->n == e->cap && grow(e) < 0)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    wf_candidate *c = wf_candidate_new(parts);
    if (!c)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    e->cands[e->n] = c;
    e->items[e->n] = (wf_example){
        .in = {.history = c->history,
               .n_history = c->n_history,
               .query = c->query,
               .response = c->response},
        .label = label,
    };
    e->n++;
    return 0;
}

/* Room for more examples in e, all or none. */
static int reserve(wf_examples *e, size_t more)
{
    while (e->cap - e->n < more)
        if (grow(e) < 0)
            return WF_ENOMEM;
    return 0;
}

int wf_examples_take_validation(wf_examples *from, double fraction, wf_examples *to, wf_error *err)
{
    size_t k = 0;
    for (size_t i = 0; i < from->n; i++)
        k += (size_t)wf_split_is_validation(from->cands[i]->id, fraction);
    if (k == 0 || k == from->n)
        return 0;
    if (reserve(to, k) < 0)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    size_t kept = 0;
    for (size_t i = 0; i < from->n; i++) {
        wf_examples *dst = wf_split_is_validation(from->cands[i]->id, fraction) ? to : from;
        size_t at = dst == to ? to->n++ : kept++;
        dst->items[at] = from->items[i];
        dst->cands[at] = from->cands[i];
    }
    from->n = kept;
    return 0;
}

static int add_sample(void *ctx, const wf_sample *smp)
{
    wf_candidate_parts p;
    wf_candidate_parts_of(smp->cand, &p);
    /* A sample without a trainable label (neutral) is no example. */
    if (smp->label < 1 || smp->label > WF_LABELS)
        return 0;
    return wf_examples_add(ctx, &p, smp->label, NULL);
}

int wf_examples_from_store(wf_store *s, wf_store_split split, int64_t after_seq, wf_examples *e,
                           wf_error *err)
{
    int rc = wf_store_foreach_sample(s, split, after_seq, add_sample, e, err);
    if (rc == WF_ENOMEM)
        return wf_error_set(err, rc, "out of memory reading samples");
    return rc;
}

/* msgs[i] = {role, content} of arr[i]; WF_EPARSE on any other shape. */
static int read_messages(json_t *arr, wf_msg *msgs, wf_error *err)
{
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m)
    {
        json_t *role = json_object_get(m, "role");
        json_t *content = json_object_get(m, "content");
        if (!json_is_string(role) || !json_is_string(content))
            return wf_error_set(err, WF_EPARSE, "message %zu needs string role and content", i);
        msgs[i] = (wf_msg){json_string_value(role), json_string_value(content),
                           strlen(json_string_value(content))};
    }
    return 0;
}

static const char *opt_str(json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static int add_record(wf_examples *e, json_t *doc, const wf_msg *msgs, size_t n_msgs,
                      const wf_msg *history, size_t n_history, int label, wf_error *err)
{
    const wf_msg *q = &msgs[n_msgs - 2], *r = &msgs[n_msgs - 1];
    if (strcmp(q->role, "user") != 0 || strcmp(r->role, "assistant") != 0)
        return wf_error_set(err, WF_EPARSE, "\"messages\" must end with user then assistant");
    json_t *turn = json_object_get(doc, "turn");
    json_t *created = json_object_get(doc, "created_at");
    wf_candidate_parts p = {
        .conversation_id = opt_str(doc, "conversation_id"),
        .turn = json_is_integer(turn) ? (int)json_integer_value(turn) : 0,
        .response_turn = -1,
        .user_id = opt_str(doc, "user_id"),
        .language = opt_str(doc, "language"),
        .model = opt_str(doc, "model"),
        .created_at = json_is_integer(created) ? json_integer_value(created) : 0,
        .history = history,
        .n_history = n_history,
        .query = q->content,
        .response = r->content,
        .feedback = opt_str(doc, "user_feedback"),
    };
    return wf_examples_add(e, &p, label, err);
}

static int add_doc(wf_examples *e, json_t *doc, wf_error *err)
{
    json_t *label = json_object_get(doc, "label");
    json_t *messages = json_object_get(doc, "messages");
    json_t *history = json_object_get(doc, "history");
    if (!json_is_integer(label) || json_integer_value(label) < 1 ||
        json_integer_value(label) > WF_LABELS)
        return wf_error_set(err, WF_EPARSE, "\"label\" must be an integer 1..4");
    if (!json_is_array(messages) || json_array_size(messages) < 2)
        return wf_error_set(err, WF_EPARSE, "\"messages\" must hold query and response");
    size_t n_msgs = json_array_size(messages);
    int separate = n_msgs == 2 && json_is_array(history);
    size_t n_hist = separate ? json_array_size(history) : 0;
    wf_msg *msgs = malloc((n_msgs + n_hist) * sizeof *msgs);
    if (!msgs)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    int rc = read_messages(messages, msgs, err);
    if (rc == 0 && separate)
        rc = read_messages(history, msgs + n_msgs, err);
    if (rc == 0)
        rc = separate ? add_record(e, doc, msgs, n_msgs, msgs + n_msgs, n_hist,
                                   (int)json_integer_value(label), err)
                      : add_record(e, doc, msgs, n_msgs, msgs, n_msgs - 2,
                                   (int)json_integer_value(label), err);
    free(msgs);
    return rc;
}

int wf_examples_add_jsonl(wf_examples *e, const char *line, size_t len, wf_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(line, len, 0, &jerr);
    if (!doc)
        return wf_error_set(err, WF_EPARSE, "not JSON: %s", jerr.text);
    int rc = json_is_object(doc) ? add_doc(e, doc, err)
                                 : wf_error_set(err, WF_EPARSE, "not a JSON object");
    json_decref(doc);
    return rc;
}

int wf_examples_load_jsonl(const char *path, wf_examples *e, size_t *bad_lines, wf_error *err)
{
    wf_error oerr;
    wf_line_reader *r = wf_line_reader_open(path, MAX_LINE, &oerr);
    if (!r) {
        if (err)
            *err = oerr;
        return oerr.code;
    }
    size_t bad = 0;
    int rc = 0;
    for (;;) {
        const char *line;
        size_t len;
        int got = wf_line_reader_next(r, &line, &len, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        wf_error lerr;
        int added = got == WF_LINE_OK ? wf_examples_add_jsonl(e, line, len, &lerr) : WF_EPARSE;
        if (added == WF_ENOMEM) {
            rc = wf_error_set(err, added, "%s", lerr.msg);
            break;
        }
        bad += added < 0;
    }
    wf_line_reader_close(r);
    if (bad_lines)
        *bad_lines = bad;
    return rc;
}
