/* Parses the input as one record with the default configuration and checks
 * the invariants every caller relies on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/event.h"
#include "wildfeed/sample.h"

static void check_msg(const wf_msg *m)
{
    if (!m->role || !m->content || strlen(m->content) != m->content_len)
        abort();
}

static void check_event(const wf_event *ev)
{
    if (!ev->conversation_id || !ev->conversation_id[0] || !ev->user_id || !ev->language ||
        !ev->model || ev->timestamp < 0)
        abort();
    switch (ev->shape) {
    case WF_SHAPE_MESSAGE:
        check_msg(&ev->message);
        if (ev->turn < 0)
            abort();
        break;
    case WF_SHAPE_CONVERSATION:
        for (size_t i = 0; i < ev->n_messages; i++)
            check_msg(&ev->messages[i]);
        break;
    case WF_SHAPE_FEEDBACK:
        if (ev->rating < 1 || ev->rating > 5 || ev->target_turn < 0)
            abort();
        break;
    case WF_SHAPE_SAMPLE:
        if (ev->n_messages < 2 || ev->turn < 0 || !ev->feedback || !ev->reason ||
            ev->annotation < 1 || ev->annotation > 5 || ev->label < 1 || ev->label > 4 ||
            ev->source < 0 || ev->source >= WF_SRC_COUNT)
            abort();
        for (size_t i = 0; i < ev->n_messages; i++)
            check_msg(&ev->messages[i]);
        break;
    case WF_SHAPE_AUTO: abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wf_error err;
    wf_config *cfg = wf_config_new();
    wf_parser *p = cfg ? wf_parser_new(cfg, &err) : NULL;
    if (!p)
        abort();
    wf_event ev;
    wf_bad_reason reason = WF_BAD_COUNT;
    int rc = wf_event_parse(p, (const char *)data, size, &ev, &reason, &err);
    if (rc == 0) {
        check_event(&ev);
        wf_event_clear(&ev);
    } else if (rc == WF_EPARSE && (reason >= WF_BAD_COUNT || !err.msg[0] || ev.doc)) {
        abort();
    }
    wf_parser_free(p);
    wf_config_free(cfg);
    return 0;
}
