/* When to train: on request, after enough new samples, or after the interval
 * when anything new arrived; not before a failed run's retry time. Pure, so the trainer thread's
 * policy is tested with a fake clock. */
#include "wildfeed/trainer.h"

#define RETRY_FIRST_S 60

const char *wf_trigger_name(wf_trigger t)
{
    switch (t) {
    case WF_TRIGGER_REQUEST: return "request";
    case WF_TRIGGER_COUNT: return "new_samples";
    case WF_TRIGGER_INTERVAL: return "interval";
    case WF_TRIGGER_NONE: break;
    }
    return "none";
}

void wf_trigger_opts_from_config(wf_trigger_opts *o, const wf_config *cfg)
{
    o->min_samples = wf_config_int(cfg, "train.min_samples");
    o->min_new_samples = wf_config_int(cfg, "train.min_new_samples");
    o->interval_s = wf_config_int(cfg, "train.interval_s");
}

wf_trigger wf_trigger_check(const wf_trigger_opts *o, const wf_trigger_state *s, int64_t now)
{
    if (s->requested)
        return WF_TRIGGER_REQUEST;
    if (now < s->retry_at)
        return WF_TRIGGER_NONE;
    if (s->total < o->min_samples || s->new_samples <= 0)
        return WF_TRIGGER_NONE;
    if (s->new_samples >= o->min_new_samples)
        return WF_TRIGGER_COUNT;
    if (now - s->last_attempt >= o->interval_s)
        return WF_TRIGGER_INTERVAL;
    return WF_TRIGGER_NONE;
}

int64_t wf_trigger_retry_delay(const wf_trigger_opts *o, int failed_before)
{
    int64_t delay = RETRY_FIRST_S;
    for (int i = 0; i < failed_before && i < 40 && delay < o->interval_s; i++) /* no overflow */
        delay *= 2;
    return delay < o->interval_s ? delay : o->interval_s;
}
