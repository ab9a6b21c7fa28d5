/* One trainer per model.dir. Two processes training into one registry (a
 * daemon with train.enabled and `wildfeed train` from cron) would overwrite
 * each other's TRAINING record and finish each other's PENDING promotion
 * halfway. The trainer holds an flock on model.dir/.trainer.lock for its
 * lifetime (the kernel drops it when the process dies, so a crash leaves
 * no stale lock), and a registry opened as a writer finishes PENDING only
 * while nobody holds it. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "train/registry_internal.h"

int wf_reg_claim_try(wf_registry *r, wf_error *err)
{
    if (r->claim_fd >= 0)
        return 1;
    char path[WF_REG_PATH_MAX];
    int rc = wf_reg_path(r, ".trainer.lock", NULL, path, err);
    if (rc < 0)
        return rc;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return wf_error_set(err, WF_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        return e == EWOULDBLOCK
                   ? 0
                   : wf_error_set(err, WF_EIO, "%s: cannot lock: %s", path, strerror(e));
    }
    r->claim_fd = fd;
    return 1;
}

void wf_reg_claim_release(wf_registry *r)
{
    if (r->claim_fd >= 0)
        close(r->claim_fd);
    r->claim_fd = -1;
}

int wf_registry_claim_training(wf_registry *r, wf_error *err)
{
    int rc = wf_reg_check_writer(r, err);
    pthread_mutex_lock(&r->mu);
    if (rc == 0)
        rc = wf_reg_claim_try(r, err);
    pthread_mutex_unlock(&r->mu);
    if (rc == 0)
        return wf_error_set(err, WF_ESTATE,
                            "registry %s: another process trains into it (a daemon with "
                            "train.enabled, or wildfeed train); one trainer per model.dir: "
                            "set train.enabled=false here",
                            r->root);
    return rc < 0 ? rc : 0;
}
