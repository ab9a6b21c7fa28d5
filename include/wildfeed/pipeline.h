/* The extraction pipeline (DESIGN §2): parse -> sessions -> candidates ->
 * filters -> judge -> hindsight -> refusal validation -> quota -> label map
 * -> sink. `wildfeed extract` drives it over files; the daemon drives it from
 * Kafka. It is single-threaded: one thread feeds and pumps it. The judge may
 * work on its own threads behind its asynchronous interface. */
#ifndef WILDFEED_PIPELINE_H
#define WILDFEED_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/config.h"
#include "wildfeed/err.h"
#include "wildfeed/event.h"
#include "wildfeed/judge.h"
#include "wildfeed/sample.h"
#include "wildfeed/strbuf.h"

/* Why a candidate did not become a sample. Stable names (metric labels). */
typedef enum wf_drop_reason {
    WF_DROP_LANGUAGE = 0,
    WF_DROP_IMAGE_GENERATION,
    WF_DROP_WEB_SEARCH,
    WF_DROP_URL,
    WF_DROP_IDENTITY,
    WF_DROP_UPLOADED_FILE,
    WF_DROP_AUDIO_VIDEO,
    WF_DROP_PII,
    WF_DROP_HISTORY_TOO_LONG,
    WF_DROP_RESPONSE_TOO_SHORT,
    WF_DROP_QUERY_TOO_SHORT,
    WF_DROP_TEXT_TOO_LONG,
    WF_DROP_NEUTRAL,             /* stayed neutral after hindsight: not trained on */
    WF_DROP_REFUSAL_UNVALIDATED, /* refusal and no judge able to validate it */
    WF_DROP_JUDGE_FAILED,
    WF_DROP_QUOTA,
    WF_DROP_COUNT
} wf_drop_reason;

const char *wf_drop_reason_name(wf_drop_reason r);

/* Things the conversation state noticed about message events. */
typedef enum wf_session_note {
    WF_SESS_DUPLICATE = 0, /* turn already seen: replay, ignored */
    WF_SESS_GAP,           /* turn skipped ahead: state restarted at the new turn */
    WF_SESS_EVICTED_TTL,
    WF_SESS_EVICTED_CAPACITY,
    WF_SESS_FEEDBACK_UNKNOWN_TURN, /* explicit feedback for a turn not in state */
    WF_SESS_COUNT
} wf_session_note;

const char *wf_session_note_name(wf_session_note n);

typedef enum wf_hindsight_outcome {
    WF_HS_PROMOTED = 0,   /* neutral turn took a later >=4 label */
    WF_HS_BLOCKED_TOPIC,  /* a later >=4 label on another topic */
    WF_HS_LATER_NEGATIVE, /* a later 1-2 label (only counted) */
    WF_HS_EXPIRED,        /* window closed with nothing to take */
    WF_HS_COUNT
} wf_hindsight_outcome;

const char *wf_hindsight_outcome_name(wf_hindsight_outcome o);

typedef struct wf_pipeline_stats {
    _Atomic uint64_t records, bytes;
    _Atomic uint64_t bad[WF_BAD_COUNT];
    _Atomic uint64_t by_shape[WF_SHAPE_COUNT]; /* indexed by wf_shape */
    _Atomic uint64_t conversations; /* snapshots plus distinct message-event conversations */
    _Atomic uint64_t candidates;
    _Atomic uint64_t judged_level[6]; /* annotation levels 1..5 from the judge */
    _Atomic uint64_t drops[WF_DROP_COUNT];
    _Atomic uint64_t session[WF_SESS_COUNT];
    _Atomic uint64_t hindsight[WF_HS_COUNT];
    _Atomic uint64_t refusals_detected;
    _Atomic uint64_t refusal_outcome[3]; /* indexed by wf_refusal_kind */
    _Atomic uint64_t explicit_feedback;
    _Atomic uint64_t samples;
    _Atomic uint64_t samples_by_label[5]; /* 1..4 */
    _Atomic uint64_t samples_by_source[WF_SRC_COUNT];
    _Atomic uint64_t neutral_waiting; /* gauge: neutral turns in their hindsight window */
} wf_pipeline_stats;

/* Where samples go. put() takes ownership of the sample on success and on
 * failure alike. Precedence between sources for one id (explicit outranks
 * implicit) is the sink's job: a sample may be put again under the same id. */
typedef struct wf_sample_sink {
    int (*put)(void *ctx, wf_sample *s, wf_error *err);
    void *ctx;
} wf_sample_sink;

