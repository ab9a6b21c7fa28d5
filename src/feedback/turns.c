/* The life of one exchange after its candidate exists: filters, judging,
 * refusal validation, hindsight, quota and emission to the sink. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feedback/pipeline_internal.h"
#include "feedback/similarity.h"
#include "wildfeed/log.h"

#define TAG_TASK_MASK ((uint64_t)1)

turn *wf_turn_new(wf_pipeline *p, convwork *cw, int t)
{
    turn *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->cw = cw;
    u->t = t;
    u->change = -1;
    turn **at = &cw->head;
    while (*at && (*at)->t <= t)
        at = &(*at)->next;
    u->next = *at;
    *at = u;
    wf_turn_changed(p, u);
    return u;
}

static int is_explicit(const convwork *cw, int t)
{
    for (size_t i = 0; i < cw->n_explicit; i++)
        if (cw->explicit_turns[i] == t)
            return 1;
    return 0;
}

void wf_emit_sample(wf_pipeline *p, wf_candidate *cand, int level, wf_label_source source,
                    const char *reason)
{
    int label = wf_label_from_annotation(level);
    if (label == 0) {
        p->stats.drops[WF_DROP_NEUTRAL]++;
        wf_candidate_free(cand);
        return;
    }
    int allowed = p->quota_take ? p->quota_take(p->quota_ctx, cand)
                  : p->quota    ? wf_quota_take(p->quota, cand->user_id, cand->created_at)
                                : 1;
    if (!allowed) {
        p->stats.drops[WF_DROP_QUOTA]++;
        wf_candidate_free(cand);
        return;
    }
    wf_sample *s = calloc(1, sizeof *s);
    wf_strbuf text;
    wf_strbuf_init(&text);
    wf_template_render(p->tmpl, cand->history, cand->n_history, cand->query, cand->response, &text);
    if (!s || text.oom) {
        free(s);
        wf_strbuf_free(&text);
        wf_candidate_free(cand);
        p->sink_failed = 1;
        wf_error_set(&p->sink_error, WF_ENOMEM, "out of memory building a sample");
        return;
    }
    s->cand = cand;
    s->annotation = level;
    s->label = label;
    s->source = source;
    snprintf(s->reason, sizeof s->reason, "%s", reason);
    s->eval = wf_split_is_eval(cand->id, p->eval_fraction);
    s->text = wf_strbuf_take(&text);
    p->stats.samples++;
    p->stats.samples_by_label[label]++;
    p->stats.samples_by_source[source]++;
    wf_error err;
    wf_error_clear(&err);
    if (p->sink.put(p->sink.ctx, s, &err) < 0 && !p->sink_failed) {
        p->sink_failed = 1;
        p->sink_error = err;
    }
}

void wf_turn_admit_dropped(wf_pipeline *p, convwork *cw, int t, wf_drop_reason why)
{
    p->stats.candidates++;
    p->stats.drops[why]++;
    turn *u = wf_turn_new(p, cw, t);
    if (u)
        u->state = TURN_FINISHED;
    wf_turns_resolve(p, cw);
}

int wf_submit(wf_pipeline *p, turn *u, wf_judge_task task)
{
    wf_judge_request req = {
        .tag = (uint64_t)(uintptr_t)u | (uint64_t)task,
        .task = task,
        .query = u->cand->query,
        .response = u->cand->response,
        .feedback = u->cand->feedback,
    };
    wf_error err;
    int rc = wf_judge_submit(p->judge, &req, &err);
    if (rc == WF_EAGAIN)
        return wf_backlog_push(&p->retry, u, task, 0);
    if (rc < 0) {
        wf_verdict v = {.tag = req.tag, .task = task, .status = WF_VERDICT_FAILED};
        snprintf(v.reason, sizeof v.reason, "submit failed: %.140s", err.msg);
        wf_turn_apply_verdict(p, &v);
    }
    return 0;
}

int wf_turn_admit(wf_pipeline *p, convwork *cw, wf_candidate *cand)
{
    if (is_explicit(cw, cand->turn)) {
        wf_candidate_free(cand);
        return 0;
    }
    int refusal = wf_refusal_detect(p->refusal, cand->response, strlen(cand->response));
    const char *language = cand->language;
    int drop = wf_filters_check(p->filters, cand, refusal, &language);
    if (!cand->language[0])
        cand->language = language;
    if (drop < 0 && refusal) {
        p->stats.refusals_detected++;
        if (!wf_judge_validates_refusals(p->judge))
            drop = WF_DROP_REFUSAL_UNVALIDATED;
    }
    if (drop >= 0) {
        int t = cand->turn;
        wf_candidate_free(cand);
        wf_turn_admit_dropped(p, cw, t, (wf_drop_reason)drop);
        return 0;
    }
    p->stats.candidates++;
    turn *u = wf_turn_new(p, cw, cand->turn);
    if (!u) {
        wf_candidate_free(cand);
        return WF_ENOMEM;
    }
    u->cand = cand;
    u->is_refusal = refusal;
    u->need = refusal ? 2 : 1;
    int rc = wf_submit(p, u, WF_TASK_FEEDBACK);
    if (rc == 0 && refusal)
        rc = wf_submit(p, u, WF_TASK_REFUSAL);
    return rc;
}

/* Turns a fully judged exchange into a sample now, or leaves it neutral to
 * wait for its hindsight window. */
