/* Throughput of the llm judge against the stub endpoint answering after a
 * fixed latency, at 64 and 256 requests in flight. The stub runs in a child
 * process so that getrusage(RUSAGE_SELF) counts the judge's CPU time only.
 *
 *   bench_judge_llm [latency_ms] [seconds_per_run]   (defaults 50 and 3) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stub_openai.h"
#include "wildfeed/judge_llm.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Child: serve until the parent closes the pipe. Returns the port. */
static pid_t spawn_stub(int latency_ms, unsigned short *port)
{
    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        wf_stub *s = wf_stub_start(0);
        unsigned short p = s ? wf_stub_port(s) : 0;
        if (s)
            wf_stub_set_latency(s, latency_ms);
        if (write(up[1], &p, sizeof p) != (ssize_t)sizeof p)
            _exit(1);
        char c;
        while (read(down[0], &c, 1) > 0)
            ;
        wf_stub_stop(s);
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    if (pid < 0 || read(up[0], port, sizeof *port) != (ssize_t)sizeof *port || *port == 0)
        return -1;
    close(up[0]);
    /* down[1] stays open in this process; exiting closes it. */
    return pid;
}

static int run(const char *base_url, size_t in_flight, int latency_ms, double seconds)
{
    wf_llm_options o;
    wf_llm_options_default(&o);
    o.base_url = base_url;
    o.model = "bench";
    o.max_in_flight = in_flight;
    o.queue_cap = in_flight * 4;
    o.cache_entries = 0; /* every candidate is a request */
    o.timeout_ms = 10000;
    o.seed = 1;
    wf_error err;
    wf_judge *j = wf_judge_llm_new(&o, &err);
    if (!j) {
        fprintf(stderr, "bench_judge_llm: %s\n", err.msg);
        return -1;
    }
    size_t target = (size_t)((double)in_flight * 1000.0 / latency_ms * seconds);
    size_t submitted = 0, done = 0, ok = 0;
    wf_verdict v[256];
    char fb[64];
    double t0 = now_s(), c0 = cpu_s();
    while (done < target) {
        while (submitted < target) {
            snprintf(fb, sizeof fb, "candidate %zu #level=%zu", submitted, submitted % 5 + 1);
            wf_judge_request r = {submitted, WF_TASK_FEEDBACK, "query", "response", fb};
            if (wf_judge_submit(j, &r, &err) != 0)
                break;
            submitted++;
        }
        size_t n = wf_judge_poll(j, v, 256, 100);
        for (size_t k = 0; k < n; k++)
            ok += v[k].status == WF_VERDICT_OK && v[k].level == (int)(v[k].tag % 5) + 1;
        done += n;
    }
    double wall = now_s() - t0, cpu = cpu_s() - c0;
    double rate = (double)done / wall, ideal = (double)in_flight * 1000.0 / latency_ms;
    printf("in_flight=%zu latency_ms=%d candidates=%zu ok=%zu wall_s=%.2f rate=%.0f/s "
           "ideal=%.0f/s ratio=%.3f cpu_ms_per_1000=%.1f cpu_share=%.2f\n",
           in_flight, latency_ms, done, ok, wall, rate, ideal, rate / ideal,
           cpu * 1000.0 / ((double)done / 1000.0), cpu / wall);
    j->ops->destroy(j);
    return ok == done ? 0 : -1;
}

int main(int argc, char **argv)
{
    int latency_ms = argc > 1 ? atoi(argv[1]) : 50;
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    if (latency_ms <= 0 || seconds <= 0) {
        fprintf(stderr, "usage: %s [latency_ms] [seconds_per_run]\n", argv[0]);
        return 2;
    }
    unsigned short port;
    pid_t child = spawn_stub(latency_ms, &port);
    if (child < 0) {
        fprintf(stderr, "bench_judge_llm: cannot start the stub\n");
        return 1;
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", (unsigned)port);
    int rc = run(url, 64, latency_ms, seconds);
    if (rc == 0)
        rc = run(url, 256, latency_ms, seconds);
    kill(child, SIGTERM);
    waitpid(child, NULL, 0);
    return rc == 0 ? 0 : 1;
}
