/* Typed access to mapped fields, message content and roles. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ingest/ingest.h"

/* Downstream code treats text as C strings, so an embedded NUL would
 * silently truncate it: refuse the field instead. */
static int check_nul(wf_record *r, const char *s, size_t n, const wf_where *w)
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

static int string_value(wf_record *r, json_t *v, int allow_int, const char *what, const char **out)
{
    if (json_is_string(v)) {
        wf_where w = {what, -1, NULL};
        if (check_nul(r, json_string_value(v), json_string_length(v), &w) < 0)
            return WF_EPARSE;
        *out = json_string_value(v);
        return 0;
    }
    if (allow_int && json_is_integer(v)) {
        char *s = wf_event_alloc(r->ev, 24);
        if (!s)
            return wf_error_set(r->err, WF_ENOMEM, "out of memory");
        snprintf(s, 24, "%" PRId64, (int64_t)json_integer_value(v));
        *out = s;
        return 0;
    }
    return wf_rec_fail(r, WF_BAD_TYPE, "field '%s': expected string, got %s", what,
                       wf_json_type_name(v));
}

int wf_rec_string(wf_record *r, wf_field f, int allow_int, const char **out)
{
    json_t *v = wf_rec_field(r, f);
    if (!v) {
        *out = "";
        return 0;
    }
    return string_value(r, v, allow_int, wf_field_names[f], out);
}

int wf_rec_string_req(wf_record *r, wf_field f, int allow_int, const char **out)
{
    json_t *v = wf_rec_field(r, f);
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
    json_t *v = wf_rec_field(r, f);
    const char *name = wf_field_names[f];
    if (!v)
        return wf_rec_fail(r, WF_BAD_MISSING_FIELD, "missing field '%s'", name);
    if (!json_is_integer(v))
        return wf_rec_fail(r, WF_BAD_TYPE, "field '%s': expected integer, got %s", name,
                           wf_json_type_name(v));
    *out = json_integer_value(v);
    if (*out < 0)
        return wf_rec_fail(r, WF_BAD_VALUE, "field '%s': must be >= 0, got %" PRId64, name, *out);
    return 0;
}

/* The text of one content part, or NULL for a part that carries none
 * (images, audio, tool results are skipped). */
static int part_text(wf_record *r, json_t *part, const wf_where *w, size_t i, json_t **text)
{
    *text = NULL;
    if (json_is_string(part)) {
        *text = part;
        return 0;
    }
    const char *type = json_string_value(json_object_get(part, "type"));
    if (!type || (strcmp(type, "text") != 0 && strcmp(type, "input_text") != 0 &&
                  strcmp(type, "output_text") != 0))
        return 0;
    json_t *t = json_object_get(part, "text");
    if (!json_is_string(t)) {
        char name[96];
        return wf_rec_fail(r, WF_BAD_TYPE, "field '%s[%zu].text': expected string, got %s",
                           wf_where_str(w, name, sizeof name), i,
                           t ? wf_json_type_name(t) : "nothing");
    }
    *text = t;
    return 0;
}

static int join_parts(wf_record *r, json_t *parts, const wf_where *w, wf_msg *out)
{
    size_t total = 0, count = 0, i;
    json_t *part, *text, *only = NULL;
    json_array_foreach(parts, i, part)
    {
        if (part_text(r, part, w, i, &text) < 0)
            return WF_EPARSE;
        if (!text)
            continue;
        if (check_nul(r, json_string_value(text), json_string_length(text), w) < 0)
            return WF_EPARSE;
        total += json_string_length(text) + (count ? 1 : 0);
        only = text;
        count++;
    }
    if (count <= 1) { /* the common case borrows from the document */
        out->content = only ? json_string_value(only) : "";
        out->content_len = only ? json_string_length(only) : 0;
        return 0;
    }
    char *buf = wf_event_alloc(r->ev, total + 1);
    if (!buf)
        return wf_error_set(r->err, WF_ENOMEM, "out of memory");
    size_t off = 0;
    json_array_foreach(parts, i, part)
    {
        part_text(r, part, w, i, &text);
        if (!text)
            continue;
        if (off)
            buf[off++] = '\n';
        memcpy(buf + off, json_string_value(text), json_string_length(text));
        off += json_string_length(text);
    }
    buf[off] = '\0';
    out->content = buf;
    out->content_len = off;
    return 0;
}

int wf_content(wf_record *r, json_t *v, const wf_where *w, wf_msg *out)
{
    if (json_is_string(v)) {
        if (check_nul(r, json_string_value(v), json_string_length(v), w) < 0)
            return WF_EPARSE;
        out->content = json_string_value(v);
        out->content_len = json_string_length(v);
        return 0;
    }
    if (json_is_array(v))
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
