/* The promotion gate: a candidate replaces the current model only if it is
 * not worse on any evaluation metric by more than that metric's tolerance. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "wildfeed/trainer.h"

/* Metrics are averages of a few thousand terms at most, so a difference that
 * equals the tolerance in decimal may come out a few ulps above it. */
#define GATE_SLACK 1e-9

void wf_gate_opts_from_config(wf_gate_opts *o, const wf_config *cfg)
{
    o->max_accuracy_drop = wf_config_double(cfg, "train.gate.max_accuracy_drop");
    o->max_mae_rise = wf_config_double(cfg, "train.gate.max_mae_rise");
    o->max_ece_rise = wf_config_double(cfg, "train.gate.max_ece_rise");
    o->max_auc_drop = wf_config_double(cfg, "train.gate.max_auc_drop");
    o->max_pairwise_drop = wf_config_double(cfg, "train.gate.max_pairwise_drop");
}

typedef struct gate_check {
    int bit;
    const char *name;
    double cand, cur, tol;
    int higher_is_better;
} gate_check;

static void append_reason(wf_gate_decision *d, const char *fmt, const char *name, double cand,
                          double cur, double tol)
{
    size_t len = strlen(d->reason);
    if (len + 3 >= sizeof d->reason)
        return;
    snprintf(d->reason + len, sizeof d->reason - len, fmt, len ? "; " : "", name, cand, cur, tol);
}

static void run_check(const gate_check *c, wf_gate_decision *d)
{
    if (!isfinite(c->cand) || !isfinite(c->cur))
        return;
    double worse = c->higher_is_better ? c->cur - c->cand : c->cand - c->cur;
    if (worse <= c->tol + GATE_SLACK)
        return;
    d->failed |= c->bit;
    append_reason(d,
                  c->higher_is_better ? "%s%s %.4f < current %.4f - %.4f"
                                      : "%s%s %.4f > current %.4f + %.4f",
                  c->name, c->cand, c->cur, c->tol);
}

int wf_gate_current_unusable(int rc)
{
    switch (rc) {
    case WF_ENOMEM:
    case WF_EIO:
    case WF_EAGAIN:
    case WF_EREMOTE:
    case WF_ETIMEOUT:
    case WF_ECANCELED: return 0;
    default: return rc < 0;
    }
}

void wf_gate_decide(const wf_gate_opts *o, const wf_eval_metrics *candidate,
                    const wf_eval_metrics *current, wf_gate_decision *out)
{
    memset(out, 0, sizeof *out);
    if (!current) {
        out->promote = 1;
        snprintf(out->reason, sizeof out->reason, "no current model");
        return;
    }
    if (candidate->n == 0) {
        out->failed = WF_GATE_NO_EVAL;
        snprintf(out->reason, sizeof out->reason, "no eval samples to compare on");
        return;
    }
    const gate_check checks[] = {
        {WF_GATE_ACCURACY, "accuracy", candidate->accuracy, current->accuracy, o->max_accuracy_drop,
         1},
        {WF_GATE_MAE, "mae", candidate->mae, current->mae, o->max_mae_rise, 0},
        {WF_GATE_ECE, "ece", candidate->ece, current->ece, o->max_ece_rise, 0},
        {WF_GATE_AUC, "auc", candidate->auc, current->auc, o->max_auc_drop, 1},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        run_check(&checks[i], out);
    if (candidate->pairs && current->pairs) {
        gate_check pw = {WF_GATE_PAIRWISE,  "pairwise",           candidate->pairwise,
                         current->pairwise, o->max_pairwise_drop, 1};
        run_check(&pw, out);
    }
    out->promote = out->failed == 0;
    if (out->promote)
        snprintf(out->reason, sizeof out->reason, "within tolerances of the current model");
}
