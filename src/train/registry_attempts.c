/* The trainer's record of its attempts, kept in model.dir beside what it
 * trains (TRAINING, one line: "failed_in_a_row=N retry_at=T
 * running_since=S"). Without it a restart forgets the back-off, and a
 * training that kills the process (out of memory) would run again at every
 * start, a crash loop that also stops ingestion. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/registry_internal.h"

/* The value after "key=" in line, in [0, INT64_MAX]; -1 when absent or
 * not a number. */
static int64_t field(const char *line, const char *key)
{
    const char *at = strstr(line, key);
    if (!at)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(at + strlen(key), &end, 10);
    if (errno || end == at + strlen(key) || v < 0)
        return -1;
    return (int64_t)v;
}

static int parse_attempts(const char *line, wf_train_attempts *out)
{
    int64_t failed = field(line, "failed_in_a_row="), retry = field(line, "retry_at="),
            running = field(line, "running_since=");
    if (failed < 0 || failed > INT_MAX || retry < 0 || running < 0)
        return -1;
    *out = (wf_train_attempts){(int)failed, retry, running};
    return 0;
}

int wf_registry_attempts_read(wf_registry *r, wf_train_attempts *out, wf_error *err)
{
    char path[WF_REG_PATH_MAX], line[160] = "";
    memset(out, 0, sizeof *out);
    int rc = wf_reg_path(r, "TRAINING", NULL, path, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&r->mu);
    FILE *f = fopen(path, "r");
    int open_errno = errno;
    int got = f && fgets(line, sizeof line, f) != NULL;
    if (f)
        fclose(f);
    pthread_mutex_unlock(&r->mu);
    if (!f)
        return open_errno == ENOENT
                   ? 0
                   : wf_error_set(err, WF_EIO, "%s: cannot open: %s", path, strerror(open_errno));
    if (!got || parse_attempts(line, out) < 0)
        return wf_error_set(err, WF_ECORRUPT, "%s: not a record of training attempts", path);
    return 0;
}

int wf_registry_attempts_write(wf_registry *r, const wf_train_attempts *a, wf_error *err)
{
    char path[WF_REG_PATH_MAX], line[160];
    int rc = wf_reg_path(r, "TRAINING", NULL, path, err);
    if (rc < 0)
        return rc;
    int n = snprintf(line, sizeof line,
                     "failed_in_a_row=%d retry_at=%" PRId64 " running_since=%" PRId64 "\n",
                     a->failed_in_a_row, a->retry_at, a->running_since);
    pthread_mutex_lock(&r->mu);
    rc = wf_reg_write_atomic(path, r->root, line, (size_t)n, err);
    pthread_mutex_unlock(&r->mu);
    return rc;
}
