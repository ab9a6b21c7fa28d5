/* Feeding and pumping the pipeline; the convwork table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feedback/pipeline_internal.h"
#include "wildfeed/log.h"

#define VERDICT_BATCH 256

double wf_monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t cw_bucket(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return h % WF_CW_BUCKETS;
}

convwork *wf_cw_get(wf_pipeline *p, const char *key, const char *conversation_id, int create)
{
    convwork **slot = &p->cw_buckets[cw_bucket(key)];
    for (convwork *cw = *slot; cw; cw = cw->hnext)
        if (strcmp(cw->key, key) == 0)
            return cw;
    if (!create)
        return NULL;
    convwork *cw = calloc(1, sizeof *cw);
    if (!cw || !(cw->key = strdup(key)) || !(cw->conversation_id = strdup(conversation_id))) {
        if (cw)
            free(cw->key);
        free(cw);
        return NULL;
    }
    cw->hnext = *slot;
    *slot = cw;
    return cw;
}

void wf_cw_release_if_idle(wf_pipeline *p, convwork *cw)
{
    if (!cw->closed || cw->head)
        return;
    convwork **slot = &p->cw_buckets[cw_bucket(cw->key)];
    while (*slot != cw)
        slot = &(*slot)->hnext;
    *slot = cw->hnext;
    free(cw->explicit_turns);
    free(cw->conversation_id);
    free(cw->key);
    free(cw);
}

void wf_cw_close(wf_pipeline *p, convwork *cw)
{
    cw->closed = 1;
    wf_turns_resolve(p, cw);
    wf_cw_release_if_idle(p, cw);
}

int wf_backlog_push(backlog *b, turn *u, wf_judge_task task, double not_before)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        backlog_item *grown = realloc(b->items, cap * sizeof *grown);
        if (!grown)
            return WF_ENOMEM;
        b->items = grown;
        b->cap = cap;
    }
    b->items[b->n++] = (backlog_item){u, task, not_before};
    return 0;
}

/* Resubmits what is due; items refused again go back into p->retry. */
static int backlog_drain(wf_pipeline *p, backlog *b, double now)
{
    size_t n = b->n, keep = 0;
    b->n = 0;
    backlog_item *items = b->items;
    b->items = NULL;
    b->cap = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].not_before > now)
            items[keep++] = items[i];
        else if (rc == 0)
            rc = wf_submit(p, items[i].u, items[i].task);
        else
            wf_backlog_push(&p->retry, items[i].u, items[i].task, 0);
    }
    for (size_t i = 0; i < keep; i++)
        wf_backlog_push(b, items[i].u, items[i].task, items[i].not_before);
    free(items);
    return rc;
}

static void on_session_evict(void *ctx, const char *conversation_id, wf_session_note why)
{
    wf_pipeline *p = ctx;
    p->stats.session[why]++;
    convwork *cw = wf_cw_get(p, conversation_id, conversation_id, 0);
    if (cw)
        wf_cw_close(p, cw);
}

static int read_settings(wf_pipeline *p, const wf_config *cfg, wf_error *err)
{
    p->window = (int)wf_config_int(cfg, "hindsight.window");
    p->min_similarity = wf_config_double(cfg, "hindsight.min_similarity");
    p->ngram = (int)wf_config_int(cfg, "hindsight.ngram");
    p->eval_fraction = wf_config_double(cfg, "sample.eval_fraction");
    p->max_history = (size_t)wf_config_int(cfg, "filter.max_history_messages");
    size_t kept = (size_t)wf_config_int(cfg, "session.max_messages");
    if (kept < p->max_history + 2)
        return wf_error_set(err, WF_EINVAL,
                            "configuration key 'session.max_messages': must be at least "
                            "filter.max_history_messages + 2 (%zu)",
                            p->max_history + 2);
    p->sessions =
        wf_session_table_new((size_t)wf_config_int(cfg, "session.max_conversations"),
                             wf_config_int(cfg, "session.ttl_s"), kept, on_session_evict, p);
    int64_t quota = wf_config_int(cfg, "quota.per_user_per_day");
    if (quota > 0)
        p->quota = wf_quota_new(quota);
    if (!p->sessions || (quota > 0 && !p->quota))
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    return 0;
}

