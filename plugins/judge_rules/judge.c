/* The rules judge behind the asynchronous judge interface: verdicts are
 * computed in submit() and wait in a bounded ring until poll() takes them.
 * One thread drives a judge, like every judge of the pipeline. */
#include <stdio.h>
#include <stdlib.h>

#include "wildfeed/judge_rules.h"
#include "wildfeed/sample.h"

typedef struct rules_judge {
    wf_judge base; /* first, so the judge pointer is the allocation */
    wf_verdict *ring;
    size_t cap, head, count;
} rules_judge;

static void fill_feedback(wf_verdict *v, const wf_judge_request *req)
{
    wf_rules_result r;
    wf_rules_classify(req->query, req->response, req->feedback, &r);
    v->status = WF_VERDICT_OK;
    v->level = r.level;
    v->confident = r.confident;
    snprintf(v->reason, sizeof v->reason, "%s", r.reason);
}

static int rules_submit(wf_judge *j, const wf_judge_request *req, wf_error *err)
{
    rules_judge *rj = j->impl;
    if (rj->count == rj->cap)
        return wf_error_set(err, WF_EAGAIN, "rules judge: %zu verdicts waiting to be polled",
                            rj->count);
    wf_verdict *v = &rj->ring[(rj->head + rj->count) % rj->cap];
    *v = (wf_verdict){.tag = req->tag, .task = req->task, .source = WF_SRC_RULES};
    if (req->task == WF_TASK_FEEDBACK) {
        fill_feedback(v, req);
    } else {
        v->status = WF_VERDICT_FAILED;
        v->refusal = WF_REFUSAL_NONE;
        snprintf(v->reason, sizeof v->reason, "rules judge cannot validate refusals");
    }
    rj->count++;
    return 0;
}

/* Never blocks: every verdict exists once submit() returns, so an empty
 * ring means nothing more is coming and waiting would only stall ingest. */
static size_t rules_poll(wf_judge *j, wf_verdict *out, size_t max, int timeout_ms)
{
    (void)timeout_ms;
    rules_judge *rj = j->impl;
    size_t n = 0;
    for (; n < max && rj->count > 0; n++) {
        out[n] = rj->ring[rj->head];
        rj->head = (rj->head + 1) % rj->cap;
        rj->count--;
    }
    return n;
}

static size_t rules_in_flight(const wf_judge *j)
{
    const rules_judge *rj = j->impl;
    return rj->count;
}

static int rules_validates_refusals(const wf_judge *j)
{
    (void)j;
    return 0;
}

static void rules_destroy(wf_judge *j)
{
    rules_judge *rj = j->impl;
    free(rj->ring);
    free(rj);
}

static const wf_judge_ops rules_ops = {
    .name = "rules",
    .submit = rules_submit,
    .poll = rules_poll,
    .in_flight = rules_in_flight,
    .validates_refusals = rules_validates_refusals,
    .destroy = rules_destroy,
};

wf_judge *wf_judge_rules_new(size_t queue_cap, wf_error *err)
{
    if (queue_cap == 0) {
        wf_error_set(err, WF_EINVAL, "rules judge: queue capacity must be at least 1");
        return NULL;
    }
    rules_judge *rj = calloc(1, sizeof *rj);
    wf_verdict *ring = rj ? calloc(queue_cap, sizeof *ring) : NULL;
    if (!ring) {
        free(rj);
        wf_error_set(err, WF_ENOMEM, "rules judge: out of memory for %zu verdicts", queue_cap);
        return NULL;
    }
    rj->ring = ring;
    rj->cap = queue_cap;
    rj->base.ops = &rules_ops;
    rj->base.impl = rj;
    return &rj->base;
}
