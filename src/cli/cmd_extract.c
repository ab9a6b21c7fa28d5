/* `wildfeed extract`: the offline pipeline over JSONL files, writing
 * WildFB-compatible samples (each id once, as the daemon's store keeps
 * them: extract_sink.h) and a per-stage report. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/extract_sink.h"
#include "cli/inputs.h"
#include "wildfeed/pipeline.h"

static const char usage[] =
    "usage: wildfeed extract -i FILE... [-o OUT] [--judge rules|llm|cascade]\n"
    "                        [--report text|json] [-c CONFIG] [--set key=value]...\n"
    "  Reads JSONL (FILE '-' is stdin; .gz is read too), writes one WildFB JSON line\n"
    "  per sample to OUT (stdout by default), in id order once the input ends, and a\n"
    "  per-stage report (stdout when -o is given, else stderr). A sample seen again\n"
    "  is written once; explicit feedback replaces an implicit label. The samples\n"
    "  wait in a temporary store under $TMPDIR (default /tmp) until the end.\n";

typedef struct extract_opts {
    const char **inputs;
    size_t n_inputs;
    const char *output;
    const char *judge;
    int json_report;
} extract_opts;

static int parse_args(int argc, char **argv, extract_opts *o)
{
    o->inputs = calloc((size_t)argc, sizeof *o->inputs);
    if (!o->inputs)
        return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-i") == 0) {
            while (i + 1 < argc && (argv[i + 1][0] != '-' || strcmp(argv[i + 1], "-") == 0))
                o->inputs[o->n_inputs++] = argv[++i];
        } else if (strcmp(a, "-o") == 0 && i + 1 < argc) {
            o->output = argv[++i];
        } else if (strcmp(a, "--judge") == 0 && i + 1 < argc) {
            o->judge = argv[++i];
        } else if (strcmp(a, "--report") == 0 && i + 1 < argc) {
            const char *r = argv[++i];
            if (strcmp(r, "json") != 0 && strcmp(r, "text") != 0)
                return -1;
            o->json_report = strcmp(r, "json") == 0;
        } else {
            return -1;
        }
    }
    return o->n_inputs ? 0 : -1;
}

/* Set by SIGINT and SIGTERM: the run stops at the next record, or when the
 * judge's work in hand is done, and removes its temporary store, as after
 * any failure. A second signal removes the store and ends the process at
 * once. Signal handling is this file's only global state. */
static volatile sig_atomic_t g_stop;
static const wf_extract_sink *volatile g_sink;

static void on_stop(int sig)
{
    (void)sig;
    if (!g_stop) {
        g_stop = 1;
        return;
    }
    if (g_sink)
        wf_extract_sink_remove(g_sink);
    _exit(1);
}

/* SIGPIPE is ignored so that a reader going away (`| head`) fails the
 * write, which ends the run through the same cleanup. */
static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int interrupted(wf_error *err)
{
    return wf_error_set(err, WF_ESTATE, "interrupted: nothing written");
}

/* Feeds one reader to the end; a full judge is pumped until it takes more.
 * A read the signal cut short is the interruption, not a read error. */
static int run_reader(wf_pipeline *p, wf_line_reader *r, wf_error *err)
{
    const char *line;
    size_t len;
    int rc = 0;
    while (!g_stop && (rc = wf_line_reader_next(r, &line, &len, err)) > 0) {
        if (rc == WF_LINE_TOO_LONG) {
            wf_pipeline_reject(p, WF_BAD_TOO_LARGE, len);
            continue;
        }
        int64_t now = (int64_t)time(NULL);
        while ((rc = wf_pipeline_feed(p, line, len, now, NULL, err)) == WF_EAGAIN && !g_stop)
            if ((rc = wf_pipeline_pump(p, 10, err)) < 0)
                return rc;
        if (rc < 0 && rc != WF_EPARSE && rc != WF_EAGAIN)
            return rc;
        if ((rc = wf_pipeline_pump(p, 0, err)) < 0)
            return rc;
    }
    return g_stop ? interrupted(err) : rc;
}

static int run_pipeline(wf_pipeline *p, wf_inputs *in, wf_error *err)
{
    for (size_t i = 0; i < in->n; i++) {
        int rc = run_reader(p, in->readers[i], err);
        if (rc < 0)
            return rc;
    }
    int rc = wf_pipeline_finish(p, err);
    return rc == 0 && g_stop ? interrupted(err) : rc;
}

/* The report, with what the sink did with the samples the pipeline made
 * (written: lines out; replaced and kept_earlier: samples of an id seen
 * before). */
static void print_report(const wf_pipeline *p, const extract_opts *o, const wf_extract_sink *sink,
                         size_t written, double elapsed)
{
    size_t replaced = sink->puts[WF_STORE_REPLACED], kept = sink->puts[WF_STORE_KEPT];
    wf_strbuf report;
    wf_strbuf_init(&report);
    if (o->json_report) {
        char extra[160];
        snprintf(extra, sizeof extra,
                 "\"written\":{\"samples\":%zu,\"replaced\":%zu,\"kept_earlier\":%zu}", written,
                 replaced, kept);
        wf_pipeline_report_json(wf_pipeline_get_stats(p), elapsed, extra, &report);
    } else {
        wf_pipeline_report_text(wf_pipeline_get_stats(p), elapsed, &report);
        wf_strbuf_printf(&report, "written\n  %-26s %12zu\n  %-26s %12zu\n  %-26s %12zu\n",
                         "samples", written, "replaced", replaced, "kept_earlier", kept);
    }
    fprintf(o->output ? stdout : stderr, "%s\n", report.data ? report.data : "");
    wf_strbuf_free(&report);
}

