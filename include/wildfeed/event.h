/* Parsed input records, in the three shapes of DESIGN §3 and the fleet's
 * stored samples (DESIGN §11).
 *
 * A wf_event owns the parsed JSON document; every string in it is borrowed
 * from that document and lives until wf_event_clear. */
#ifndef WILDFEED_EVENT_H
#define WILDFEED_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/config.h"
#include "wildfeed/err.h"

typedef enum wf_shape {
    WF_SHAPE_AUTO = 0,
    WF_SHAPE_MESSAGE,      /* one chat message: needs conversation state */
    WF_SHAPE_CONVERSATION, /* a snapshot carrying its own history */
    WF_SHAPE_FEEDBACK,     /* thumbs or stars on an assistant turn */
    WF_SHAPE_SAMPLE        /* a stored sample, as wf_sample_to_jsonl writes it */
} wf_shape;

/* Shapes, WF_SHAPE_AUTO included: the size of an array indexed by wf_shape.
 * A macro, not an enumerator, so that switches over wf_shape stay complete. */
#define WF_SHAPE_COUNT (WF_SHAPE_SAMPLE + 1)

/* "auto", "message", "conversation", "feedback", "sample": the values of
 * input.shape and the metric labels; "unknown" for anything else. */
const char *wf_shape_name(wf_shape s);

/* Why a record was refused. Stable names, used as metric labels. */
typedef enum wf_bad_reason {
    WF_BAD_NOT_JSON = 0,
    WF_BAD_MISSING_FIELD,
    WF_BAD_TYPE,
    WF_BAD_UTF8,
    WF_BAD_TOO_LARGE,
    WF_BAD_UNKNOWN_SHAPE,
    WF_BAD_VALUE, /* right type, impossible value (negative turn, rating 9) */
    WF_BAD_COUNT
} wf_bad_reason;

const char *wf_bad_reason_name(wf_bad_reason r);

typedef struct wf_msg {
    const char *role; /* "user", "assistant", "system", ... as logged; "" if absent */
    const char *content;
    size_t content_len;
} wf_msg;

typedef struct wf_event {
    wf_shape shape;
    const char *conversation_id;
    const char *user_id;  /* "" when absent */
    const char *language; /* "" when absent: detected from text later */
    const char *model;    /* "" when absent */
    int64_t timestamp;    /* unix seconds; 0 when absent or unparsable */

    /* WF_SHAPE_MESSAGE; WF_SHAPE_SAMPLE: the exchange number t of its id */
    int64_t turn;
    wf_msg message;

    /* WF_SHAPE_CONVERSATION: messages in order (system messages included).
     * WF_SHAPE_SAMPLE: the history, then the query (role "user") and the
     * response (role "assistant"), so n_messages >= 2. */
    wf_msg *messages;
    size_t n_messages;

    /* WF_SHAPE_FEEDBACK: target assistant turn and its level 1..5 */
    int64_t target_turn;
    int rating;

    /* WF_SHAPE_SAMPLE, with conversation_id, user_id, language, model and
     * turn above; timestamp is created_at (0 when absent). Its id was checked
     * to be "<conversation_id>_turn<turn>", and label to be
     * wf_label_from_annotation(annotation). */
    const char *feedback; /* user_feedback */
    const char *reason;   /* the judge's reason; "" when absent */
    int annotation;       /* 1..5 */
    int label;            /* 1..4 */
    int source;           /* a wf_label_source (sample.h) */

    void *doc;   /* the parsed document (one block, private to ingest), owned */
    void *extra; /* memory beyond the document (message arrays, joined content
                    parts, derived ids), owned; freed by wf_event_clear */
} wf_event;

typedef struct wf_parser wf_parser;

/* Builds a parser from input.* keys (shape, size limit, field pointers).
 * The parser is owned by the caller and is read-only after creation, so one
 * parser may serve several threads. */
wf_parser *wf_parser_new(const wf_config *cfg, wf_error *err);
void wf_parser_free(wf_parser *p);

/* Parses one record. On failure returns WF_EPARSE, sets *reason and a message
 * naming the field; ev is left empty. On success ev owns the document. */
int wf_event_parse(const wf_parser *p, const char *buf, size_t len, wf_event *ev,
                   wf_bad_reason *reason, wf_error *err);
void wf_event_clear(wf_event *ev);

#endif
