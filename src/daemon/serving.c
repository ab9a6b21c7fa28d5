/* Wiring of registry, slot, trainer and server for `wildfeed run`. */
#include "daemon/serving.h"

#include <pthread.h>
#include <string.h>

#include "daemon/follow.h"
#include "wildfeed/log.h"
#include "wildfeed/metrics.h"

#define TRAINER_POLL_MS 1000

/* Makes version (loaded as m, ownership taken) active in the registry and
 * in the slot as one step: admin activations and trainer promotions run on
 * different threads, and CURRENT must always name the model being served. A
 * failed slot publish (out of memory) puts the previous CURRENT back; with
 * none before, CURRENT names the version a restart will serve. */
static int publish(void *ctx, const char *version, wf_model *m, wf_error *err)
{
    wf_serving *s = ctx;
    char prev[WF_VERSION_MAX];
    pthread_mutex_lock(&s->activation);
    int had = wf_registry_current(s->registry, prev, NULL) == 0;
    int rc = wf_registry_activate(s->registry, version, err);
    if (rc < 0)
        wf_model_free(m);
    else if ((rc = wf_model_slot_publish(s->slot, m, version, err)) < 0 && had &&
             wf_registry_activate(s->registry, prev, NULL) < 0)
        wf_log(WF_LOG_ERROR, "CURRENT not restored after a failed swap", "version", prev, NULL);
    pthread_mutex_unlock(&s->activation);
    if (rc == 0) {
        wf_log(WF_LOG_INFO, "model active", "version", version, NULL);
        if (s->on_publish)
            s->on_publish(s->on_publish_ctx, version);
    }
    return rc;
}

/* Loads a stored version and makes it the active one (admin endpoint and
 * start-up). A version that fails to load changes nothing. The model being
 * served is held meanwhile so that the new one can share its base: a
 * transformer swap then reads only adapters and head. */
static int activate(void *ctx, const char *version, wf_error *err)
{
    wf_serving *s = ctx;
    wf_model *m = NULL;
    const wf_model_ref *cur = wf_model_slot_acquire(s->slot);
    int rc = wf_registry_load_like(s->registry, version, cur ? cur->model : NULL, &m, NULL, err);
    if (cur)
        wf_model_slot_release(s->slot, cur);
    return rc == 0 ? publish(s, version, m, err) : rc;
}

static int list_models(void *ctx, wf_strbuf *out)
{
    wf_serving *s = ctx;
    wf_error err;
    return wf_registry_list_json(s->registry, out, &err);
}

/* The admin endpoint's activation. A follower's registry belongs to another
 * process: activating there would write it (or fail on a read-only mount),
 * and the follower would not be the only one to serve the result. */
static int admin_activate(void *ctx, const char *version, wf_error *err)
{
    wf_serving *s = ctx;
    if (s->follows)
        return wf_error_set(err, WF_ESTATE,
                            "this instance follows model.dir (model.follow_interval_s): "
                            "activate versions on the registry's writer");
    return activate(s, version, err);
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

/* The trainer's view of the served model: held through a training run, so
 * a swap meanwhile frees the old model only when the run lets it go. */
static const wf_model *served_acquire(void *ctx, const void **hold)
{
    const wf_model_ref *r = wf_model_slot_acquire(((wf_serving *)ctx)->slot);
    *hold = r;
    return r ? r->model : NULL;
}

static void served_release(void *ctx, const void *hold)
{
    wf_model_slot_release(((wf_serving *)ctx)->slot, hold);
}

int wf_serving_start(wf_serving *s, const wf_config *cfg, wf_error *err)
{
    s->metrics = -1;
    pthread_mutex_init(&s->activation, NULL);
    s->activation_ready = 1;
    const char *store = wf_config_str(cfg, "store.path");
    const char *dir = wf_config_str(cfg, "model.dir");
    int follow_s = (int)wf_config_int(cfg, "model.follow_interval_s");
    s->follows = follow_s > 0;
    int rc = 0;
    if (follow_s > 0 && wf_config_bool(cfg, "train.enabled"))
        rc = wf_error_set(err, WF_EINVAL,
                          "configuration key 'model.follow_interval_s': a follower serves "
                          "another process's registry and must not train into it; set "
                          "train.enabled to false");
    else if (follow_s > 0)
        rc = wf_registry_open_follower(dir, store, &s->registry, err);
    else
        rc = wf_registry_open(dir, store, &s->registry, err);
    if (rc == 0 && !(s->slot = wf_model_slot_new()))
        rc = wf_error_set(err, WF_ENOMEM, "out of memory");
    if (rc == 0 && follow_s == 0)
        publish_current(s);
    if (rc == 0 && wf_config_bool(cfg, "train.enabled")) {
        rc = wf_trainer_new(cfg, store, s->registry, publish, s, &s->trainer, err);
        if (rc == 0) {
            wf_trainer_set_served(s->trainer,
                                  &(wf_trainer_served){served_acquire, served_release, s});
            rc = wf_trainer_start(s->trainer, TRAINER_POLL_MS, err);
        }
    }
    wf_server_hooks hooks = {s, list_models, admin_activate, retrain};
    if (rc == 0 && wf_config_bool(cfg, "server.enabled"))
        rc = wf_server_start(cfg, s->slot, &hooks, &s->server, err);
    /* After the server, whose port the publish callback reads: /readyz
     * answers 503 until the follower's first load is done. */
    if (rc == 0 && follow_s > 0)
        rc = wf_follower_start(s, follow_s, &s->follower, err);
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

void wf_serving_cancel_training(wf_serving *s)
{
    if (s->trainer)
        wf_trainer_cancel(s->trainer);
}

/* The follower and the trainer stop first: a load or a run finishing
 * meanwhile may still publish, and the callback reads the server's port.
 * The trainer is freed only after the server: until then a retrain request
 * may still reach it (and is refused). */
void wf_serving_stop(wf_serving *s)
{
    wf_metrics_unregister(s->metrics);
    wf_follower_stop(s->follower);
    s->follower = NULL;
    if (s->trainer)
        wf_trainer_stop(s->trainer);
    wf_server_stop(s->server);
    wf_trainer_free(s->trainer);
    s->trainer = NULL;
    wf_model_slot_free(s->slot);
    wf_registry_free(s->registry);
    if (s->activation_ready)
        pthread_mutex_destroy(&s->activation);
    s->activation_ready = 0;
    s->server = NULL;
    s->slot = NULL;
    s->registry = NULL;
    s->metrics = -1;
}
