/* wf_parser: the input.* configuration compiled into pointer lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

const char *const wf_field_names[WF_F_COUNT] = {
    [WF_F_CONVERSATION_ID] = "conversation_id",
    [WF_F_TURN] = "turn",
    [WF_F_ROLE] = "role",
    [WF_F_CONTENT] = "content",
    [WF_F_USER_ID] = "user_id",
    [WF_F_LANGUAGE] = "language",
    [WF_F_MODEL] = "model",
    [WF_F_TIMESTAMP] = "timestamp",
    [WF_F_CONVERSATION] = "conversation",
    [WF_F_RESPONSE] = "response",
    [WF_F_TYPE] = "type",
    [WF_F_RATING] = "rating",
};

const char *wf_shape_name(wf_shape s)
{
    static const char *const names[WF_SHAPE_COUNT] = {
        [WF_SHAPE_AUTO] = "auto",
        [WF_SHAPE_MESSAGE] = "message",
        [WF_SHAPE_CONVERSATION] = "conversation",
        [WF_SHAPE_FEEDBACK] = "feedback",
        [WF_SHAPE_SAMPLE] = "sample",
    };
    return (unsigned)s < WF_SHAPE_COUNT ? names[s] : "unknown";
}

static int shape_from_name(const char *name, wf_shape *out)
{
    for (int i = 0; i < WF_SHAPE_COUNT; i++) {
        if (strcmp(name, wf_shape_name((wf_shape)i)) == 0) {
            *out = (wf_shape)i;
            return 0;
        }
    }
    return -1;
}

static int compile_field(wf_parser *p, const wf_config *cfg, wf_field f, wf_error *err)
{
    char key[64];
    snprintf(key, sizeof key, "input.fields.%s", wf_field_names[f]);
    size_t n = wf_config_list_len(cfg, key);
    wf_ptr_list *l = &p->fields[f];
    l->ptrs = n ? calloc(n, sizeof *l->ptrs) : NULL;
    if (n && !l->ptrs)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        wf_error perr;
        if (wf_jptr_compile(&l->ptrs[i], wf_config_list_at(cfg, key, i), &perr) < 0)
            return wf_error_set(err, perr.code, "%s: %s", key, perr.msg);
        l->n = i + 1;
    }
    return 0;
}

wf_parser *wf_parser_new(const wf_config *cfg, wf_error *err)
{
    wf_parser *p = calloc(1, sizeof *p);
    if (!p) {
        wf_error_set(err, WF_ENOMEM, "out of memory");
        return NULL;
    }
    const char *shape = wf_config_str(cfg, "input.shape");
    if (shape_from_name(shape, &p->shape) < 0) {
        wf_error_set(err, WF_EINVAL, "input.shape: unknown shape '%s'", shape);
        free(p);
        return NULL;
    }
    int64_t max = wf_config_int(cfg, "input.max_record_bytes");
    if (max <= 0) {
        wf_error_set(err, WF_EINVAL, "input.max_record_bytes: must be positive");
        free(p);
        return NULL;
    }
    p->max_bytes = (size_t)max;
    for (int f = 0; f < WF_F_COUNT; f++) {
        if (compile_field(p, cfg, (wf_field)f, err) < 0) {
            wf_parser_free(p);
            return NULL;
        }
    }
    return p;
}

void wf_parser_free(wf_parser *p)
{
    if (!p)
        return;
    for (int f = 0; f < WF_F_COUNT; f++) {
        for (size_t i = 0; i < p->fields[f].n; i++)
            wf_jptr_free(&p->fields[f].ptrs[i]);
        free(p->fields[f].ptrs);
    }
    free(p);
}