/* OUT: opened without truncating it, so that a run that fails leaves it as
 * it was (or, when this run made it, removes it); empty_out empties it just
 * before the samples are written. NULL path: stdout. */
typedef struct out_file {
    FILE *f;
    const char *path;
    int created;
} out_file;

static int out_open(out_file *o, const char *path)
{
    *o = (out_file){stdout, path, 0};
    if (!path)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0)
        o->created = 1;
    else if (errno == EEXIST)
        fd = open(path, O_WRONLY | O_CLOEXEC);
    o->f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (o->f)
        return 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (o->created)
        unlink(path);
    errno = e;
    return -1;
}

/* Only a regular file is emptied: a FIFO or a device is written as it is. */
static int empty_out(FILE *out)
{
    struct stat st;
    int fd = fileno(out);
    if (fstat(fd, &st) != 0)
        return -1;
    return S_ISREG(st.st_mode) ? ftruncate(fd, 0) : 0;
}

/* Closes OUT; one this run made goes again when the run failed. */
static int out_close(out_file *o, int failed)
{
    int rc = o->path ? fclose(o->f) : 0;
    if ((failed || rc != 0) && o->created)
        unlink(o->path);
    return rc;
}

/* The pipeline over every input into the sink, then the samples to out. */
static int run(wf_config *cfg, const extract_opts *o, wf_inputs *in, wf_extract_sink *sink,
               FILE *out, wf_error *err)
{
    wf_judge *judge = wf_judge_create(cfg, err);
    wf_pipeline *p = judge ? wf_pipeline_new(cfg, judge, wf_extract_sink_of(sink), err) : NULL;
    int rc = p ? 0 : -1;
    size_t written = 0;
    double t0 = now_s();
    if (rc == 0)
        rc = run_pipeline(p, in, err);
    double elapsed = now_s() - t0;
    const char *name = o->output ? o->output : "stdout";
    if (rc == 0 && o->output && empty_out(out) != 0)
        rc = wf_error_set(err, WF_EIO, "cannot empty '%s': %s", name, strerror(errno));
    if (rc == 0 && (rc = wf_extract_sink_write(sink, out, &written, err)) < 0 && ferror(out))
        rc = wf_error_set(err, WF_EIO, "writing the samples to %s failed", name);
    if (rc == 0)
        print_report(p, o, sink, written, elapsed);
    wf_pipeline_free(p);
    wf_judge_free(judge);
    return rc;
}

static int extract(wf_config *cfg, const extract_opts *o)
{
    wf_error err;
    wf_inputs in;
    size_t max_line = (size_t)wf_config_int(cfg, "input.max_record_bytes");
    if (wf_inputs_open(&in, o->inputs, o->n_inputs, max_line) < 0)
        return 1;
    wf_extract_sink sink;
    if (wf_extract_sink_open(&sink, &err) < 0) {
        fprintf(stderr, "wildfeed: %s\n", err.msg);
        wf_inputs_close(&in);
        return 1;
    }
    g_sink = &sink;
    out_file out;
    int status = 1;
    if (out_open(&out, o->output) < 0)
        fprintf(stderr, "wildfeed: cannot write '%s': %s\n", o->output, strerror(errno));
    else if (run(cfg, o, &in, &sink, out.f, &err) < 0)
        fprintf(stderr, "wildfeed: %s\n", err.msg);
    else
        status = 0;
    g_sink = NULL;
    wf_extract_sink_close(&sink);
    if (out.f && out_close(&out, status != 0) != 0 && status == 0) {
        fprintf(stderr, "wildfeed: writing '%s' failed\n", o->output);
        status = 1;
    }
    /* stdout holds the samples, or with -o the report */
    if ((fflush(stdout) != 0 || ferror(stdout)) && status == 0) {
        fprintf(stderr, "wildfeed: writing the %s to stdout failed\n",
                o->output ? "report" : "samples");
        status = 1;
    }
    wf_inputs_close(&in);
    return status;
}

int wf_cmd_extract(int argc, char **argv)
{
    wf_config *cfg = wf_cli_load_config(&argc, argv);
    if (!cfg)
        return 2;
    extract_opts o = {0};
    int status = 2;
    if (parse_args(argc, argv, &o) < 0) {
        fputs(usage, stderr);
    } else {
        wf_error err;
        char judge_set[64];
        snprintf(judge_set, sizeof judge_set, "judge.kind=%s", o.judge ? o.judge : "");
        if (o.judge && wf_config_set(cfg, judge_set, &err) < 0) {
            fprintf(stderr, "wildfeed: %s\n", err.msg);
        } else {
            install_signals();
            status = extract(cfg, &o);
        }
    }
    free(o.inputs);
    wf_config_free(cfg);
    return status;
}
