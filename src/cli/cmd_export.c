/* `wildfeed export`: the store's samples as WildFB JSONL, all or one split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "wildfeed/store.h"

static const char usage[] =
    "usage: wildfeed export [-o FILE] [--split all|train|eval] [-c CONFIG] [--set k=v]...\n"
    "  Writes the samples of the store (store.path) as WildFB JSONL, in id order,\n"
    "  to FILE (replaced only once complete) or to stdout.\n";

typedef struct export_args {
    const char *out;
    wf_store_split split;
} export_args;

/* Returns 0, or 2 after printing usage. */
static int parse_args(int argc, char **argv, export_args *a)
{
    a->out = NULL;
    a->split = WF_STORE_ALL;
    for (int i = 1; i < argc; i++) {
        int split;
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            a->out = argv[++i];
        } else if (strcmp(argv[i], "--split") == 0 && i + 1 < argc &&
                   (split = wf_store_split_parse(argv[i + 1])) >= 0) {
            a->split = (wf_store_split)split;
            i++;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    return 0;
}

/* A file is written beside its final name and renamed when complete, so a
 * reader never sees half an export. */
static int export_to_file(wf_store *s, const export_args *a, size_t *n, wf_error *err)
{
    size_t len = strlen(a->out) + 5;
    char *tmp = malloc(len);
    if (!tmp)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    snprintf(tmp, len, "%s.tmp", a->out);
    FILE *f = fopen(tmp, "w");
    int rc;
    if (!f) {
        rc = wf_error_set(err, WF_EIO, "%s: cannot create: %m", tmp);
    } else {
        rc = wf_store_export(s, f, a->split, n, err);
        if (fclose(f) != 0 && rc == 0)
            rc = wf_error_set(err, WF_EIO, "%s: write failed: %m", tmp);
        if (rc == 0 && rename(tmp, a->out) != 0)
            rc = wf_error_set(err, WF_EIO, "%s: cannot rename to %s: %m", tmp, a->out);
        if (rc < 0)
            unlink(tmp);
    }
    free(tmp);
    return rc;
}

static int run_export(const wf_config *cfg, const export_args *a)
{
    wf_store_options o;
    wf_store_options_from_config(&o, cfg);
    /* Opening creates a missing store; an export from a mistyped path
     * should fail instead of printing nothing. */
    if (access(o.path, F_OK) != 0) {
        fprintf(stderr, "wildfeed: store %s: %m\n", o.path);
        return 1;
    }
    wf_store *s;
    wf_error err;
    if (wf_store_open(&o, &s, &err) < 0) {
        fprintf(stderr, "wildfeed: %s\n", err.msg);
        return 1;
    }
    size_t n = 0;
    int rc;
    if (a->out) {
        rc = export_to_file(s, a, &n, &err);
    } else {
        rc = wf_store_export(s, stdout, a->split, &n, &err);
        if (rc == 0 && fflush(stdout) != 0)
            rc = wf_error_set(&err, WF_EIO, "stdout: write failed: %m");
    }
    wf_store_close(s);
    if (rc < 0) {
        fprintf(stderr, "wildfeed: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "wildfeed: exported %zu samples\n", n);
    return 0;
}

int wf_cmd_export(int argc, char **argv)
{
    if (wf_cli_help(argc, argv, usage))
        return 0;
    wf_config *cfg = wf_cli_load_config(&argc, argv);
    if (!cfg)
        return 2;
    export_args a;
    int status = parse_args(argc, argv, &a);
    if (status == 0)
        status = run_export(cfg, &a);
    wf_config_free(cfg);
    return status;
}
