#include "wildfeed/metrics.h"

#include <pthread.h>
#include <stdio.h>

#define MAX_COLLECTORS 64

static struct {
    pthread_mutex_t lock;
    struct {
        wf_metrics_collect_fn fn;
        void *ctx;
    } slots[MAX_COLLECTORS];
} g_reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

int wf_metrics_register(wf_metrics_collect_fn fn, void *ctx)
{
    pthread_mutex_lock(&g_reg.lock);
    int handle = -1;
    for (int i = 0; i < MAX_COLLECTORS && handle < 0; i++) {
        if (!g_reg.slots[i].fn) {
            g_reg.slots[i].fn = fn;
            g_reg.slots[i].ctx = ctx;
            handle = i;
        }
    }
    pthread_mutex_unlock(&g_reg.lock);
    return handle;
}

void wf_metrics_unregister(int handle)
{
    if (handle < 0 || handle >= MAX_COLLECTORS)
        return;
    pthread_mutex_lock(&g_reg.lock);
    g_reg.slots[handle].fn = NULL;
    g_reg.slots[handle].ctx = NULL;
    pthread_mutex_unlock(&g_reg.lock);
}

void wf_metrics_render(wf_strbuf *out)
{
    /* Held while rendering so a collector is never unregistered mid-call. */
    pthread_mutex_lock(&g_reg.lock);
    for (int i = 0; i < MAX_COLLECTORS; i++)
        if (g_reg.slots[i].fn)
            g_reg.slots[i].fn(g_reg.slots[i].ctx, out);
    pthread_mutex_unlock(&g_reg.lock);
}

void wf_metrics_header(wf_strbuf *out, const char *name, const char *type, const char *help)
{
    wf_strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void wf_metrics_line_u64(wf_strbuf *out, const char *name, const char *labels, uint64_t v)
{
    if (labels && *labels)
        wf_strbuf_printf(out, "%s{%s} %llu\n", name, labels, (unsigned long long)v);
    else
        wf_strbuf_printf(out, "%s %llu\n", name, (unsigned long long)v);
}

void wf_metrics_line_f64(wf_strbuf *out, const char *name, const char *labels, double v)
{
    if (labels && *labels)
        wf_strbuf_printf(out, "%s{%s} %.9g\n", name, labels, v);
    else
        wf_strbuf_printf(out, "%s %.9g\n", name, v);
}

/* 100us .. ~1.6s doubling, then 5s and 30s for slow remote calls. */
static const double bounds[WF_HIST_BUCKETS] = {0.0001, 0.0002, 0.0004, 0.0008, 0.0016,
                                               0.0032, 0.0064, 0.0128, 0.0256, 0.0512,
                                               0.1024, 0.4096, 1.6384, 30.0};

double wf_histogram_bound(int i)
{
    return bounds[i];
}

void wf_histogram_observe(wf_histogram *h, double seconds)
{
    int i = 0;
    while (i < WF_HIST_BUCKETS && seconds > bounds[i])
        i++;
    h->counts[i]++;
    h->sum_ns += (uint64_t)(seconds * 1e9);
    h->total++;
}

void wf_histogram_render(const wf_histogram *h, wf_strbuf *out, const char *name,
                         const char *labels)
{
    const char *sep = labels && *labels ? "," : "";
    const char *lab = labels ? labels : "";
    uint64_t cumulative = 0;
    for (int i = 0; i <= WF_HIST_BUCKETS; i++) {
        cumulative += h->counts[i];
        if (i < WF_HIST_BUCKETS)
            wf_strbuf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, lab, sep, bounds[i],
                             (unsigned long long)cumulative);
        else
            wf_strbuf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, lab, sep,
                             (unsigned long long)cumulative);
    }
    char sum_name[128], count_name[128];
    snprintf(sum_name, sizeof sum_name, "%s_sum", name);
    snprintf(count_name, sizeof count_name, "%s_count", name);
    wf_metrics_line_f64(out, sum_name, labels, (double)h->sum_ns / 1e9);
    wf_metrics_line_u64(out, count_name, labels, h->total);
}
