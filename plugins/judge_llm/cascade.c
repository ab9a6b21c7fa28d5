/* The cascade judge: rules first; a confident non-neutral rules verdict is
 * kept, everything else (neutral or unsure, and every refusal) goes to the
 * llm judge. Rules verdicts wait in a small ring of their own until polled. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "llm_judge_impl.h"
#include "wildfeed/judge_rules.h"
#include "wildfeed/sample.h"

typedef struct cascade {
    wf_judge base;
    wf_judge *llm; /* owned */
    pthread_mutex_t lock;
    wf_verdict *ready; /* ring of cap */
    size_t cap, head, len;
    wf_cascade_counters c;
    int metrics_handle;
} cascade;

/* wf_judge_free lives in the judges module, which links this one. */
static void destroy_judge(wf_judge *j)
{
    if (j)
        j->ops->destroy(j);
}

static int rules_keep(cascade *cj, const wf_judge_request *req, wf_error *err)
{
    wf_rules_result r;
    wf_rules_classify(req->query, req->response, req->feedback, &r);
    if (!r.confident || r.level == 3)
        return 0;
    pthread_mutex_lock(&cj->lock);
    int full = cj->len >= cj->cap;
    if (!full) {
        wf_verdict *v = &cj->ready[(cj->head + cj->len++) % cj->cap];
        memset(v, 0, sizeof *v);
        v->tag = req->tag;
        v->task = req->task;
        v->status = WF_VERDICT_OK;
        v->level = r.level;
        v->confident = 1;
        v->source = WF_SRC_RULES;
        snprintf(v->reason, sizeof v->reason, "%s", r.reason ? r.reason : "rules");
    }
    pthread_mutex_unlock(&cj->lock);
    if (full)
        return wf_error_set(err, WF_EAGAIN, "cascade judge: queue full (%zu)", cj->cap);
    return 1;
}

static int cascade_submit(wf_judge *j, const wf_judge_request *req, wf_error *err)
{
    cascade *cj = j->impl;
    if (req->task == WF_TASK_FEEDBACK) {
        int kept = rules_keep(cj, req, err);
        if (kept < 0)
            return kept;
        if (kept) {
            cj->c.total++;
            return 0;
        }
    }
    int rc = wf_judge_submit(cj->llm, req, err);
    if (rc == 0) {
        cj->c.total++;
        cj->c.to_llm++;
    }
    return rc;
}

static size_t cascade_poll(wf_judge *j, wf_verdict *out, size_t max, int timeout_ms)
{
    cascade *cj = j->impl;
    size_t n = 0;
    pthread_mutex_lock(&cj->lock);
    while (n < max && cj->len > 0) {
        out[n++] = cj->ready[cj->head];
        cj->head = (cj->head + 1) % cj->cap;
        cj->len--;
    }
    pthread_mutex_unlock(&cj->lock);
    if (n < max)
        n += wf_judge_poll(cj->llm, out + n, max - n, n > 0 ? 0 : timeout_ms);
    return n;
}

static size_t cascade_in_flight(const wf_judge *j)
{
    cascade *cj = j->impl;
    pthread_mutex_lock(&cj->lock);
    size_t n = cj->len;
    pthread_mutex_unlock(&cj->lock);
    return n + wf_judge_in_flight(cj->llm);
}

static int cascade_validates_refusals(const wf_judge *j)
{
    (void)j;
    return 1;
}

static void cascade_collect(void *ctx, wf_strbuf *out)
{
    cascade *cj = ctx;
    uint64_t total = cj->c.total, to_llm = cj->c.to_llm;
    wf_metrics_header(out, "wildfeed_cascade_candidates_total", "counter",
                      "Candidates the cascade judge accepted.");
    wf_metrics_line_u64(out, "wildfeed_cascade_candidates_total", NULL, total);
    wf_metrics_header(out, "wildfeed_cascade_to_llm_total", "counter",
                      "Candidates the cascade judge sent on to the LLM.");
    wf_metrics_line_u64(out, "wildfeed_cascade_to_llm_total", NULL, to_llm);
    wf_metrics_header(out, "wildfeed_cascade_llm_share", "gauge",
                      "Share of candidates sent to the LLM.");
    wf_metrics_line_f64(out, "wildfeed_cascade_llm_share", NULL,
                        total ? (double)to_llm / (double)total : 0.0);
}

static void cascade_destroy(wf_judge *j)
{
    cascade *cj = j->impl;
    if (cj->metrics_handle >= 0)
        wf_metrics_unregister(cj->metrics_handle);
    destroy_judge(cj->llm);
    pthread_mutex_destroy(&cj->lock);
    free(cj->ready);
    free(cj);
}

static const wf_judge_ops cascade_ops = {
    .name = "cascade",
    .submit = cascade_submit,
    .poll = cascade_poll,
    .in_flight = cascade_in_flight,
    .validates_refusals = cascade_validates_refusals,
    .destroy = cascade_destroy,
};

wf_judge *wf_cascade_inner(const wf_judge *j)
{
    return j && j->ops == &cascade_ops ? ((cascade *)j->impl)->llm : NULL;
}

const wf_cascade_counters *wf_cascade_counters_of(const wf_judge *j)
{
    return j && j->ops == &cascade_ops ? &((cascade *)j->impl)->c : NULL;
}

wf_judge *wf_judge_cascade_new(wf_judge *llm, wf_error *err)
{
    if (!llm || llm->ops != &wf_llm_judge_ops) {
        destroy_judge(llm);
        wf_error_set(err, WF_EINVAL, "cascade judge: needs an llm judge");
        return NULL;
    }
    cascade *cj = calloc(1, sizeof *cj);
    size_t cap = ((wf_llm_judge *)llm->impl)->opt.queue_cap;
    if (cj)
        cj->ready = calloc(cap, sizeof *cj->ready);
    if (!cj || !cj->ready || pthread_mutex_init(&cj->lock, NULL) != 0) {
        if (cj)
            free(cj->ready);
        free(cj);
        destroy_judge(llm);
        wf_error_set(err, WF_ENOMEM, "cascade judge: out of memory");
        return NULL;
    }
    cj->llm = llm;
    cj->cap = cap;
    cj->base.ops = &cascade_ops;
    cj->base.impl = cj;
    cj->metrics_handle = wf_metrics_register(cascade_collect, cj);
    return &cj->base;
}

wf_judge *wf_judge_cascade_create(const wf_config *cfg, wf_error *err)
{
    wf_judge *llm = wf_judge_llm_create(cfg, err);
    return llm ? wf_judge_cascade_new(llm, err) : NULL;
}
