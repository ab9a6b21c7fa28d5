/* The stub endpoint as a program, for trying the llm judge by hand or from
 * a benchmark script: stub_openai [--port N] [--latency-ms N] [--chaos PERMILLE]
 * prints its base URL and serves until SIGINT or SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub_openai.h"

static int parse_args(int argc, char **argv, int *port, int *latency, int *chaos)
{
    for (int i = 1; i < argc; i++) {
        int *dst = NULL;
        if (strcmp(argv[i], "--port") == 0)
            dst = port;
        else if (strcmp(argv[i], "--latency-ms") == 0)
            dst = latency;
        else if (strcmp(argv[i], "--chaos") == 0)
            dst = chaos;
        if (!dst || i + 1 >= argc)
            return -1;
        *dst = atoi(argv[++i]);
    }
    return *port >= 0 && *port < 65536 && *latency >= 0 && *chaos >= 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int port = 0, latency = 0, chaos = 0;
    if (parse_args(argc, argv, &port, &latency, &chaos) < 0) {
        fprintf(stderr, "usage: %s [--port N] [--latency-ms N] [--chaos PERMILLE]\n", argv[0]);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the server's threads start */
    wf_stub *s = wf_stub_start((unsigned short)port);
    if (!s) {
        fprintf(stderr, "stub_openai: cannot listen on port %d\n", port);
        return 1;
    }
    wf_stub_set_latency(s, latency);
    wf_stub_set_chaos(s, chaos, 1);
    printf("%s\n", wf_stub_base_url(s));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    fprintf(stderr, "stub_openai: %zu requests\n", wf_stub_requests(s));
    wf_stub_stop(s);
    return 0;
}
