/* `wildfeed serve`: the scoring server (and, unless train.enabled is false,
 * the trainer) on the registry's active model, without consuming Kafka: for
 * a scoring replica beside a daemon that ingests elsewhere. SIGTERM/SIGINT
 * stop it; requests in progress finish first. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "daemon/serving.h"
#include "wildfeed/log.h"

static const char usage[] = "usage: wildfeed serve [-c CONFIG] [--set key=value]...\n"
                            "  Serves the active model of model.dir on server.listen.\n";

static volatile sig_atomic_t g_stop; /* set by the signal handlers only */

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

int wf_cmd_serve(int argc, char **argv)
{
    if (wf_cli_help(argc, argv, usage))
        return 0;
    wf_config *cfg = wf_cli_load_config(&argc, argv);
    if (!cfg)
        return 2;
    if (argc > 1) {
        fputs(usage, stderr);
        wf_config_free(cfg);
        return 2;
    }
    wf_error err;
    int status = 1;
    if (wf_config_set(cfg, "server.enabled=true", &err) == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        wf_serving sv;
        memset(&sv, 0, sizeof sv);
        if (wf_serving_start(&sv, cfg, &err) == 0) {
            while (!g_stop)
                pause();
            wf_serving_stop(&sv);
            status = 0;
        }
    }
    if (status)
        fprintf(stderr, "wildfeed: %s\n", err.msg);
    wf_config_free(cfg);
    return status;
}
