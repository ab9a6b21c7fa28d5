/* Stored samples: the line wf_sample_to_jsonl writes, as `wildfeed export`
 * and a fleet's samples topic carry it (DESIGN §11). It is our own format,
 * so its members are read by their fixed names, not by the input.fields
 * pointers, and checked as strictly as the store would check them. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"
#include "wildfeed/sample.h"

/* obj's member key; JSON null counts as absent. */
static const wf_jval *member(const wf_jval *obj, const char *key)
{
    const wf_jval *v = wf_json_get(obj, key, strlen(key));
    return wf_json_is(v, WF_JSON_NULL) ? NULL : v;
}

static int type_error(wf_record *r, const wf_where *w, const char *want, const wf_jval *v)
{
    char name[96];
    return wf_rec_fail(r, WF_BAD_TYPE, "field '%s': expected %s, got %s",
                       wf_where_str(w, name, sizeof name), want, wf_json_type_name(v));
}

/* v (NULL: absent) as a string without NUL, and its length when len is
 * not NULL; an absent one is missing when required, else "". */
static int string_at(wf_record *r, const wf_jval *v, const wf_where *w, int required,
                     const char **out, size_t *len)
{
    char name[96];
    *out = "";
    if (len)
        *len = 0;
    if (!v)
        return required ? wf_rec_fail(r, WF_BAD_MISSING_FIELD, "missing field '%s'",
                                      wf_where_str(w, name, sizeof name))
                        : 0;
    if (!wf_json_is(v, WF_JSON_STRING))
        return type_error(r, w, "string", v);
    if (wf_rec_check_nul(r, v->u.s, v->n, w) < 0)
        return WF_EPARSE;
    *out = v->u.s;
    if (len)
        *len = v->n;
    return 0;
}

static int string_member(wf_record *r, const char *key, int required, const char **out)
{
    wf_where w = {key, -1, NULL};
    return string_at(r, member(r->root, key), &w, required, out, NULL);
}

/* An integer member in lo..hi; an absent one is missing when required,
 * else 0. */
static int int_member(wf_record *r, const char *key, int required, int64_t lo, int64_t hi,
                      int64_t *out)
{
    const wf_jval *v = member(r->root, key);
    wf_where w = {key, -1, NULL};
    *out = 0;
    if (!v)
        return required ? wf_rec_fail(r, WF_BAD_MISSING_FIELD, "missing field '%s'", key) : 0;
    if (!wf_json_is(v, WF_JSON_INT))
        return type_error(r, &w, "integer", v);
    if (v->u.i < lo || v->u.i > hi)
        return wf_rec_fail(r, WF_BAD_VALUE,
                           "field '%s': must be in %" PRId64 "..%" PRId64 ", got %" PRId64, key, lo,
                           hi, v->u.i);
    *out = v->u.i;
    return 0;
}

static int parse_message(wf_record *r, const wf_jval *el, size_t i, wf_msg *out)
{
    wf_where w = {"messages", (long)i, NULL};
    if (!wf_json_is(el, WF_JSON_OBJECT))
        return type_error(r, &w, "object", el);
    w.sub = "role";
    if (string_at(r, member(el, "role"), &w, 1, &out->role, NULL) < 0)
        return WF_EPARSE;
    w.sub = "content";
    return string_at(r, member(el, "content"), &w, 1, &out->content, &out->content_len);
}

static int check_role(wf_record *r, size_t i, const char *want, const char *what)
{
    const char *role = r->ev->messages[i].role;
    if (strcmp(role, want) == 0)
        return 0;
    return wf_rec_fail(r, WF_BAD_VALUE,
                       "field 'messages[%zu].role': expected \"%s\" (the %s), got \"%.40s\"", i,
                       want, what, role);
}

