/* The per-stage report of `extract` and the daemon, as text or JSON, and the
 * Prometheus collector over the same counters. All three walk one table of
 * counter groups, so they can never disagree. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "wildfeed/metrics.h"
#include "wildfeed/pipeline.h"

static const char *bad_name(int i)
{
    return wf_bad_reason_name((wf_bad_reason)i);
}
static const char *drop_name(int i)
{
    return wf_drop_reason_name((wf_drop_reason)i);
}
static const char *sess_name(int i)
{
    return wf_session_note_name((wf_session_note)i);
}
static const char *hs_name(int i)
{
    return wf_hindsight_outcome_name((wf_hindsight_outcome)i);
}
static const char *src_name(int i)
{
    return wf_label_source_name((wf_label_source)i);
}
static const char *shape_name(int i)
{
    return wf_shape_name((wf_shape)i);
}
static const char *refusal_name(int i)
{
    static const char *const names[3] = {"not_refusal", "correct_refusal", "false_refusal"};
    return names[i];
}
static const char *number_name(int i)
{
    static const char *const names[6] = {"0", "1", "2", "3", "4", "5"};
    return names[i];
}

typedef struct group {
    const char *key;    /* JSON key and text title */
    const char *metric; /* Prometheus counter name */
    const char *label;  /* Prometheus label name */
    size_t offset;      /* of the first counter in wf_pipeline_stats */
    int first, count;   /* indexes [first, first + count) */
    const char *(*name)(int);
    const char *help;
} group;

#define AT(field) offsetof(wf_pipeline_stats, field)

static const group groups[] = {
    {"bad_records", "wildfeed_ingest_bad_records_total", "reason", AT(bad), 0, WF_BAD_COUNT,
     bad_name, "Records refused by the parser, by reason."},
    {"records_by_shape", "wildfeed_ingest_records_by_shape_total", "shape", AT(by_shape), 1,
     WF_SHAPE_COUNT - 1, shape_name, "Parsed records by input shape."},
    {"session_notes", "wildfeed_session_notes_total", "note", AT(session), 0, WF_SESS_COUNT,
     sess_name, "Conversation-state events: replays, gaps, evictions."},
    {"judged_levels", "wildfeed_judge_levels_total", "level", AT(judged_level), 1, 5, number_name,
     "Annotation levels returned by the judge."},
    {"refusals_validated", "wildfeed_refusals_validated_total", "outcome", AT(refusal_outcome), 0,
     3, refusal_name, "Refusal validation outcomes."},
    {"hindsight", "wildfeed_hindsight_total", "outcome", AT(hindsight), 0, WF_HS_COUNT, hs_name,
     "Hindsight decisions on neutral turns."},
    {"drops", "wildfeed_candidates_dropped_total", "reason", AT(drops), 0, WF_DROP_COUNT, drop_name,
     "Candidates that did not become samples, by reason."},
    {"samples_by_label", "wildfeed_samples_by_label_total", "label", AT(samples_by_label), 1, 4,
     number_name, "Samples emitted by ordinal label."},
    {"samples_by_source", "wildfeed_samples_by_source_total", "source", AT(samples_by_source), 0,
     WF_SRC_COUNT, src_name, "Samples emitted by label source."},
};

typedef struct scalar {
    const char *key;
    const char *metric;
    size_t offset;
    const char *help;
    const char *type;
} scalar;

static const scalar scalars[] = {
    {"records", "wildfeed_ingest_records_total", AT(records), "Records fed.", "counter"},
    {"bytes", "wildfeed_ingest_bytes_total", AT(bytes), "Bytes fed.", "counter"},
    {"conversations", "wildfeed_conversations_total", AT(conversations),
     "Snapshots plus distinct message-event conversations.", "counter"},
    {"candidates", "wildfeed_candidates_total", AT(candidates), "Candidates built.", "counter"},
    {"refusals_detected", "wildfeed_refusals_detected_total", AT(refusals_detected),
     "Responses that look like refusals.", "counter"},
    {"explicit_feedback", "wildfeed_explicit_feedback_total", AT(explicit_feedback),
     "Explicit feedback events applied.", "counter"},
    {"samples", "wildfeed_samples_total", AT(samples), "Samples emitted.", "counter"},
    {"neutral_waiting", "wildfeed_hindsight_waiting", AT(neutral_waiting),
     "Neutral turns waiting for their hindsight window to close.", "gauge"},
};

