/* Candidates from a conversation snapshot: the snapshot carries its own
 * history, so every assistant reply followed by a user message becomes a
 * candidate, with no state beyond this record. */
#include "feedback/snapshot.h"

#include <stdio.h>
#include <stdlib.h>

#include "feedback/pipeline_internal.h"

/* Indexes of the user and assistant messages; returns how many. */
static size_t dialogue(const wf_event *ev, size_t *dlg)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->n_messages; i++) {
        const char *role = ev->messages[i].role;
        if (wf_role_is_user(role) || wf_role_is_assistant(role))
            dlg[n++] = i;
    }
    return n;
}

/* The candidate whose response is dialogue message k (query k-1, feedback k+1). */
static wf_candidate *make_candidate(const wf_event *ev, const size_t *dlg, size_t k, int t,
                                    int64_t now)
{
    size_t n_hist = k - 1;
    wf_msg stack_hist[32];
    wf_msg *hist = n_hist <= 32 ? stack_hist : malloc(n_hist * sizeof *hist);
    if (!hist)
        return NULL;
    for (size_t i = 0; i < n_hist; i++)
        hist[i] = ev->messages[dlg[i]];
    wf_candidate_parts parts = {
        .conversation_id = ev->conversation_id,
        .turn = t,
        .response_turn = (int64_t)dlg[k],
        .user_id = ev->user_id,
        .language = ev->language,
        .model = ev->model,
        .created_at = ev->timestamp ? ev->timestamp : now,
        .history = hist,
        .n_history = n_hist,
        .query = ev->messages[dlg[k - 1]].content,
        .response = ev->messages[dlg[k]].content,
        .feedback = ev->messages[dlg[k + 1]].content,
    };
    wf_candidate *c = wf_candidate_new(&parts);
    if (hist != stack_hist)
        free(hist);
    return c;
}

int wf_snapshot_candidates(const wf_event *ev, size_t max_history, int64_t now, wf_snapshot_fn fn,
                           void *ctx)
{
    size_t *dlg = malloc((ev->n_messages ? ev->n_messages : 1) * sizeof *dlg);
    if (!dlg)
        return WF_ENOMEM;
    size_t n = dialogue(ev, dlg);
    int t = 0, rc = 0;
    for (size_t k = 1; k < n && rc == 0; k++) {
        if (!wf_role_is_assistant(ev->messages[dlg[k]].role) ||
            !wf_role_is_user(ev->messages[dlg[k - 1]].role))
            continue;
        if (k + 1 < n && wf_role_is_user(ev->messages[dlg[k + 1]].role)) {
            wf_candidate *c = NULL;
            if (k - 1 <= max_history && !(c = make_candidate(ev, dlg, k, t, now)))
                rc = WF_ENOMEM;
            else
                rc = fn(ctx, t, c);
        }
        t++;
    }
    free(dlg);
    return rc;
}

typedef struct admit_ctx {
    wf_pipeline *p;
    convwork *cw;
} admit_ctx;

static int admit(void *ctx, int t, wf_candidate *cand)
{
    admit_ctx *a = ctx;
    if (!cand) {
        wf_turn_admit_dropped(a->p, a->cw, t, WF_DROP_HISTORY_TOO_LONG);
        return 0;
    }
    return wf_turn_admit(a->p, a->cw, cand);
}

/* Snapshots of one conversation may be in flight together (a gateway logs
 * each request with its whole history), so each gets a private convwork. */
int wf_snapshot_feed(wf_pipeline *p, const wf_event *ev, int64_t now)
{
    p->stats.conversations++;
    char key[96];
    snprintf(key, sizeof key, "%s%llu", p->snapshot_prefix, (unsigned long long)++p->snapshot_seq);
    admit_ctx a = {p, wf_cw_get(p, key, ev->conversation_id, 1)};
    if (!a.cw)
        return WF_ENOMEM;
    int rc = wf_snapshot_candidates(ev, p->max_history, now, admit, &a);
    wf_cw_close(p, a.cw);
    return rc;
}
