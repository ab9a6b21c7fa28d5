/* Conversation snapshots: WildChat / LMSYS records and gateway request logs
 * (request messages plus the response message). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"

/* An element's role and content, found by the role/content pointer lists
 * applied to the element. An explicit null content (an assistant turn that
 * only called tools) reads as empty text; a missing one is an error. */
static int parse_element(wf_record *r, json_t *el, size_t i, wf_msg *out)
{
    char name[96];
    wf_where w = {"conversation", (long)i, NULL};
    if (!json_is_object(el))
        return wf_rec_fail(r, WF_BAD_TYPE, "field '%s': expected object, got %s",
                           wf_where_str(&w, name, sizeof name), wf_json_type_name(el));
    json_t *role = wf_field_in(r->p, WF_F_ROLE, el);
    out->role = "";
    if (role && !json_is_null(role)) {
        w.sub = "role";
        if (!json_is_string(role))
            return wf_rec_fail(r, WF_BAD_TYPE, "field '%s': expected string, got %s",
                               wf_where_str(&w, name, sizeof name), wf_json_type_name(role));
        out->role = wf_role_normalize(json_string_value(role));
    }
    w.sub = "content";
    json_t *content = wf_field_in(r->p, WF_F_CONTENT, el);
    if (!content)
        return wf_rec_fail(r, WF_BAD_MISSING_FIELD, "missing field '%s'",
                           wf_where_str(&w, name, sizeof name));
    if (json_is_null(content)) {
        out->content = "";
        out->content_len = 0;
        return 0;
    }
    return wf_content(r, content, &w, out);
}

/* The response of a gateway log: a message object or a bare string. A
 * response without text (a tool call) adds no message: returns 0 and
 * leaves *added at 0. */
static int parse_response(wf_record *r, json_t *resp, wf_msg *out, int *added)
{
    wf_where w = {"response", -1, NULL};
    *added = 0;
    out->role = "assistant";
    if (json_is_string(resp)) {
        *added = 1;
        return wf_content(r, resp, &w, out);
    }
    if (!json_is_object(resp))
        return wf_rec_fail(r, WF_BAD_TYPE,
                           "field 'response': expected message object or string, got %s",
                           wf_json_type_name(resp));
    json_t *content = wf_field_in(r->p, WF_F_CONTENT, resp);
    if (!content || json_is_null(content))
        return 0;
    json_t *role = wf_field_in(r->p, WF_F_ROLE, resp);
    if (json_is_string(role))
        out->role = wf_role_normalize(json_string_value(role));
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
    json_t *conv = wf_rec_field(r, WF_F_CONVERSATION);
    if (!conv)
        return wf_rec_fail(r, WF_BAD_MISSING_FIELD, "missing field 'conversation'");
    if (!json_is_array(conv))
        return wf_rec_fail(r, WF_BAD_TYPE, "field 'conversation': expected array, got %s",
                           wf_json_type_name(conv));
    size_t n = json_array_size(conv);
    ev->messages = wf_event_alloc(ev, (n + 1) * sizeof *ev->messages);
    if (!ev->messages)
        return wf_error_set(r->err, WF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (parse_element(r, json_array_get(conv, i), i, &ev->messages[i]) < 0)
            return WF_EPARSE;
    ev->n_messages = n;
    json_t *resp = wf_rec_field(r, WF_F_RESPONSE);
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