#define N_GROUPS (sizeof groups / sizeof groups[0])
#define N_SCALARS (sizeof scalars / sizeof scalars[0])

static uint64_t counter(const wf_pipeline_stats *s, size_t offset, int i)
{
    const _Atomic uint64_t *v = (const _Atomic uint64_t *)((const char *)s + offset);
    return v[i];
}

void wf_pipeline_report_text(const wf_pipeline_stats *s, double elapsed_s, wf_strbuf *out)
{
    for (size_t i = 0; i < N_SCALARS; i++)
        wf_strbuf_printf(out, "%-28s %12" PRIu64 "\n", scalars[i].key,
                         counter(s, scalars[i].offset, 0));
    for (size_t g = 0; g < N_GROUPS; g++) {
        const group *gr = &groups[g];
        wf_strbuf_printf(out, "%s\n", gr->key);
        for (int i = gr->first; i < gr->first + gr->count; i++) {
            uint64_t v = counter(s, gr->offset, i);
            if (v)
                wf_strbuf_printf(out, "  %-26s %12" PRIu64 "\n", gr->name(i), v);
        }
    }
    double secs = elapsed_s > 0 ? elapsed_s : 1e-9;
    wf_strbuf_printf(out, "throughput\n  %-26s %12.3f\n", "seconds", elapsed_s);
    wf_strbuf_printf(out, "  %-26s %12.0f\n", "records/s", (double)s->records / secs);
    wf_strbuf_printf(out, "  %-26s %12.0f\n", "candidates/s", (double)s->candidates / secs);
    wf_strbuf_printf(out, "  %-26s %12.2f\n", "MB/s", (double)s->bytes / 1e6 / secs);
}

void wf_pipeline_report_json(const wf_pipeline_stats *s, double elapsed_s, const char *extra,
                             wf_strbuf *out)
{
    wf_strbuf_putc(out, '{');
    for (size_t i = 0; i < N_SCALARS; i++)
        wf_strbuf_printf(out, "\"%s\":%" PRIu64 ",", scalars[i].key,
                         counter(s, scalars[i].offset, 0));
    for (size_t g = 0; g < N_GROUPS; g++) {
        const group *gr = &groups[g];
        wf_strbuf_printf(out, "\"%s\":{", gr->key);
        for (int i = gr->first; i < gr->first + gr->count; i++)
            wf_strbuf_printf(out, "%s\"%s\":%" PRIu64, i > gr->first ? "," : "", gr->name(i),
                             counter(s, gr->offset, i));
        wf_strbuf_puts(out, "},");
    }
    double secs = elapsed_s > 0 ? elapsed_s : 1e-9;
    wf_strbuf_printf(out,
                     "\"throughput\":{\"seconds\":%.3f,\"records_per_s\":%.0f,"
                     "\"candidates_per_s\":%.0f,\"mb_per_s\":%.2f}",
                     elapsed_s, (double)s->records / secs, (double)s->candidates / secs,
                     (double)s->bytes / 1e6 / secs);
    if (extra)
        wf_strbuf_printf(out, ",%s", extra);
    wf_strbuf_putc(out, '}');
}

void wf_pipeline_stats_collect(void *ctx, wf_strbuf *out)
{
    const wf_pipeline_stats *s = ctx;
    for (size_t i = 0; i < N_SCALARS; i++) {
        wf_metrics_header(out, scalars[i].metric, scalars[i].type, scalars[i].help);
        wf_metrics_line_u64(out, scalars[i].metric, NULL, counter(s, scalars[i].offset, 0));
    }
    for (size_t g = 0; g < N_GROUPS; g++) {
        const group *gr = &groups[g];
        wf_metrics_header(out, gr->metric, "counter", gr->help);
        for (int i = gr->first; i < gr->first + gr->count; i++) {
            char labels[96];
            snprintf(labels, sizeof labels, "%s=\"%s\"", gr->label, gr->name(i));
            wf_metrics_line_u64(out, gr->metric, labels, counter(s, gr->offset, i));
        }
    }
}