static void finish_judged(wf_pipeline *p, turn *u)
{
    wf_turn_changed(p, u);
    if (u->level >= 4)
        u->evidence = strdup(u->cand->feedback);
    int level = u->level;
    wf_label_source source = (wf_label_source)u->judge_source;
    const char *reason = u->reason;
    if (u->failed) {
        p->stats.drops[WF_DROP_JUDGE_FAILED]++;
    } else if (u->superseded) {
        /* the explicit rating already went out */
    } else if (u->is_refusal && u->refusal_kind != WF_REFUSAL_NONE) {
        int correct = u->refusal_kind == WF_REFUSAL_CORRECT;
        level = correct ? 5 : 1;
        source = WF_SRC_REFUSAL;
        reason = correct ? "refusal of a harmful request" : "false refusal of a benign request";
        wf_emit_sample(p, u->cand, level, source, reason);
        u->cand = NULL;
    } else if (level == 3) {
        u->state = TURN_NEUTRAL;
        p->stats.neutral_waiting++;
        return;
    } else {
        wf_emit_sample(p, u->cand, level, source, reason);
        u->cand = NULL;
    }
    u->state = TURN_FINISHED;
    wf_candidate_free(u->cand);
    u->cand = NULL;
}

void wf_turn_apply_verdict(wf_pipeline *p, const wf_verdict *v)
{
    turn *u = (turn *)(uintptr_t)(v->tag & ~TAG_TASK_MASK);
    if (v->status == WF_VERDICT_PARKED) {
        wf_backlog_push(&p->parked, u, v->task, wf_monotonic_s() + 1.0);
        return;
    }
    if (v->status == WF_VERDICT_FAILED) {
        u->failed = 1;
        wf_log(WF_LOG_DEBUG, "judge failed", "id", u->cand->id, "reason", v->reason, NULL);
    } else if (v->task == WF_TASK_FEEDBACK) {
        u->level = v->level >= 1 && v->level <= 5 ? v->level : 3;
        u->judge_source = v->source;
        snprintf(u->reason, sizeof u->reason, "%s", v->reason);
        p->stats.judged_level[u->level]++;
    } else {
        u->refusal_kind = v->refusal;
        p->stats.refusal_outcome[v->refusal]++;
    }
    if (--u->need > 0)
        return;
    convwork *cw = u->cw;
    finish_judged(p, u);
    wf_turns_resolve(p, cw);
    wf_cw_release_if_idle(p, cw);
}

/* Hindsight (DESIGN §1): a neutral turn takes the label of the first later
 * turn in its window judged >= 4 whose feedback is on the same topic. The
 * search stops at a turn still awaiting its verdict, which may be that one. */
