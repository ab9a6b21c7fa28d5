/* The pipeline's private state, shared by its files: pipeline.c (feeding and
 * pumping), turns.c (verdicts, hindsight, emission), snapshot.c (snapshot
 * candidates), quota.c (per-user quota). */
#ifndef WF_FEEDBACK_PIPELINE_INTERNAL_H
#define WF_FEEDBACK_PIPELINE_INTERNAL_H

#include "feedback/filters.h"
#include "feedback/quota.h"
#include "feedback/refusal.h"
#include "feedback/template.h"
#include "session/session.h"
#include "wildfeed/pipeline.h"

enum turn_state {
    TURN_JUDGING = 0, /* verdicts outstanding */
    TURN_NEUTRAL,     /* judged neutral, waiting for its hindsight window */
    TURN_FINISHED     /* emitted or dropped; kept only as hindsight evidence */
};

/* One exchange of a conversation on its way through judging and hindsight.
 * Turns are allocated one by one so their address is the judge tag. */
typedef struct turn {
    struct convwork *cw;
    wf_candidate *cand; /* owned until emitted */
    int t;
    int state;
    int need;         /* verdicts outstanding */
    int failed;       /* a verdict failed */
    int level;        /* the judge's level of the feedback: hindsight evidence */
    int judge_source; /* wf_label_source of that level */
    int is_refusal;
    int refusal_kind; /* wf_refusal_kind from validation */
    int superseded;   /* an explicit rating arrived: emit nothing */
    int persisted;    /* a stored copy exists (tracking on) */
    long change;      /* index in the pipeline's change list, or -1 */
    char *evidence;   /* feedback text of a >=4 turn, for the topic gate */
    char reason[160];
    struct turn *next; /* in the conversation, ascending t */
} turn;

#define WF_CW_BUCKETS 4096

/* The turns of one conversation still in flight or needed as evidence.
 * Snapshots get a private one per record; message events share one per
 * conversation id for as long as the session keeps the conversation. */
typedef struct convwork {
    char *key;
    char *conversation_id;
    turn *head;
    int closed;          /* no further turns will come */
    int *explicit_turns; /* exchanges rated explicitly: implicit ones skip */
    size_t n_explicit;
    struct convwork *hnext;
} convwork;

/* A turn whose stored copy must be rewritten or deleted at the next take. */
typedef struct turn_change {
    struct turn *u; /* NULL once the turn is gone */
    char *cw_key;
    int t;
    int delete_stored; /* the turn is gone and had a stored copy */
} turn_change;

/* A judge request refused with WF_EAGAIN (retried on the next pump) or
 * parked by the judge (retried once not_before, a monotonic time, passes). */
typedef struct backlog_item {
    turn *u;
    wf_judge_task task;
    double not_before;
} backlog_item;

typedef struct backlog {
    backlog_item *items;
    size_t n, cap;
} backlog;

struct wf_pipeline {
    wf_parser *parser;
    wf_judge *judge;
    wf_sample_sink sink;
    wf_filters *filters;
    wf_refusal_detector *refusal;
    wf_template *tmpl;
    wf_session_table *sessions;
    wf_quota *quota; /* in-memory quota, or NULL when off or replaced */
    int (*quota_take)(void *ctx, const wf_candidate *c);
    void *quota_ctx;

    int window;
    double min_similarity;
    int ngram;
    double eval_fraction;
    size_t max_history;

    convwork **cw_buckets;
    uint64_t snapshot_seq; /* names each snapshot's private convwork */

    backlog retry;  /* refused with WF_EAGAIN */
    backlog parked; /* parked by the judge while its remote end is down */

    wf_verdict *verdicts; /* poll buffer */
    size_t n_verdicts;

    int track; /* list changes for persistence */
    turn_change *changes;
    size_t n_changes, cap_changes;
    char snapshot_prefix[48]; /* unique per process: snapshot convwork keys */

    wf_pipeline_stats stats;
    wf_error sink_error; /* first sink failure, reported by pump/finish */
    int sink_failed;
};

/* convwork table (pipeline.c) */
convwork *wf_cw_get(wf_pipeline *p, const char *key, const char *conversation_id, int create);
/* Marks cw closed, decides what can be decided, frees it when empty. */
void wf_cw_close(wf_pipeline *p, convwork *cw);
void wf_cw_release_if_idle(wf_pipeline *p, convwork *cw);
int wf_backlog_push(backlog *b, turn *u, wf_judge_task task, double not_before);
double wf_monotonic_s(void);

/* persist.c */
void wf_turn_changed(wf_pipeline *p, turn *u);
void wf_turn_gone(wf_pipeline *p, turn *u);
void wf_turn_free(wf_pipeline *p, turn *u);

/* turns.c */
turn *wf_turn_new(wf_pipeline *p, convwork *cw, int t);
/* Admits a candidate (ownership taken) as exchange t of cw: filters, refusal
 * detection, judge submission. */
int wf_turn_admit(wf_pipeline *p, convwork *cw, wf_candidate *cand);
/* Counts a candidate dropped before it was built (history too long). */
void wf_turn_admit_dropped(wf_pipeline *p, convwork *cw, int t, wf_drop_reason why);
void wf_turn_apply_verdict(wf_pipeline *p, const wf_verdict *v);
/* Decides every neutral turn whose window is complete; frees finished turns
 * no longer needed as evidence. */
void wf_turns_resolve(wf_pipeline *p, convwork *cw);
/* Emits an explicit rating for a candidate (ownership taken). */
void wf_turn_emit_explicit(wf_pipeline *p, wf_candidate *cand, int rating);
/* Makes a sample of cand (ownership taken) at annotation level: neutral is
 * dropped, then the quota, the template, the split, the stats and the sink. */
void wf_emit_sample(wf_pipeline *p, wf_candidate *cand, int level, wf_label_source source,
                    const char *reason);
int wf_submit(wf_pipeline *p, turn *u, wf_judge_task task);

/* snapshot.c */
int wf_snapshot_feed(wf_pipeline *p, const wf_event *ev, int64_t now);

#endif