typedef struct wf_pipeline wf_pipeline;

/* The judge and sink are borrowed and must outlive the pipeline. */
wf_pipeline *wf_pipeline_new(const wf_config *cfg, wf_judge *judge, wf_sample_sink sink,
                             wf_error *err);
void wf_pipeline_free(wf_pipeline *p);

/* Feeds one raw record (a JSONL line or a Kafka message value). Bad records
 * are counted by reason and return WF_EPARSE with the reason in *reason (when
 * non-NULL). now is unix seconds, used for TTLs and when the record has no
 * timestamp. Returns WF_EAGAIN when the judge is full: pump and feed the same
 * record again. When feed returns, everything the record caused is either
 * done or held as pipeline state (see wf_pipeline_take_changes). */
int wf_pipeline_feed(wf_pipeline *p, const char *buf, size_t len, int64_t now,
                     wf_bad_reason *reason, wf_error *err);

/* Counts a record refused before it reached the parser (a line or message
 * over the size limit that the reader skipped). */
void wf_pipeline_reject(wf_pipeline *p, wf_bad_reason reason, size_t len);

/* Collects verdicts (waiting up to timeout_ms) and moves candidates on. */
int wf_pipeline_pump(wf_pipeline *p, int timeout_ms, wf_error *err);

/* Expires conversation state idle past the TTL at time now. */
void wf_pipeline_tick(wf_pipeline *p, int64_t now);

/* End of input: waits for every verdict, closes every hindsight window and
 * puts what remains. Used by `extract` and on shutdown. */
int wf_pipeline_finish(wf_pipeline *p, wf_error *err);

const wf_pipeline_stats *wf_pipeline_get_stats(const wf_pipeline *p);

/* ---- persistence: what the daemon writes at each store commit ----
 *
 * The pipeline holds two kinds of state between records: conversations of
 * message events (history, exchange count) and turns still in flight
 * (awaiting a verdict, neutral awaiting hindsight, or kept as hindsight
 * evidence). With tracking on, every change to either is listed, and the
 * daemon writes the listed ones in the same transaction as the samples, so
 * a committed batch holds every consequence of the records fed before it. */

typedef enum wf_change_kind { WF_CHANGE_CONVERSATION = 0, WF_CHANGE_TURN } wf_change_kind;

typedef struct wf_change {
    wf_change_kind kind;
    const char *key; /* conversation id, or the turn's key */
    const char *conversation_id;
    const wf_strbuf *state; /* serialized state; NULL: delete the stored copy */
    int64_t at;             /* last activity, unix seconds */
} wf_change;

void wf_pipeline_track_changes(wf_pipeline *p);

/* Replaces the in-memory per-user quota (quota.per_user_per_day) with a
 * durable one: take(ctx, cand) returns 1 when the candidate's user may add a
 * sample (and counts it), 0 when the quota is spent. */
void wf_pipeline_set_quota(wf_pipeline *p, int (*take)(void *ctx, const wf_candidate *c),
                           void *ctx);
/* Hands every change since the last call to fn; a non-zero return stops and
 * keeps the rest for the next call. */
int wf_pipeline_take_changes(wf_pipeline *p, int (*fn)(void *ctx, const wf_change *c), void *ctx);
/* Restores a stored conversation (WF_CHANGE_CONVERSATION state). */
int wf_pipeline_restore_conversation(wf_pipeline *p, const char *state, size_t len,
                                     int64_t last_seen, wf_error *err);
/* Restores a stored turn (WF_CHANGE_TURN state); turns that were awaiting a
 * verdict are submitted to the judge again. */
int wf_pipeline_restore_turn(wf_pipeline *p, const char *state, size_t len, wf_error *err);
/* After the last restore: closes restored snapshot conversations. */
void wf_pipeline_restore_done(wf_pipeline *p);

/* Per-stage report, as text or as one JSON object. elapsed_s for throughput.
 * extra: more members for the JSON object, as `"key":value` text (the
 * caller's own counts), or NULL. */
void wf_pipeline_report_text(const wf_pipeline_stats *s, double elapsed_s, wf_strbuf *out);
void wf_pipeline_report_json(const wf_pipeline_stats *s, double elapsed_s, const char *extra,
                             wf_strbuf *out);

/* Prometheus collector over a pipeline's stats (ctx = the stats). */
void wf_pipeline_stats_collect(void *ctx, wf_strbuf *out);

#endif
