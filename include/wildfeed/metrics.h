/* Metrics registry: the second allowed piece of global state.
 *
 * Components own their counters (usually plain _Atomic fields in a stats
 * struct) and register a collector that renders them in Prometheus text
 * format when /metrics or a report asks. The registry stores only the
 * collector list. */
#ifndef WILDFEED_METRICS_H
#define WILDFEED_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/strbuf.h"

typedef void (*wf_metrics_collect_fn)(void *ctx, wf_strbuf *out);

/* Registers a collector; ctx is borrowed and must outlive the registration.
 * Returns a handle for wf_metrics_unregister, or -1 when the registry is full. */
int wf_metrics_register(wf_metrics_collect_fn fn, void *ctx);
void wf_metrics_unregister(int handle);

/* Renders every registered collector into out. */
void wf_metrics_render(wf_strbuf *out);

/* Helpers collectors use to write one sample line. labels is the text inside
 * the braces (e.g. "reason=\"not_json\"") or NULL. The HELP/TYPE header is
 * written when help is non-NULL. */
void wf_metrics_header(wf_strbuf *out, const char *name, const char *type, const char *help);
void wf_metrics_line_u64(wf_strbuf *out, const char *name, const char *labels, uint64_t v);
void wf_metrics_line_f64(wf_strbuf *out, const char *name, const char *labels, double v);

/* A fixed-bucket latency histogram (seconds), safe for concurrent observe. */
#define WF_HIST_BUCKETS 14
typedef struct wf_histogram {
    _Atomic uint64_t counts[WF_HIST_BUCKETS + 1]; /* last one is +Inf */
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t total;
} wf_histogram;

void wf_histogram_observe(wf_histogram *h, double seconds);
void wf_histogram_render(const wf_histogram *h, wf_strbuf *out, const char *name,
                         const char *labels);
/* Upper bound of bucket i in seconds (i < WF_HIST_BUCKETS). */
double wf_histogram_bound(int i);

#endif
