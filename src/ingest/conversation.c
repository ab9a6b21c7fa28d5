/* Conversation snapshots: WildChat / LMSYS records and gateway request logs
 * (request messages plus the response message). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"

/* An element's role and content, found by the role/content pointer lists
 * applied to the element. An explicit null content (an assistant turn that
 * only called tools) reads as empty text; a missing one is an error. */
static int parse_element(wf_record *r, const wf_jval *el, size_t i, wf_msg *out)
{
    char name[96];
    wf_where w = {"conversation", (long)i, NULL};
    if (!wf_json_is(el, WF_JSON_OBJECT))
        return wf_rec_fail(r, WF_BAD_TYPE, "field '%s': expected object, got %s",
                           wf_where_str(&w, name, sizeof name), wf_json_type_name(el));
    const wf_jval *role = wf_field_in(r->p, WF_F_ROLE, el);
    out->role = "";
    if (role && !wf_json_is(role, WF_JSON_NULL)) {
        w.sub = "role";
        if (!wf_json_is(role, WF_JSON_STRING))
            return wf_rec_fail(r, WF_BAD_TYPE, "field '%s': expected string, got %s",
                               wf_where_str(&w, name, sizeof name), wf_json_type_name(role));
        out->role = wf_role_normalize(role->u.s);
    }
    w.sub = "content";
    const wf_jval *content = wf_field_in(r->p, WF_F_CONTENT, el);
    if (!content)
        return wf_rec_fail(r, WF_BAD_MISSING_FIELD, "missing field '%s'",
                           wf_where_str(&w, name, sizeof name));
    if (wf_json_is(content, WF_JSON_NULL)) {
        out->content = "";
        out->content_len = 0;
        return 0;
    }
    return wf_content(r, content, &w, out);
}

/* The response of a gateway log: a message object or a bare string. A
 * response without text (a tool call) adds no message: returns 0 and
 * leaves *added at 0. */
static int parse_response(wf_record *r, const wf_jval *resp, wf_msg *out, int *added)
{
    wf_where w = {"response", -1, NULL};
    *added = 0;
    out->role = "assistant";
    if (wf_json_is(resp, WF_JSON_STRING)) {
        *added = 1;
        return wf_content(r, resp, &w, out);
    }
    if (!wf_json_is(resp, WF_JSON_OBJECT))
        return wf_rec_fail(r, WF_BAD_TYPE,
                           "field 'response': expected message object or string, got %s",
                           wf_json_type_name(resp));
    const wf_jval *content = wf_field_in(r->p, WF_F_CONTENT, resp);
    if (!content || wf_json_is(content, WF_JSON_NULL))
        return 0;
    const wf_jval *role = wf_field_in(r->p, WF_F_ROLE, resp);
    if (wf_json_is(role, WF_JSON_STRING))
        out->role = wf_role_normalize(role->u.s);
    *added = 1;
    return wf_content(r, content, &w, out);
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static const wf_msg *first_with_role(const wf_event *ev, const char *role)
{
    for (size_t i = 0; i < ev->n_messages; i++)
        if (strcmp(ev->messages[i].role, role) == 0)
            return &ev->messages[i];
    return NULL;
}

/* Gateway logs often carry no conversation id. Every snapshot of one
 * conversation repeats its opening (the first user message and the first
 * assistant reply) and its user, so a hash of those is stable across
 * snapshots, while the reply keeps two users' identical "hi" apart. */
static int derive_id(wf_record *r)
{
    wf_event *ev = r->ev;
    uint64_t h = fnv1a(0xcbf29ce484222325ull, ev->user_id, strlen(ev->user_id) + 1);
    const wf_msg *u = first_with_role(ev, "user"), *a = first_with_role(ev, "assistant");
    if (u)
        h = fnv1a(h, u->content, u->content_len + 1);
    if (a)
        h = fnv1a(h, a->content, a->content_len);
    char *id = wf_event_alloc(ev, 24);
    if (!id)
        return wf_error_set(r->err, WF_ENOMEM, "out of memory");
    snprintf(id, 24, "anon-%016" PRIx64, h);
    ev->conversation_id = id;
    return 0;
}

int wf_parse_conversation(wf_record *r)
{
    wf_event *ev = r->ev;
    const wf_jval *conv = wf_rec_field(r, WF_F_CONVERSATION);
    if (!conv)
        return wf_rec_fail(r, WF_BAD_MISSING_FIELD, "missing field 'conversation'");
    if (!wf_json_is(conv, WF_JSON_ARRAY))
        return wf_rec_fail(r, WF_BAD_TYPE, "field 'conversation': expected array, got %s",
                           wf_json_type_name(conv));
    size_t n = conv->n;
    ev->messages = wf_event_alloc(ev, (n + 1) * sizeof *ev->messages);
    if (!ev->messages)
        return wf_error_set(r->err, WF_ENOMEM, "out of memory");
    const wf_jval *el = wf_json_first(conv);
    for (size_t i = 0; i < n; i++, el = wf_json_next(el))
        if (parse_element(r, el, i, &ev->messages[i]) < 0)
            return WF_EPARSE;
    ev->n_messages = n;
    const wf_jval *resp = wf_rec_field(r, WF_F_RESPONSE);
    int added = 0;
    if (resp && parse_response(r, resp, &ev->messages[n], &added) < 0)
        return WF_EPARSE;
    ev->n_messages += (size_t)added;
    if (wf_rec_common(r) < 0)
        return WF_EPARSE;
    if (!wf_rec_field(r, WF_F_CONVERSATION_ID))
        return derive_id(r);
    return wf_rec_string_req(r, WF_F_CONVERSATION_ID, 1, &ev->conversation_id);
}
