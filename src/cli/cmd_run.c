/* `wildfeed run`: the daemon. SIGTERM and SIGINT stop it gracefully (drain,
 * commit, close); SIGHUP re-reads the configuration and applies what can
 * change while running (log level and format). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "daemon/daemon.h"
#include "wildfeed/log.h"

static volatile sig_atomic_t g_stop;   /* set by the signal handlers only */
static volatile sig_atomic_t g_reload; /* set by the SIGHUP handler only */

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    g_reload = 1;
}

/* The command line, kept to re-read the same files and overrides on SIGHUP. */
typedef struct reload_args {
    int argc;
    char **argv;
} reload_args;

static void reload(void *ctx)
{
    reload_args *a = ctx;
    char **copy = calloc((size_t)a->argc + 1, sizeof *copy);
    if (!copy)
        return;
    memcpy(copy, a->argv, (size_t)a->argc * sizeof *copy);
    int argc = a->argc;
    wf_config *cfg = wf_cli_load_config(&argc, copy); /* applies log.* */
    if (!cfg)
        wf_log(WF_LOG_ERROR, "reload failed: configuration kept", NULL);
    wf_config_free(cfg);
    free(copy);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int wf_cmd_run(int argc, char **argv)
{
    reload_args saved = {argc, calloc((size_t)argc + 1, sizeof(char *))};
    if (!saved.argv)
        return 1;
    memcpy(saved.argv, argv, (size_t)argc * sizeof(char *));
    wf_config *cfg = wf_cli_load_config(&argc, argv);
    int status = 2;
    if (cfg && argc > 1) {
        fprintf(stderr, "usage: wildfeed run [-c CONFIG] [--set key=value]...\n");
    } else if (cfg) {
        install_signals();
        wf_daemon_opts o = {.cfg = cfg,
                            .stop = &g_stop,
                            .reload = &g_reload,
                            .on_reload = reload,
                            .reload_ctx = &saved};
        wf_error err;
        status = wf_daemon_run(&o, &err) == 0 ? 0 : 1;
        if (status)
            fprintf(stderr, "wildfeed: %s\n", err.msg);
    }
    wf_config_free(cfg);
    free(saved.argv);
    return status;
}
