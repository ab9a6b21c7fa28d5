/* Fuzz target for restoring pipeline state from the store: a stored
 * conversation or turn may be corrupt (disk, an older build, a hand edit);
 * restoring it must fail cleanly or yield a usable state, never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/pipeline.h"

static int discard(void *ctx, wf_sample *s, wf_error *err)
{
    (void)ctx;
    (void)err;
    wf_sample_free(s);
    return 0;
}

static int ignore_change(void *ctx, const wf_change *c)
{
    (void)ctx;
    (void)c;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wf_error err;
    wf_config *cfg = wf_config_new();
    wf_judge *judge = cfg ? wf_judge_create(cfg, &err) : NULL;
    wf_pipeline *p =
        judge ? wf_pipeline_new(cfg, judge, (wf_sample_sink){discard, NULL}, &err) : NULL;
    if (p) {
        wf_pipeline_track_changes(p);
        wf_pipeline_restore_conversation(p, (const char *)data, size, 0, &err);
        wf_pipeline_restore_turn(p, (const char *)data, size, &err);
        wf_pipeline_restore_done(p);
        wf_pipeline_pump(p, 0, &err);
        wf_pipeline_take_changes(p, ignore_change, NULL);
        wf_pipeline_finish(p, &err);
    }
    wf_pipeline_free(p);
    wf_judge_free(judge);
    wf_config_free(cfg);
    return 0;
}
