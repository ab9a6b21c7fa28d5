/* The server's counters, its /metrics collector, and the probe endpoints
 * (/healthz, /readyz, /metrics). */
#include <stdio.h>
#include <string.h>

#include "serve/serve.h"

/* Every status src/serve answers (grep MHD_HTTP_), so that "other" stays
 * empty unless one is added without its place here. */
static const unsigned statuses[WF_SERVE_STATUSES - 1] = {200, 202, 400, 401, 403, 404, 405,
                                                         409, 413, 422, 429, 500, 503};
static const char *const ep_names[WF_EP_COUNT] = {"get_reward", "score",   "models",
                                                  "activate",   "retrain", "healthz",
                                                  "readyz",     "metrics", "other"};

void wf_serve_count(wf_serve_stats *st, wf_ep ep, unsigned status)
{
    size_t i = 0;
    while (i < WF_SERVE_STATUSES - 1 && statuses[i] != status)
        i++;
    atomic_fetch_add_explicit(&st->requests[ep][i], 1, memory_order_relaxed);
}

void wf_serve_refused(wf_serve_stats *st, wf_refusal why)
{
    atomic_fetch_add_explicit(&st->refused[why], 1, memory_order_relaxed);
}

static void collect_refused(const wf_serve_stats *st, wf_strbuf *out)
{
    static const char *const reasons[WF_REFUSE_COUNT] = {
        "reason=\"body_declared\"", "reason=\"body_streamed\"", "reason=\"items\"",
        "reason=\"concurrency\""};
    wf_metrics_header(out, "wf_server_refused_total", "counter",
                      "Requests refused by the server.max_* limits, by reason (body_streamed: "
                      "the body outgrew the limit while arriving and the connection was closed).");
    for (int i = 0; i < WF_REFUSE_COUNT; i++)
        wf_metrics_line_u64(out, "wf_server_refused_total", reasons[i], st->refused[i]);
}

static void collect_requests(const wf_serve_stats *st, wf_strbuf *out)
{
    wf_metrics_header(out, "wf_server_requests_total", "counter",
                      "HTTP requests answered, by endpoint and status code.");
    for (int ep = 0; ep < WF_EP_COUNT; ep++)
        for (int i = 0; i < WF_SERVE_STATUSES; i++) {
            uint64_t v = st->requests[ep][i];
            if (!v)
                continue;
            char labels[64];
            if (i < WF_SERVE_STATUSES - 1)
                snprintf(labels, sizeof labels, "endpoint=\"%s\",code=\"%u\"", ep_names[ep],
                         statuses[i]);
            else
                snprintf(labels, sizeof labels, "endpoint=\"%s\",code=\"other\"", ep_names[ep]);
            wf_metrics_line_u64(out, "wf_server_requests_total", labels, v);
        }
}

static void collect_scoring(const wf_serve_stats *st, wf_strbuf *out)
{
    static const char *const lab[2] = {"endpoint=\"get_reward\"", "endpoint=\"score\""};
    wf_metrics_header(out, "wf_server_scored_items_total", "counter",
                      "Inputs scored by successful requests.");
    for (int i = 0; i < 2; i++)
        wf_metrics_line_u64(out, "wf_server_scored_items_total", lab[i], st->items[i]);
    wf_metrics_header(out, "wf_server_score_seconds", "histogram",
                      "Latency of successful scoring requests, from the request's start.");
    for (int i = 0; i < 2; i++)
        wf_histogram_render(&st->latency[i], out, "wf_server_score_seconds", lab[i]);
}

/* The version as a Prometheus label value. */
static void escaped_label(wf_strbuf *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            wf_strbuf_putc(out, '\\');
        if (*v == '\n')
            wf_strbuf_puts(out, "\\n");
        else
            wf_strbuf_putc(out, *v);
    }
}

void wf_serve_collect(void *ctx, wf_strbuf *out)
{
    wf_server *s = ctx;
    collect_requests(&s->stats, out);
    collect_refused(&s->stats, out);
    collect_scoring(&s->stats, out);
    wf_metrics_header(out, "wf_server_inflight", "gauge", "Scoring requests in progress.");
    wf_metrics_line_u64(out, "wf_server_inflight", NULL, (uint64_t)atomic_load(&s->inflight));
    wf_metrics_header(out, "wf_server_connections", "gauge",
                      "Client connections open (at most server.max_connections).");
    wf_metrics_line_u64(out, "wf_server_connections", NULL, (uint64_t)atomic_load(&s->connections));
    wf_metrics_header(out, "wf_model_info", "gauge", "The model being served (1), by version.");
    const wf_model_ref *ref = wf_model_slot_acquire(s->slot);
    if (ref) {
        wf_strbuf_puts(out, "wf_model_info{version=\"");
        escaped_label(out, ref->version);
        wf_strbuf_printf(out, "\",kind=\"%s\"} 1\n", ref->model->ops->kind);
        wf_metrics_header(out, "wf_model_degraded", "gauge",
                          "1 while the model serves below what it was loaded for (its GPU lost).");
        wf_metrics_line_u64(out, "wf_model_degraded", NULL, wf_model_degraded(ref->model) ? 1 : 0);
        wf_model_slot_release(s->slot, ref);
    }
}

static enum MHD_Result readyz(wf_server *s, struct MHD_Connection *c, wf_serve_req *r)
{
    wf_strbuf out;
    wf_strbuf_init(&out);
    /* A stopping server refuses scoring: no traffic should be sent to it. */
    if (wf_serve_pool_stopping(&s->pool)) {
        wf_strbuf_puts(&out, "{\"ready\":false,\"stopping\":true}");
        return wf_serve_reply(s, c, r->ep, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", &out);
    }
    const wf_model_ref *ref = wf_model_slot_acquire(s->slot);
    if (!ref) {
        wf_strbuf_puts(&out, "{\"ready\":false}");
        return wf_serve_reply(s, c, r->ep, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", &out);
    }
    /* A degraded model still answers (on the CPU, slowly): ready, with the
     * reason in the body and wf_model_degraded for alerts. As a sidecar,
     * wildfeed's readiness is its pod's: a 503 here would take the chat
     * service beside it out of traffic for a fault that only slows scoring. */
    const char *why = wf_model_degraded(ref->model);
    wf_strbuf_puts(&out, "{\"ready\":true,\"model_version\":");
    wf_strbuf_json_string(&out, ref->version, strlen(ref->version));
    if (why) {
        wf_strbuf_puts(&out, ",\"degraded\":");
        wf_strbuf_json_string(&out, why, strlen(why));
    }
    wf_strbuf_puts(&out, "}");
    wf_model_slot_release(s->slot, ref);
    return wf_serve_reply(s, c, r->ep, MHD_HTTP_OK, "application/json", &out);
}

enum MHD_Result wf_serve_probe(wf_server *s, struct MHD_Connection *c, wf_serve_req *r)
{
    wf_strbuf out;
    wf_strbuf_init(&out);
    if (r->ep == WF_EP_READYZ)
        return readyz(s, c, r);
    if (r->ep == WF_EP_HEALTHZ) {
        wf_strbuf_puts(&out, "{\"status\":\"ok\"}");
        return wf_serve_reply(s, c, r->ep, MHD_HTTP_OK, "application/json", &out);
    }
    wf_metrics_render(&out);
    return wf_serve_reply(s, c, r->ep, MHD_HTTP_OK, "text/plain; version=0.0.4", &out);
}
