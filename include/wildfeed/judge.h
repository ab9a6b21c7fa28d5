/* Judge plugins (DESIGN §5): turn a candidate into an annotation level.
 *
 * The interface is asynchronous so that a remote judge can keep hundreds of
 * requests in flight: submit() queues a request and returns at once (or
 * WF_EAGAIN when the judge's bounded queue is full), poll() hands back the
 * verdicts that are ready, in any order, matched by tag. A judge copies what
 * it needs from the request during submit(). */
#ifndef WILDFEED_JUDGE_H
#define WILDFEED_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/config.h"
#include "wildfeed/err.h"

typedef enum wf_judge_task {
    WF_TASK_FEEDBACK = 0, /* annotate the feedback message, levels 1..5 */
    WF_TASK_REFUSAL       /* decide whether the response is a refusal, and of what */
} wf_judge_task;

typedef enum wf_refusal_kind {
    WF_REFUSAL_NONE = 0, /* not a refusal: the label stands */
    WF_REFUSAL_CORRECT,  /* refused a harmful request: label 5 */
    WF_REFUSAL_FALSE     /* refused a benign request: label 1 */
} wf_refusal_kind;

typedef struct wf_judge_request {
    uint64_t tag; /* caller's handle, returned in the verdict */
    wf_judge_task task;
    const char *query;    /* the user message the response answers */
    const char *response; /* the assistant reply */
    const char *feedback; /* the user's next message (FEEDBACK task) */
} wf_judge_request;

typedef enum wf_verdict_status {
    WF_VERDICT_OK = 0,
    WF_VERDICT_FAILED, /* the judge gave up (errors, unparsable answers): count, do not guess */
    WF_VERDICT_PARKED  /* durably parked for later (breaker open); it will come back */
} wf_verdict_status;

typedef struct wf_verdict {
    uint64_t tag;
    wf_judge_task task;
    wf_verdict_status status;
    int level;               /* FEEDBACK: 1..5 */
    wf_refusal_kind refusal; /* REFUSAL */
    int confident;           /* 1 when the judge is sure (cascade keeps these) */
    int source;              /* wf_label_source that produced it (rules or llm) */
    char reason[160];
} wf_verdict;

typedef struct wf_judge wf_judge;

typedef struct wf_judge_ops {
    const char *name;
    int (*submit)(wf_judge *j, const wf_judge_request *req, wf_error *err);
    /* Waits up to timeout_ms for at least one verdict; returns how many were
     * written to out (at most max). */
    size_t (*poll)(wf_judge *j, wf_verdict *out, size_t max, int timeout_ms);
    size_t (*in_flight)(const wf_judge *j);
    int (*validates_refusals)(const wf_judge *j);
    void (*destroy)(wf_judge *j);
} wf_judge_ops;

struct wf_judge {
    const wf_judge_ops *ops;
    void *impl;
};

/* Creates the judge named by judge.kind. The judge is owned by the caller and
 * freed with wf_judge_free. */
wf_judge *wf_judge_create(const wf_config *cfg, wf_error *err);
/* Creates a judge by kind name ("rules", "llm", "cascade"). */
wf_judge *wf_judge_create_kind(const char *kind, const wf_config *cfg, wf_error *err);
void wf_judge_free(wf_judge *j);

static inline int wf_judge_submit(wf_judge *j, const wf_judge_request *r, wf_error *err)
{
    return j->ops->submit(j, r, err);
}
static inline size_t wf_judge_poll(wf_judge *j, wf_verdict *out, size_t max, int timeout_ms)
{
    return j->ops->poll(j, out, max, timeout_ms);
}
static inline size_t wf_judge_in_flight(const wf_judge *j)
{
    return j->ops->in_flight(j);
}
static inline int wf_judge_validates_refusals(const wf_judge *j)
{
    return j->ops->validates_refusals(j);
}

#endif