typedef struct window_scan {
    turn *promoter;
    double similarity;
    int blocked;  /* a later >= 4 turn on another topic */
    int negative; /* a later 1-2 turn */
    int waiting;  /* stopped at a turn awaiting its verdict */
} window_scan;

static void scan_window(const wf_pipeline *p, const turn *u, window_scan *w)
{
    memset(w, 0, sizeof *w);
    const char *fb = u->cand->feedback;
    for (turn *v = u->next; v && v->t <= u->t + p->window; v = v->next) {
        if (v->state == TURN_JUDGING) {
            w->waiting = 1;
            return;
        }
        if (v->level == 1 || v->level == 2)
            w->negative = 1;
        if (v->level < 4 || !v->evidence)
            continue;
        double sim = wf_text_similarity(fb, strlen(fb), v->evidence, strlen(v->evidence), p->ngram);
        if (sim >= p->min_similarity) {
            w->promoter = v;
            w->similarity = sim;
            return;
        }
        w->blocked = 1;
    }
}

/* A neutral turn's window is complete when a turn at or past its end exists
 * (the scan reached it judged) or the conversation is closed. */
static int window_complete(const wf_pipeline *p, const convwork *cw, const turn *u)
{
    for (const turn *v = u->next; v; v = v->next)
        if (v->t >= u->t + p->window)
            return 1;
    return cw->closed;
}

static void decide_neutral(wf_pipeline *p, turn *u, const window_scan *w)
{
    if (w->negative)
        p->stats.hindsight[WF_HS_LATER_NEGATIVE]++;
    p->stats.neutral_waiting--;
    u->state = TURN_FINISHED;
    wf_turn_changed(p, u);
    if (u->superseded) {
        wf_candidate_free(u->cand);
    } else if (w->promoter) {
        char reason[160];
        snprintf(reason, sizeof reason, "hindsight: turn %d judged %d, similarity %.2f",
                 w->promoter->t, w->promoter->level, w->similarity);
        p->stats.hindsight[WF_HS_PROMOTED]++;
        wf_emit_sample(p, u->cand, w->promoter->level, WF_SRC_HINDSIGHT, reason);
    } else {
        p->stats.hindsight[w->blocked ? WF_HS_BLOCKED_TOPIC : WF_HS_EXPIRED]++;
        p->stats.drops[WF_DROP_NEUTRAL]++;
        wf_candidate_free(u->cand);
    }
    u->cand = NULL;
}

void wf_turns_resolve(wf_pipeline *p, convwork *cw)
{
    for (turn *u = cw->head; u; u = u->next) {
        if (u->state != TURN_NEUTRAL)
            continue;
        window_scan w;
        scan_window(p, u, &w);
        if (w.promoter || (!w.waiting && window_complete(p, cw, u)))
            decide_neutral(p, u, &w);
    }
    /* Evidence only flows to earlier turns, so a finished head is never needed again. */
    while (cw->head && cw->head->state == TURN_FINISHED) {
        turn *dead = cw->head;
        cw->head = dead->next;
        wf_turn_free(p, dead);
    }
}

void wf_turn_emit_explicit(wf_pipeline *p, wf_candidate *cand, int rating)
{
    p->stats.explicit_feedback++;
    convwork *cw = wf_cw_get(p, cand->conversation_id, cand->conversation_id, 1);
    if (cw) {
        int *grown = realloc(cw->explicit_turns, (cw->n_explicit + 1) * sizeof *grown);
        if (grown) {
            cw->explicit_turns = grown;
            cw->explicit_turns[cw->n_explicit++] = cand->turn;
        }
        for (turn *u = cw->head; u; u = u->next) {
            if (u->t == cand->turn) {
                u->superseded = 1;
                wf_turn_changed(p, u);
            }
        }
    }
    const char *language = cand->language;
    int drop = wf_filters_check(p->filters, cand, 0, &language);
    if (!cand->language[0])
        cand->language = language;
    if (drop >= 0) {
        p->stats.drops[drop]++;
        wf_candidate_free(cand);
        return;
    }
    wf_emit_sample(p, cand, rating, WF_SRC_EXPLICIT, "explicit rating");
}
