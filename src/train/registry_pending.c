/* A promotion in progress. Saving a promoted version and making it CURRENT
 * are two steps with the read-back of the version between them; a crash
 * there would leave the version promoted but never served, and the next
 * training would wait for new samples beyond it. So a promoted save also
 * writes PENDING naming the version, every activation removes it, and
 * opening the registry as its writer finishes what PENDING names, once the
 * version's files check out. An operator's rollback is an activation too,
 * so it is never undone: PENDING is gone by then. A follower never
 * finishes it: the writer may be between the two steps right now. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "train/registry_internal.h"
#include "wildfeed/log.h"
#include "wildfeed/model.h"

int wf_reg_pending_write(wf_registry *r, const char *version, wf_error *err)
{
    return wf_reg_write_name(r, "PENDING", version, err);
}

void wf_reg_pending_clear(wf_registry *r)
{
    char path[WF_REG_PATH_MAX];
    if (wf_reg_path(r, "PENDING", NULL, path, NULL) < 0)
        return;
    if (unlink(path) == 0)
        wf_reg_fsync_path(r->root, NULL);
    else if (errno != ENOENT)
        wf_log(WF_LOG_WARN, "registry: PENDING not removed", "path", path, "error", strerror(errno),
               NULL);
}

/* The version PENDING names, "" when there is none or it names nothing
 * valid. */
static void pending_version(wf_registry *r, char out[WF_VERSION_MAX])
{
    if (wf_reg_read_name(r, "PENDING", out, NULL) < 0)
        out[0] = '\0';
}

/* The version PENDING names is whole: promoted, and every file matching
 * meta.json (the check the interrupted run's read-back would have made). */
static int finishable(wf_registry *r, const char *version, wf_error *err)
{
    wf_model_meta meta;
    char dir[WF_REG_PATH_MAX];
    int rc = version[0] ? wf_reg_meta_locked(r, version, &meta, err)
                        : wf_error_set(err, WF_ENOTFOUND, "PENDING names no version");
    if (rc == 0 && meta.status != WF_STORE_MODEL_PROMOTED)
        rc = wf_error_set(err, WF_ESTATE, "version %s is not promoted", version);
    if (rc == 0)
        rc = wf_reg_path(r, version, NULL, dir, err);
    return rc < 0 ? rc : wf_model_check_dir(dir, err);
}

int wf_reg_pending_finish(wf_registry *r, wf_error *err)
{
    char version[WF_VERSION_MAX], path[WF_REG_PATH_MAX];
    wf_error why;
    if (wf_reg_path(r, "PENDING", NULL, path, err) < 0 || access(path, F_OK) != 0)
        return 0;
    pending_version(r, version);
    int rc = finishable(r, version, &why);
    /* Only a version that is not there, not promoted or damaged is given
     * up; memory or I/O may pass, and PENDING waits for the next open. */
    if (rc == WF_ENOTFOUND || rc == WF_ESTATE || rc == WF_ECORRUPT) {
        wf_log(WF_LOG_WARN, "registry: PENDING dropped, its version is not served", "version",
               version, "error", why.msg, NULL);
        wf_reg_pending_clear(r);
        return 0;
    }
    if (rc < 0) {
        if (err)
            *err = why;
        return rc;
    }
    wf_log(WF_LOG_WARN, "registry: finishing a promotion interrupted before activation", "version",
           version, NULL);
    return wf_reg_activate_locked(r, version, err);
}

int wf_registry_drop_pending(wf_registry *r, const char *version)
{
    char pending[WF_VERSION_MAX];
    pthread_mutex_lock(&r->mu);
    pending_version(r, pending);
    int mine = strcmp(pending, version) == 0;
    if (mine)
        wf_reg_pending_clear(r);
    pthread_mutex_unlock(&r->mu);
    return mine;
}
