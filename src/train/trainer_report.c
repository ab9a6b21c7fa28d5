/* A training outcome for people (the CLI) and for programs (JSON). */
#include <string.h>

#include "wildfeed/trainer.h"

static void indented_metrics(const wf_eval_metrics *m, wf_strbuf *out)
{
    wf_strbuf text;
    wf_strbuf_init(&text);
    wf_eval_metrics_text(m, &text);
    for (const char *line = text.data; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        wf_strbuf_puts(out, "  ");
        wf_strbuf_append(out, line, n);
        wf_strbuf_putc(out, '\n');
        line += n + (end != NULL);
    }
    wf_strbuf_free(&text);
}

void wf_train_outcome_text(const wf_train_outcome *o, wf_strbuf *out)
{
    wf_strbuf_printf(out, "result:  %s\n", wf_train_result_name(o->result));
    wf_strbuf_printf(out, "reason:  %s\n", o->reason);
    if (o->result == WF_TRAIN_SKIPPED)
        return;
    wf_strbuf_printf(out, "version: %s\n", o->version);
    wf_strbuf_printf(out, "parent:  %s\n", o->parent[0] ? o->parent : "(none)");
    wf_strbuf_printf(out, "data:    %zu train, %zu validation, %zu eval samples (store seq %lld)\n",
                     o->n_train, o->n_valid, o->n_eval, (long long)o->trained_seq);
    wf_strbuf_printf(out, "fit:     %d epochs, train loss %.4f, validation loss %.4f, %.2f s\n",
                     o->report.epochs_run, o->report.train_loss, o->report.eval_loss,
                     o->report.seconds);
    wf_strbuf_puts(out, "candidate:\n");
    indented_metrics(&o->candidate, out);
    if (o->has_current) {
        wf_strbuf_printf(out, "current (%s):\n", o->parent);
        indented_metrics(&o->current, out);
    }
}

static void json_field(wf_strbuf *out, const char *key, const char *v)
{
    wf_strbuf_printf(out, "\"%s\":", key);
    wf_strbuf_json_string(out, v, strlen(v));
    wf_strbuf_putc(out, ',');
}

void wf_train_outcome_json(const wf_train_outcome *o, wf_strbuf *out)
{
    wf_strbuf_putc(out, '{');
    json_field(out, "result", wf_train_result_name(o->result));
    json_field(out, "version", o->version);
    json_field(out, "parent", o->parent);
    json_field(out, "reason", o->reason);
    wf_strbuf_printf(out,
                     "\"n_train\":%zu,\"n_valid\":%zu,\"n_eval\":%zu,\"trained_seq\":%lld,"
                     "\"epochs\":%d,\"seconds\":%.3f,\"candidate\":",
                     o->n_train, o->n_valid, o->n_eval, (long long)o->trained_seq,
                     o->report.epochs_run, o->seconds);
    if (o->result == WF_TRAIN_SKIPPED)
        wf_strbuf_puts(out, "null");
    else
        wf_eval_metrics_json(&o->candidate, out);
    wf_strbuf_puts(out, ",\"current\":");
    if (o->has_current)
        wf_eval_metrics_json(&o->current, out);
    else
        wf_strbuf_puts(out, "null");
    wf_strbuf_putc(out, '}');
}
