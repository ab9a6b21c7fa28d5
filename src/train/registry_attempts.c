/* The trainer's record of its attempts, kept in model.dir beside what it
 * trains (TRAINING, one line: "failed_in_a_row=N retry_at=T
 * running_since=S"). Without it a restart forgets the back-off, and a
 * training that kills the process (out of memory) would run again at every
 * start, a crash loop that also stops ingestion. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "train/registry_internal.h"
#include "wildfeed/log.h"

int wf_registry_attempts_read(wf_registry *r, wf_train_attempts *out, wf_error *err)
{
    char path[WF_REG_PATH_MAX], line[160] = "";
    memset(out, 0, sizeof *out);
    int rc = wf_reg_path(r, "TRAINING", NULL, path, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&r->mu);
    FILE *f = fopen(path, "r");
    int got = f && fgets(line, sizeof line, f) != NULL;
    if (f)
        fclose(f);
    pthread_mutex_unlock(&r->mu);
    if (!f)
        return errno == ENOENT
                   ? 0
                   : wf_error_set(err, WF_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (!got ||
        sscanf(line, "failed_in_a_row=%d retry_at=%" SCNd64 " running_since=%" SCNd64,
               &out->failed_in_a_row, &out->retry_at, &out->running_since) != 3 ||
        out->failed_in_a_row < 0) {
        memset(out, 0, sizeof *out);
        return wf_error_set(err, WF_ECORRUPT, "%s: not a record of training attempts", path);
    }
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
