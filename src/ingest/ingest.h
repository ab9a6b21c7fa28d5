/* Internals of the input parser, shared by its files (not a public API). */
#ifndef WF_INGEST_INGEST_H
#define WF_INGEST_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/jptr.h"
#include "ingest/json.h"
#include "wildfeed/event.h"

/* The mapped fields: each is "input.fields.<name>", a list of pointers. */
typedef enum wf_field {
    WF_F_CONVERSATION_ID = 0,
    WF_F_TURN,
    WF_F_ROLE,
    WF_F_CONTENT,
    WF_F_USER_ID,
    WF_F_LANGUAGE,
    WF_F_MODEL,
    WF_F_TIMESTAMP,
    WF_F_CONVERSATION,
    WF_F_RESPONSE,
    WF_F_TYPE,
    WF_F_RATING,
    WF_F_COUNT
} wf_field;

extern const char *const wf_field_names[WF_F_COUNT];

typedef struct wf_ptr_list {
    wf_jptr *ptrs;
    size_t n;
} wf_ptr_list;

struct wf_parser {
    wf_shape shape; /* WF_SHAPE_AUTO: detected per record */
    size_t max_bytes;
    wf_ptr_list fields[WF_F_COUNT];
};

/* Per-record state: each field's pointers are resolved at most once. */
typedef struct wf_record {
    const wf_parser *p;
    const wf_jval *root;
    wf_event *ev;
    wf_bad_reason *reason;
    wf_error *err;
    const wf_jval *val[WF_F_COUNT];
    unsigned resolved; /* bit f set once val[f] is known */
} wf_record;

/* The first pointer of the field's list that designates a non-null value
 * (JSON null counts as absent), or NULL. */
const wf_jval *wf_rec_field(wf_record *r, wf_field f);

/* Resolves f's pointers relative to obj (a conversation element) instead
 * of the record root; not cached. */
const wf_jval *wf_field_in(const wf_parser *p, wf_field f, const wf_jval *obj);

/* Sets *r->reason and a message; returns WF_EPARSE. */
int wf_rec_fail(wf_record *r, wf_bad_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Extra memory an event owns beyond its document: a chain of blocks freed
 * by wf_event_clear. Returns NULL on OOM. */
void *wf_event_alloc(wf_event *ev, size_t n);

/* Optional string field: sets *out to the value (borrowed), an integer
 * formatted into event memory (ids are often numeric), or "" when absent. */
int wf_rec_string(wf_record *r, wf_field f, int allow_int, const char **out);
/* Required variant: absent -> WF_BAD_MISSING_FIELD. */
int wf_rec_string_req(wf_record *r, wf_field f, int allow_int, const char **out);
/* Required integer >= 0. */
int wf_rec_turn(wf_record *r, wf_field f, int64_t *out);

/* Where a value sits, for error messages: "field", "field[i]" or
 * "field[i].sub" (index < 0: the field itself). Formatted only on failure. */
typedef struct wf_where {
    const char *field;
    long index;
    const char *sub;
} wf_where;

const char *wf_where_str(const wf_where *w, char *buf, size_t n);

/* WF_BAD_VALUE naming w when s[0..n) holds a NUL, else 0. */
int wf_rec_check_nul(wf_record *r, const char *s, size_t n, const wf_where *w);

/* Message content: a string or an array of content parts (text parts joined
 * by "\n" into event memory). */
int wf_content(wf_record *r, const wf_jval *v, const wf_where *w, wf_msg *out);
/* Normalised role: aliases mapped ("human" -> "user", "gpt" -> "assistant"). */
const char *wf_role_normalize(const char *role);

/* The fields every shape may carry: user_id, language, model, timestamp. */
int wf_rec_common(wf_record *r);

int wf_parse_message(wf_record *r);
int wf_parse_conversation(wf_record *r);
int wf_parse_feedback(wf_record *r);
/* A stored sample: members by their fixed names (our own format). */
int wf_parse_sample(wf_record *r);

/* Unix seconds from an ISO 8601 string or a number; 0 when unparsable. */
int64_t wf_timestamp_value(const wf_jval *v);
int64_t wf_timestamp_parse(const char *s, size_t n);

#endif
