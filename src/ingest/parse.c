/* wf_event_parse: size limit, JSON load, shape detection, dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

const char *wf_bad_reason_name(wf_bad_reason r)
{
    static const char *const names[WF_BAD_COUNT] = {
        [WF_BAD_NOT_JSON] = "not_json",   [WF_BAD_MISSING_FIELD] = "missing_field",
        [WF_BAD_TYPE] = "bad_type",       [WF_BAD_UTF8] = "bad_utf8",
        [WF_BAD_TOO_LARGE] = "too_large", [WF_BAD_UNKNOWN_SHAPE] = "unknown_shape",
        [WF_BAD_VALUE] = "bad_value",
    };
    return (unsigned)r < WF_BAD_COUNT ? names[r] : "unknown";
}

int wf_rec_fail(wf_record *r, wf_bad_reason reason, const char *fmt, ...)
{
    if (r->reason)
        *r->reason = reason;
    if (r->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err->msg, sizeof r->err->msg, fmt, ap);
        va_end(ap);
        r->err->code = WF_EPARSE;
    }
    return WF_EPARSE;
}

const wf_jval *wf_field_in(const wf_parser *p, wf_field f, const wf_jval *obj)
{
    const wf_ptr_list *l = &p->fields[f];
    for (size_t i = 0; i < l->n; i++) {
        const wf_jval *v = wf_jptr_get(&l->ptrs[i], obj);
        if (v)
            return v;
    }
    return NULL;
}

const wf_jval *wf_rec_field(wf_record *r, wf_field f)
{
    unsigned bit = 1u << f;
    if (!(r->resolved & bit)) {
        const wf_ptr_list *l = &r->p->fields[f];
        const wf_jval *found = NULL;
        for (size_t i = 0; i < l->n && !found; i++) {
            const wf_jval *v = wf_jptr_get(&l->ptrs[i], r->root);
            if (v && !wf_json_is(v, WF_JSON_NULL))
                found = v;
        }
        r->val[f] = found;
        r->resolved |= bit;
    }
    return r->val[f];
}

/* The parser stops at the first problem; the raw bytes decide whether the
 * record is refused for its encoding, which is checked before syntax. A
 * syntax error met before a bad byte is still an encoding error. */
static int load_failed(wf_record *r, const char *buf, size_t len, const wf_json_error *je)
{
    size_t valid = je->fault == WF_JSON_UTF8 ? je->pos : wf_json_utf8_prefix(buf, len);
    if (valid < len)
        return wf_rec_fail(r, WF_BAD_UTF8, "record: invalid UTF-8 near byte %zu", valid);
    if (je->fault == WF_JSON_NUL_KEY)
        return wf_rec_fail(r, WF_BAD_VALUE, "record: object key contains NUL (\\u0000)");
    return wf_rec_fail(r, WF_BAD_NOT_JSON, "record: not JSON: %s (byte %zu)", je->text, je->pos);
}

static int detect_shape(wf_record *r, wf_shape *out)
{
    const wf_jval *type = wf_rec_field(r, WF_F_TYPE);
    /* first: a sample's "messages" would read as a snapshot's conversation */
    if (wf_json_str_eq(type, "sample")) {
        *out = WF_SHAPE_SAMPLE;
        return 0;
    }
    if (wf_json_str_eq(type, "feedback") || wf_rec_field(r, WF_F_RATING)) {
        *out = WF_SHAPE_FEEDBACK;
        return 0;
    }
    const wf_jval *conv = wf_rec_field(r, WF_F_CONVERSATION);
    if (conv) {
        if (!wf_json_is(conv, WF_JSON_ARRAY))
            return wf_rec_fail(r, WF_BAD_TYPE, "field 'conversation': expected array, got %s",
                               wf_json_type_name(conv));
        *out = WF_SHAPE_CONVERSATION;
        return 0;
    }
    if (wf_rec_field(r, WF_F_ROLE) && wf_rec_field(r, WF_F_CONTENT)) {
        *out = WF_SHAPE_MESSAGE;
        return 0;
    }
    return wf_rec_fail(r, WF_BAD_UNKNOWN_SHAPE,
                       "record: no field 'conversation', no 'role' and 'content', and not "
                       "feedback or a sample (no 'rating', 'type' is not \"feedback\" or "
                       "\"sample\")");
}

static int parse_record(wf_record *r)
{
    wf_shape shape = r->p->shape;
    if (shape == WF_SHAPE_AUTO && detect_shape(r, &shape) < 0)
        return WF_EPARSE;
    r->ev->shape = shape;
    switch (shape) {
    case WF_SHAPE_MESSAGE: return wf_parse_message(r);
    case WF_SHAPE_CONVERSATION: return wf_parse_conversation(r);
    case WF_SHAPE_FEEDBACK: return wf_parse_feedback(r);
    case WF_SHAPE_SAMPLE: return wf_parse_sample(r);
    case WF_SHAPE_AUTO: break;
    }
    return wf_rec_fail(r, WF_BAD_UNKNOWN_SHAPE, "record: no shape");
}

int wf_event_parse(const wf_parser *p, const char *buf, size_t len, wf_event *ev,
                   wf_bad_reason *reason, wf_error *err)
{
    memset(ev, 0, sizeof *ev);
    wf_record r = {.p = p, .ev = ev, .reason = reason, .err = err};
    if (len > p->max_bytes)
        return wf_rec_fail(&r, WF_BAD_TOO_LARGE,
                           "record: %zu bytes exceeds input.max_record_bytes (%zu)", len,
                           p->max_bytes);
    wf_json_error je;
    wf_json_doc *doc;
    int prc = wf_json_parse(buf, len, &doc, &je);
    if (prc == WF_ENOMEM)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    if (prc < 0)
        return load_failed(&r, buf, len, &je);
    ev->doc = doc;
    r.root = &doc->nodes[0];
    int rc = wf_json_is(r.root, WF_JSON_OBJECT)
                 ? parse_record(&r)
                 : wf_rec_fail(&r, WF_BAD_TYPE, "record: expected object, got %s",
                               wf_json_type_name(r.root));
    if (rc < 0)
        wf_event_clear(ev);
    return rc;
}

typedef struct wf_block {
    struct wf_block *next;
    max_align_t data[];
} wf_block;

void *wf_event_alloc(wf_event *ev, size_t n)
{
    wf_block *b = malloc(sizeof *b + n);
    if (!b)
        return NULL;
    b->next = ev->extra;
    ev->extra = b;
    return b->data;
}

static void free_extra(wf_event *ev)
{
    for (wf_block *b = ev->extra, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    ev->extra = NULL;
}

void wf_event_clear(wf_event *ev)
{
    if (!ev)
        return;
    free(ev->doc);
    free_extra(ev);
    memset(ev, 0, sizeof *ev);
}
