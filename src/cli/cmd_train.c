/* `wildfeed train --once`: one synchronous training run from the store, for
 * cron. A skip (too few samples) and a rejection by the gate are normal
 * outcomes (exit 0); only errors exit 1, so cron mails only real failures. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "wildfeed/registry.h"
#include "wildfeed/trainer.h"

static const char usage[] =
    "usage: wildfeed train --once [--json] [-c CONFIG] [--set k=v]...\n"
    "  Trains a candidate model (model.kind) on the store's train split (store.path),\n"
    "  evaluates it and the current model on the eval split (and train.preference_file),\n"
    "  saves it in the registry (model.dir) as promoted or rejected by the train.gate.*\n"
    "  tolerances, and makes it CURRENT when promoted. Fewer than train.min_samples\n"
    "  samples skip the run. Exit status: 0 promoted, rejected or skipped; 1 error.\n"
    "  A running daemon picks up the new CURRENT only when told (admin activate).\n";

typedef struct train_args {
    int once, json;
} train_args;

static int parse_args(int argc, char **argv, train_args *a)
{
    memset(a, 0, sizeof *a);
    int ok = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0)
            a->once = 1;
        else if (strcmp(argv[i], "--json") == 0)
            a->json = 1;
        else
            ok = 0;
    }
    /* Only --once exists: the background trainer runs inside `wildfeed run`. */
    if (ok && a->once)
        return 0;
    fputs(usage, stderr);
    return 2;
}

static int train_once(const wf_config *cfg, const train_args *a)
{
    const char *store_path = wf_config_str(cfg, "store.path");
    /* Opening creates a missing store; training on a mistyped path should
     * fail instead of reporting an empty store. */
    if (access(store_path, F_OK) != 0) {
        fprintf(stderr, "wildfeed: store %s: %m\n", store_path);
        return 1;
    }
    wf_error err;
    wf_registry *reg = NULL;
    wf_trainer *t = NULL;
    wf_train_outcome o;
    int rc = wf_registry_open(wf_config_str(cfg, "model.dir"), store_path, &reg, &err);
    if (rc == 0)
        rc = wf_trainer_new(cfg, store_path, reg, NULL, NULL, &t, &err);
    if (rc == 0)
        rc = wf_trainer_run_once(t, "cli", &o, &err);
    wf_trainer_free(t);
    wf_registry_free(reg);
    if (rc < 0) {
        fprintf(stderr, "wildfeed: training failed: %s\n", err.msg);
        return 1;
    }
    wf_strbuf b;
    wf_strbuf_init(&b);
    if (a->json) {
        wf_train_outcome_json(&o, &b);
        wf_strbuf_putc(&b, '\n');
    } else {
        wf_train_outcome_text(&o, &b);
    }
    fputs(b.data ? b.data : "", stdout);
    wf_strbuf_free(&b);
    return fflush(stdout) == 0 ? 0 : 1;
}

int wf_cmd_train(int argc, char **argv)
{
    if (wf_cli_help(argc, argv, usage))
        return 0;
    wf_config *cfg = wf_cli_load_config(&argc, argv);
    if (!cfg)
        return 2;
    train_args a;
    int status = parse_args(argc, argv, &a);
    if (status == 0)
        status = train_once(cfg, &a);
    wf_config_free(cfg);
    return status;
}