wf_pipeline *wf_pipeline_new(const wf_config *cfg, wf_judge *judge, wf_sample_sink sink,
                             wf_error *err)
{
    wf_pipeline *p = calloc(1, sizeof *p);
    if (!p) {
        wf_error_set(err, WF_ENOMEM, "out of memory");
        return NULL;
    }
    p->judge = judge;
    p->sink = sink;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(p->snapshot_prefix, sizeof p->snapshot_prefix,
             "snap:%lld.%09ld:", (long long)ts.tv_sec, ts.tv_nsec);
    p->cw_buckets = calloc(WF_CW_BUCKETS, sizeof *p->cw_buckets);
    p->verdicts = calloc(VERDICT_BATCH, sizeof *p->verdicts);
    p->n_verdicts = VERDICT_BATCH;
    if (!p->cw_buckets || !p->verdicts || read_settings(p, cfg, err) < 0 ||
        !(p->parser = wf_parser_new(cfg, err)) || !(p->filters = wf_filters_new(cfg, err)) ||
        !(p->refusal = wf_refusal_detector_new(cfg, err)) ||
        !(p->tmpl = wf_template_load(wf_config_str(cfg, "sample.template_file"), err))) {
        if (!p->cw_buckets || !p->verdicts)
            wf_error_set(err, WF_ENOMEM, "out of memory");
        wf_pipeline_free(p);
        return NULL;
    }
    return p;
}

static void free_convworks(wf_pipeline *p)
{
    for (size_t i = 0; p->cw_buckets && i < WF_CW_BUCKETS; i++) {
        while (p->cw_buckets[i]) {
            convwork *cw = p->cw_buckets[i];
            p->cw_buckets[i] = cw->hnext;
            while (cw->head) {
                turn *u = cw->head;
                cw->head = u->next;
                wf_candidate_free(u->cand);
                free(u->evidence);
                free(u);
            }
            free(cw->explicit_turns);
            free(cw->conversation_id);
            free(cw->key);
            free(cw);
        }
    }
    free(p->cw_buckets);
}

void wf_pipeline_free(wf_pipeline *p)
{
    if (!p)
        return;
    /* Records of unfinished turns are abandoned: their sources replay them. */
    wf_session_table_free(p->sessions);
    free_convworks(p);
    wf_parser_free(p->parser);
    wf_filters_free(p->filters);
    wf_refusal_detector_free(p->refusal);
    wf_template_free(p->tmpl);
    wf_quota_free(p->quota);
    for (size_t i = 0; i < p->n_changes; i++)
        free(p->changes[i].cw_key);
    free(p->changes);
    free(p->retry.items);
    free(p->parked.items);
    free(p->verdicts);
    free(p);
}

static int feed_message(wf_pipeline *p, const wf_event *ev, int64_t now)
{
    wf_session_result res;
    int rc = wf_session_apply(p->sessions, ev, now, &res);
    if (rc < 0)
        return rc;
    if (res.new_conversation)
        p->stats.conversations++;
    if (res.note >= 0)
        p->stats.session[res.note]++;
    if (!res.candidate && !res.history_overflow)
        return 0;
    convwork *cw = wf_cw_get(p, ev->conversation_id, ev->conversation_id, 1);
    if (!cw) {
        wf_candidate_free(res.candidate);
        return WF_ENOMEM;
    }
    if (res.history_overflow) {
        wf_turn_admit_dropped(p, cw, res.overflow_turn, WF_DROP_HISTORY_TOO_LONG);
        return 0;
    }
    return wf_turn_admit(p, cw, res.candidate);
}

static void feed_feedback(wf_pipeline *p, const wf_event *ev, int64_t now)
{
    int note;
    wf_candidate *cand = wf_session_explicit_candidate(p->sessions, ev, now, &note);
    if (!cand) {
        p->stats.session[note]++;
        return;
    }
    wf_turn_emit_explicit(p, cand, ev->rating);
}

/* A sample another instance stored (the fleet's samples topic, a replayed
 * export) was labelled there: it skips the filters, the judge, hindsight and
 * conversation state. The quota, the template and the split are ours. */