/* The history, then the query and the response, which end the array. */
static int parse_messages(wf_record *r)
{
    wf_event *ev = r->ev;
    const wf_jval *arr = member(r->root, "messages");
    wf_where w = {"messages", -1, NULL};
    if (!arr)
        return wf_rec_fail(r, WF_BAD_MISSING_FIELD, "missing field 'messages'");
    if (!wf_json_is(arr, WF_JSON_ARRAY))
        return type_error(r, &w, "array", arr);
    if (arr->n < 2)
        return wf_rec_fail(r, WF_BAD_VALUE,
                           "field 'messages': expected at least 2 (the query and the response), "
                           "got %" PRIu32,
                           arr->n);
    ev->messages = wf_event_alloc(ev, arr->n * sizeof *ev->messages);
    if (!ev->messages)
        return wf_error_set(r->err, WF_ENOMEM, "out of memory");
    const wf_jval *el = wf_json_first(arr);
    for (size_t i = 0; i < arr->n; i++, el = wf_json_next(el))
        if (parse_message(r, el, i, &ev->messages[i]) < 0)
            return WF_EPARSE;
    ev->n_messages = arr->n;
    if (check_role(r, arr->n - 2, "user", "query") < 0 ||
        check_role(r, arr->n - 1, "assistant", "response") < 0)
        return WF_EPARSE;
    return 0;
}

/* The store keys a sample by "<conversation_id>_turn<turn>": an id that
 * says otherwise would be stored under another name than it was sent. */
static int check_id(wf_record *r, const char *id)
{
    const wf_event *ev = r->ev;
    char tail[32];
    snprintf(tail, sizeof tail, "_turn%" PRId64, ev->turn);
    size_t n = strlen(ev->conversation_id);
    if (strncmp(id, ev->conversation_id, n) == 0 && strcmp(id + n, tail) == 0)
        return 0;
    return wf_rec_fail(r, WF_BAD_VALUE,
                       "field 'id': \"%.60s\" is not \"<conversation_id>_turn<turn>\" "
                       "(\"%.60s%s\")",
                       id, ev->conversation_id, tail);
}

/* annotation, label and source; the label must be the annotation's, as the
 * pipeline derives every label it emits. */
static int parse_labels(wf_record *r)
{
    wf_event *ev = r->ev;
    int64_t annotation, label;
    const char *source;
    if (int_member(r, "annotation", 1, 1, 5, &annotation) < 0 ||
        int_member(r, "label", 1, 1, 4, &label) < 0 || string_member(r, "source", 1, &source) < 0)
        return WF_EPARSE;
    int want = wf_label_from_annotation((int)annotation);
    if (label != want)
        return wf_rec_fail(r, WF_BAD_VALUE,
                           "field 'label': annotation %" PRId64 " maps to label %d, got %" PRId64,
                           annotation, want, label);
    ev->source = wf_label_source_parse(source);
    if (ev->source < 0)
        return wf_rec_fail(r, WF_BAD_VALUE, "field 'source': unknown source \"%.40s\"", source);
    ev->annotation = (int)annotation;
    ev->label = (int)label;
    return 0;
}

int wf_parse_sample(wf_record *r)
{
    wf_event *ev = r->ev;
    const char *id;
    if (string_member(r, "id", 1, &id) < 0 ||
        string_member(r, "conversation_id", 1, &ev->conversation_id) < 0)
        return WF_EPARSE;
    if (!ev->conversation_id[0])
        return wf_rec_fail(r, WF_BAD_VALUE, "field 'conversation_id': empty");
    if (int_member(r, "turn", 1, 0, INT_MAX, &ev->turn) < 0 || check_id(r, id) < 0 ||
        parse_messages(r) < 0 || string_member(r, "user_feedback", 1, &ev->feedback) < 0 ||
        parse_labels(r) < 0 || string_member(r, "reason", 0, &ev->reason) < 0 ||
        string_member(r, "user_id", 0, &ev->user_id) < 0 ||
        string_member(r, "language", 0, &ev->language) < 0 ||
        string_member(r, "model", 0, &ev->model) < 0)
        return WF_EPARSE;
    return int_member(r, "created_at", 0, 0, INT64_MAX, &ev->timestamp);
}
