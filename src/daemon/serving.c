/* Wiring of registry, slot, trainer and server for `wildfeed run`. */
#include "daemon/serving.h"

#include <string.h>

#include "wildfeed/log.h"
#include "wildfeed/metrics.h"

#define TRAINER_POLL_MS 1000

static int publish(void *ctx, const char *version, wf_model *m, wf_error *err)
{
    wf_serving *s = ctx;
    int rc = wf_model_slot_publish(s->slot, m, version, err);
    if (rc == 0) {
        wf_log(WF_LOG_INFO, "model active", "version", version, NULL);
        if (s->on_publish)
            s->on_publish(s->on_publish_ctx, version);
    }
    return rc;
}

/* Loads a stored version and makes it the active one (admin endpoint and
 * start-up). */
static int activate(void *ctx, const char *version, wf_error *err)
{
    wf_serving *s = ctx;
    wf_model *m = NULL;
    int rc = wf_registry_load(s->registry, version, &m, NULL, err);
    if (rc == 0)
        rc = wf_registry_activate(s->registry, version, err);
    if (rc == 0)
        return publish(s, version, m, err);
    wf_model_free(m);
    return rc;
}

static int list_models(void *ctx, wf_strbuf *out)
{
    wf_serving *s = ctx;
    wf_error err;
    return wf_registry_list_json(s->registry, out, &err);
}

static int retrain(void *ctx, wf_error *err)
{
    wf_serving *s = ctx;
    if (!s->trainer)
        return wf_error_set(err, WF_ENOTFOUND, "training is disabled (train.enabled)");
    int rc = wf_trainer_request(s->trainer, "admin");
    if (rc < 0)
        return wf_error_set(err, rc, "the trainer is not running");
    return 0;
}

/* A corrupt active model is logged, not fatal: the server then answers
 * /readyz with 503 until a training or an activation succeeds. */
static void publish_current(wf_serving *s)
{
    char version[WF_VERSION_MAX];
    wf_error err;
    if (wf_registry_current(s->registry, version, &err) < 0 || !version[0])
        return;
    if (activate(s, version, &err) < 0)
        wf_log(WF_LOG_ERROR, "active model not loaded", "version", version, "error", err.msg, NULL);
}

int wf_serving_start(wf_serving *s, const wf_config *cfg, wf_error *err)
{
    s->metrics = -1;
    const char *store = wf_config_str(cfg, "store.path");
    int rc = wf_registry_open(wf_config_str(cfg, "model.dir"), store, &s->registry, err);
    if (rc == 0 && !(s->slot = wf_model_slot_new()))
        rc = wf_error_set(err, WF_ENOMEM, "out of memory");
    if (rc == 0)
        publish_current(s);
    if (rc == 0 && wf_config_bool(cfg, "train.enabled")) {
        rc = wf_trainer_new(cfg, store, s->registry, publish, s, &s->trainer, err);
        if (rc == 0)
            rc = wf_trainer_start(s->trainer, TRAINER_POLL_MS, err);
    }
    wf_server_hooks hooks = {s, list_models, activate, retrain};
    if (rc == 0 && wf_config_bool(cfg, "server.enabled"))
        rc = wf_server_start(cfg, s->slot, &hooks, &s->server, err);
    if (rc < 0) {
        wf_serving_stop(s);
        return rc;
    }
    if (s->trainer)
        s->metrics = wf_metrics_register(wf_trainer_collect, s->trainer);
    if (s->server)
        wf_log(WF_LOG_INFO, "scoring server listening", "listen",
               wf_config_str(cfg, "server.listen"), NULL);
    return 0;
}

void wf_serving_stop(wf_serving *s)
{
    wf_metrics_unregister(s->metrics);
    wf_server_stop(s->server);
    wf_trainer_free(s->trainer);
    wf_model_slot_free(s->slot);
    wf_registry_free(s->registry);
    void (*cb)(void *, const char *) = s->on_publish;
    void *ctx = s->on_publish_ctx;
    memset(s, 0, sizeof *s);
    s->on_publish = cb;
    s->on_publish_ctx = ctx;
    s->metrics = -1;
}