static int feed_sample(wf_pipeline *p, const wf_event *ev, int64_t now)
{
    size_t n_hist = ev->n_messages - 2; /* the parser guarantees the last two */
    wf_candidate_parts parts = {
        .conversation_id = ev->conversation_id,
        .turn = (int)ev->turn,
        .response_turn = -1,
        .user_id = ev->user_id,
        .language = ev->language,
        .model = ev->model,
        .created_at = ev->timestamp ? ev->timestamp : now,
        .history = ev->messages,
        .n_history = n_hist,
        .query = ev->messages[n_hist].content,
        .response = ev->messages[n_hist + 1].content,
        .feedback = ev->feedback,
    };
    wf_candidate *cand = wf_candidate_new(&parts);
    if (!cand)
        return WF_ENOMEM;
    wf_emit_sample(p, cand, ev->annotation, (wf_label_source)ev->source, ev->reason);
    return 0;
}

static int feed_event(wf_pipeline *p, const wf_event *ev, int64_t now)
{
    p->stats.by_shape[ev->shape]++;
    switch (ev->shape) {
    case WF_SHAPE_MESSAGE: return feed_message(p, ev, now);
    case WF_SHAPE_CONVERSATION: return wf_snapshot_feed(p, ev, now);
    case WF_SHAPE_FEEDBACK: feed_feedback(p, ev, now); return 0;
    case WF_SHAPE_SAMPLE: return feed_sample(p, ev, now);
    default: return 0;
    }
}

int wf_pipeline_feed(wf_pipeline *p, const char *buf, size_t len, int64_t now,
                     wf_bad_reason *reason, wf_error *err)
{
    if (p->retry.n && backlog_drain(p, &p->retry, wf_monotonic_s()) == 0 && p->retry.n)
        return wf_error_set(err, WF_EAGAIN, "judge queue full");
    p->stats.records++;
    p->stats.bytes += len;
    wf_event ev;
    wf_bad_reason why;
    int rc = wf_event_parse(p->parser, buf, len, &ev, &why, err);
    if (rc == WF_ENOMEM)
        return rc;
    if (rc < 0) {
        p->stats.bad[why]++;
        if (reason)
            *reason = why;
        return WF_EPARSE;
    }
    rc = feed_event(p, &ev, now);
    wf_event_clear(&ev);
    if (rc < 0)
        return wf_error_set(err, rc, "out of memory processing a record");
    return 0;
}

void wf_pipeline_reject(wf_pipeline *p, wf_bad_reason reason, size_t len)
{
    p->stats.records++;
    p->stats.bytes += len;
    p->stats.bad[reason]++;
}

int wf_pipeline_pump(wf_pipeline *p, int timeout_ms, wf_error *err)
{
    double now = wf_monotonic_s();
    if (p->retry.n)
        backlog_drain(p, &p->retry, now);
    if (p->parked.n)
        backlog_drain(p, &p->parked, now);
    size_t n = wf_judge_poll(p->judge, p->verdicts, p->n_verdicts, timeout_ms);
    for (size_t i = 0; i < n; i++)
        wf_turn_apply_verdict(p, &p->verdicts[i]);
    if (p->sink_failed) {
        if (err)
            *err = p->sink_error;
        return p->sink_error.code ? p->sink_error.code : WF_EIO;
    }
    return 0;
}

void wf_pipeline_tick(wf_pipeline *p, int64_t now)
{
    wf_session_expire(p->sessions, now);
}

int wf_pipeline_finish(wf_pipeline *p, wf_error *err)
{
    while (p->retry.n || p->parked.n || wf_judge_in_flight(p->judge) > 0) {
        int rc = wf_pipeline_pump(p, 100, err);
        if (rc < 0)
            return rc;
    }
    wf_session_clear(p->sessions);
    for (size_t i = 0; i < WF_CW_BUCKETS; i++) {
        convwork *cw = p->cw_buckets[i];
        while (cw) {
            convwork *next = cw->hnext;
            wf_cw_close(p, cw);
            cw = next;
        }
    }
    return wf_pipeline_pump(p, 0, err);
}

void wf_pipeline_set_quota(wf_pipeline *p, int (*take)(void *ctx, const wf_candidate *c), void *ctx)
{
    wf_quota_free(p->quota);
    p->quota = NULL;
    p->quota_take = take;
    p->quota_ctx = ctx;
}

const wf_pipeline_stats *wf_pipeline_get_stats(const wf_pipeline *p)
{
    return &p->stats;
}
