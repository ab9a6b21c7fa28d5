/* `wildfeed judge`: one verdict per candidate, no filters, no hindsight, so
 * a judge can be audited against labelled data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "cli/inputs.h"
#include "feedback/snapshot.h"
#include "session/session.h"
#include "wildfeed/judge.h"

static const char usage[] =
    "usage: wildfeed judge -i FILE... [--judge rules|llm|cascade] [-c CONFIG] [--set k=v]...\n"
    "  Prints one JSON line per candidate: {\"id\",\"annotation\",\"source\",\"reason\"}.\n";

#define SLOTS 1024

/* Candidate ids by judge tag (the slot index) while their verdicts are out. */
typedef struct auditor {
    wf_judge *judge;
    char *ids[SLOTS];
    size_t busy;
    size_t next_free;
    wf_strbuf line;
    wf_verdict verdicts[64];
} auditor;

static void print_verdict(auditor *a, const wf_verdict *v)
{
    wf_strbuf *b = &a->line;
    wf_strbuf_reset(b);
    wf_strbuf_puts(b, "{\"id\":");
    const char *id = a->ids[v->tag];
    wf_strbuf_json_string(b, id, strlen(id));
    if (v->status == WF_VERDICT_OK)
        wf_strbuf_printf(b, ",\"annotation\":%d", v->level);
    else
        wf_strbuf_puts(b, ",\"annotation\":null");
    wf_strbuf_puts(b, ",\"source\":");
    const char *src = wf_label_source_name((wf_label_source)v->source);
    wf_strbuf_json_string(b, src, strlen(src));
    wf_strbuf_puts(b, ",\"reason\":");
    wf_strbuf_json_string(b, v->reason, strlen(v->reason));
    wf_strbuf_puts(b, "}\n");
    fwrite(b->data, 1, b->len, stdout);
    free(a->ids[v->tag]);
    a->ids[v->tag] = NULL;
    a->busy--;
}

static void drain(auditor *a, int timeout_ms)
{
    size_t n = wf_judge_poll(a->judge, a->verdicts, 64, timeout_ms);
    for (size_t i = 0; i < n; i++)
        print_verdict(a, &a->verdicts[i]);
}

static size_t free_slot(auditor *a)
{
    while (a->busy == SLOTS)
        drain(a, 100);
    while (a->ids[a->next_free])
        a->next_free = (a->next_free + 1) % SLOTS;
    return a->next_free;
}

static int judge_candidate(void *ctx, int t, wf_candidate *cand)
{
    auditor *a = ctx;
    (void)t;
    if (!cand)
        return 0; /* history over the limit: judged only by `extract` rules */
    size_t slot = free_slot(a);
    a->ids[slot] = strdup(cand->id);
    wf_judge_request req = {.tag = slot,
                            .task = WF_TASK_FEEDBACK,
                            .query = cand->query,
                            .response = cand->response,
                            .feedback = cand->feedback};
    int rc = a->ids[slot] ? 0 : WF_ENOMEM;
    if (rc == 0) {
        a->busy++;
        while ((rc = wf_judge_submit(a->judge, &req, NULL)) == WF_EAGAIN)
            drain(a, 10);
        if (rc < 0) {
            free(a->ids[slot]);
            a->ids[slot] = NULL;
            a->busy--;
        }
    }
    wf_candidate_free(cand);
    return rc;
}

static int judge_record(auditor *a, const wf_parser *parser, wf_session_table *sessions,
                        const char *line, size_t len)
{
    wf_event ev;
    wf_bad_reason why;
    wf_error err;
    int rc = wf_event_parse(parser, line, len, &ev, &why, &err);
    if (rc == WF_ENOMEM)
        return rc;
    if (rc < 0) {
        fprintf(stderr, "wildfeed: skipped a record: %s: %s\n", wf_bad_reason_name(why), err.msg);
        return 0;
    }
    rc = 0;
    int64_t now = (int64_t)time(NULL);
    if (ev.shape == WF_SHAPE_CONVERSATION) {
        rc = wf_snapshot_candidates(&ev, SIZE_MAX, now, judge_candidate, a);
    } else if (ev.shape == WF_SHAPE_MESSAGE) {
        wf_session_result res;
        rc = wf_session_apply(sessions, &ev, now, &res);
        if (rc == 0 && res.candidate)
            rc = judge_candidate(a, res.candidate->turn, res.candidate);
    }
    wf_event_clear(&ev);
    return rc;
}

static int audit(wf_config *cfg, wf_inputs *in, auditor *a)
{
    wf_error err;
    wf_parser *parser = wf_parser_new(cfg, &err);
    /* History is never filtered here, so keep every message of a conversation. */
    wf_session_table *sessions =
        wf_session_table_new((size_t)wf_config_int(cfg, "session.max_conversations"),
                             wf_config_int(cfg, "session.ttl_s"), 10000, NULL, NULL);
    int rc = parser && sessions ? 0 : -1;
    if (!parser)
        fprintf(stderr, "wildfeed: %s\n", err.msg);
    for (size_t i = 0; rc == 0 && i < in->n; i++) {
        const char *line;
        size_t len;
        int got;
        while (rc == 0 && (got = wf_line_reader_next(in->readers[i], &line, &len, &err)) > 0)
            if (got == WF_LINE_OK)
                rc = judge_record(a, parser, sessions, line, len);
        if (got < 0) {
            fprintf(stderr, "wildfeed: %s\n", err.msg);
            rc = -1;
        }
    }
    while (a->busy)
        drain(a, 100);
    wf_session_table_free(sessions);
    wf_parser_free(parser);
    return rc;
}

int wf_cmd_judge(int argc, char **argv)
{
    wf_config *cfg = wf_cli_load_config(&argc, argv);
    if (!cfg)
        return 2;
    const char **paths = calloc((size_t)argc, sizeof *paths);
    size_t n = 0;
    int bad = !paths;
    for (int i = 1; !bad && i < argc; i++) {
        wf_error err;
        char set[64];
        if (strcmp(argv[i], "-i") == 0) {
            while (i + 1 < argc && (argv[i + 1][0] != '-' || strcmp(argv[i + 1], "-") == 0))
                paths[n++] = argv[++i];
        } else if (strcmp(argv[i], "--judge") == 0 && i + 1 < argc) {
            snprintf(set, sizeof set, "judge.kind=%s", argv[++i]);
            if (wf_config_set(cfg, set, &err) < 0) {
                fprintf(stderr, "wildfeed: %s\n", err.msg);
                bad = 1;
            }
        } else {
            bad = 1;
        }
    }
    int status = 2;
    wf_inputs in = {0};
    if (bad || n == 0) {
        fputs(usage, stderr);
    } else if (wf_inputs_open(&in, paths, n, (size_t)wf_config_int(cfg, "input.max_record_bytes")) <
               0) {
        status = 1;
    } else {
        wf_error err;
        auditor *a = calloc(1, sizeof *a);
        a->judge = a ? wf_judge_create(cfg, &err) : NULL;
        if (!a || !a->judge)
            fprintf(stderr, "wildfeed: %s\n", a ? err.msg : "out of memory");
        else
            status = audit(cfg, &in, a) == 0 ? 0 : 1;
        if (a) {
            wf_judge_free(a->judge);
            wf_strbuf_free(&a->line);
        }
        free(a);
        wf_inputs_close(&in);
    }
    free(paths);
    wf_config_free(cfg);
    return status;
}
