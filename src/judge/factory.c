/* The judge factory: maps judge.kind to a plugin's constructor. A new judge
 * is one more row in `kinds`. */
#include <string.h>

#include "wildfeed/judge.h"
#include "wildfeed/judge_llm.h"
#include "wildfeed/judge_rules.h"

/* judge.queue's schema default, used when no configuration is given. */
#define DEFAULT_QUEUE 1024

typedef wf_judge *(*judge_ctor)(const wf_config *cfg, wf_error *err);

static wf_judge *make_rules(const wf_config *cfg, wf_error *err)
{
    int64_t queue = cfg ? wf_config_int(cfg, "judge.queue") : DEFAULT_QUEUE;
    return wf_judge_rules_new((size_t)queue, err);
}

static const struct {
    const char *kind;
    judge_ctor make;
} kinds[] = {
    {"rules", make_rules},
    {"llm", wf_judge_llm_create},
    {"cascade", wf_judge_cascade_create},
};

wf_judge *wf_judge_create_kind(const char *kind, const wf_config *cfg, wf_error *err)
{
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return kinds[i].make(cfg, err);
    wf_error_set(err, WF_EINVAL, "unknown judge kind '%s' (rules, llm, cascade)",
                 kind ? kind : "(null)");
    return NULL;
}

wf_judge *wf_judge_create(const wf_config *cfg, wf_error *err)
{
    return wf_judge_create_kind(wf_config_str(cfg, "judge.kind"), cfg, err);
}

void wf_judge_free(wf_judge *j)
{
    if (j)
        j->ops->destroy(j);
}
