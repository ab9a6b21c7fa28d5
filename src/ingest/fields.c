/* Typed access to mapped fields, message content and roles. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ingest/ingest.h"

/* Downstream code treats text as C strings, so an embedded NUL would
 * silently truncate it: refuse the field instead. */
int wf_rec_check_nul(wf_record *r, const char *s, size_t n, const wf_where *w)
{
    if (memchr(s, '\0', n)) {
        char name[96];
        return wf_rec_fail(r, WF_BAD_VALUE, "field '%s': contains NUL (\\u0000)",
                           wf_where_str(w, name, sizeof name));
    }
    return 0;
}

const char *wf_where_str(const wf_where *w, char *buf, size_t n)
{
    if (w->index < 0)
        snprintf(buf, n, "%s", w->field);
    else
        snprintf(buf, n, "%s[%ld]%s%s", w->field, w->index, w->sub ? "." : "",
                 w->sub ? w->sub : "");
    return buf;
}

static int string_value(wf_record *r, const wf_jval *v, int allow_int, const char *what,
                        const char **out)
{
    if (wf_json_is(v, WF_JSON_STRING)) {
        wf_where w = {what, -1, NULL};
        if (wf_rec_check_nul(r, v->u.s, v->n, &w) < 0)
            return WF_EPARSE;
        *out = v->u.s;
        return 0;
    }
    if (allow_int && wf_json_is(v, WF_JSON_INT)) {
        char *s = wf_event_alloc(r->ev, 24);
        if (!s)
            return wf_error_set(r->err, WF_ENOMEM, "out of memory");
        snprintf(s, 24, "%" PRId64, v->u.i);
        *out = s;
        return 0;
    }
    return wf_rec_fail(r, WF_BAD_TYPE, "field '%s': expected string, got %s", what,
                       wf_json_type_name(v));
}

int wf_rec_string(wf_record *r, wf_field f, int allow_int, const char **out)
{
    const wf_jval *v = wf_rec_field(r, f);
    if (!v) {
        *out = "";
        return 0;
    }
    return string_value(r, v, allow_int, wf_field_names[f], out);
}

int wf_rec_string_req(wf_record *r, wf_field f, int allow_int, const char **out)
{
    const wf_jval *v = wf_rec_field(r, f);
    if (!v)
        return wf_rec_fail(r, WF_BAD_MISSING_FIELD, "missing field '%s'", wf_field_names[f]);
    if (string_value(r, v, allow_int, wf_field_names[f], out) < 0)
        return WF_EPARSE;
    if (**out == '\0')
        return wf_rec_fail(r, WF_BAD_VALUE, "field '%s': empty", wf_field_names[f]);
    return 0;
}

int wf_rec_turn(wf_record *r, wf_field f, int64_t *out)
{
    const wf_jval *v = wf_rec_field(r, f);
    const char *name = wf_field_names[f];
    if (!v)
        return wf_rec_fail(r, WF_BAD_MISSING_FIELD, "missing field '%s'", name);
    if (!wf_json_is(v, WF_JSON_INT))
        return wf_rec_fail(r, WF_BAD_TYPE, "field '%s': expected integer, got %s", name,
                           wf_json_type_name(v));
    *out = v->u.i;
    if (*out < 0)
        return wf_rec_fail(r, WF_BAD_VALUE, "field '%s': must be >= 0, got %" PRId64, name, *out);
    return 0;
}

/* The text of one content part, or NULL for a part that carries none
 * (images, audio, tool results are skipped). */
static int part_text(wf_record *r, const wf_jval *part, const wf_where *w, size_t i,
                     const wf_jval **text)
{
    *text = NULL;
    if (wf_json_is(part, WF_JSON_STRING)) {
        *text = part;
        return 0;
    }
    const wf_jval *type = wf_json_get(part, "type", 4);
    if (!wf_json_str_eq(type, "text") && !wf_json_str_eq(type, "input_text") &&
        !wf_json_str_eq(type, "output_text"))
        return 0;
    const wf_jval *t = wf_json_get(part, "text", 4);
    if (!wf_json_is(t, WF_JSON_STRING)) {
        char name[96];
        return wf_rec_fail(r, WF_BAD_TYPE, "field '%s[%zu].text': expected string, got %s",
                           wf_where_str(w, name, sizeof name), i,
                           t ? wf_json_type_name(t) : "nothing");
    }
    *text = t;
    return 0;
}

static int join_parts(wf_record *r, const wf_jval *parts, const wf_where *w, wf_msg *out)
{
    size_t total = 0, count = 0, i;
    const wf_jval *part, *text, *only = NULL;
    for (i = 0, part = wf_json_first(parts); i < parts->n; i++, part = wf_json_next(part)) {
        if (part_text(r, part, w, i, &text) < 0)
            return WF_EPARSE;
        if (!text)
            continue;
        if (wf_rec_check_nul(r, text->u.s, text->n, w) < 0)
            return WF_EPARSE;
        total += text->n + (count ? 1 : 0);
        only = text;
        count++;
    }
    if (count <= 1) { /* the common case borrows from the document */
        out->content = only ? only->u.s : "";
        out->content_len = only ? only->n : 0;
        return 0;
    }
    char *buf = wf_event_alloc(r->ev, total + 1);
    if (!buf)
        return wf_error_set(r->err, WF_ENOMEM, "out of memory");
    size_t off = 0;
    for (i = 0, part = wf_json_first(parts); i < parts->n; i++, part = wf_json_next(part)) {
        part_text(r, part, w, i, &text);
        if (!text)
            continue;
        if (off)
            buf[off++] = '\n';
        memcpy(buf + off, text->u.s, text->n);
        off += text->n;
    }
    buf[off] = '\0';
    out->content = buf;
    out->content_len = off;
    return 0;
}

int wf_content(wf_record *r, const wf_jval *v, const wf_where *w, wf_msg *out)
{
    if (wf_json_is(v, WF_JSON_STRING)) {
        if (wf_rec_check_nul(r, v->u.s, v->n, w) < 0)
            return WF_EPARSE;
        out->content = v->u.s;
        out->content_len = v->n;
        return 0;
    }
    if (wf_json_is(v, WF_JSON_ARRAY))
        return join_parts(r, v, w, out);
    char name[96];
    return wf_rec_fail(r, WF_BAD_TYPE, "field '%s': expected string or array of parts, got %s",
                       wf_where_str(w, name, sizeof name), wf_json_type_name(v));
}

/* ShareGPT-style dumps say human/gpt, Gemini says model: judges and
 * candidates only need to tell user from assistant. Unknown roles (tool,
 * function, developer) are kept as logged. */
const char *wf_role_normalize(const char *role)
{
    static const struct {
        const char *alias, *role;
    } map[] = {
        {"user", "user"},         {"human", "user"},    {"assistant", "assistant"},
        {"gpt", "assistant"},     {"bot", "assistant"}, {"model", "assistant"},
        {"chatbot", "assistant"}, {"system", "system"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(role, map[i].alias) == 0)
            return map[i].role;
    return role;
}
