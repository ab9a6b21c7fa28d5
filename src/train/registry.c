/* The model registry: saving versions, CURRENT and activation, loading. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "model/sha256.h"
#include "train/registry_internal.h"
#include "wildfeed/log.h"

/* A promotion left PENDING is finished only while no trainer holds
 * model.dir: a live one (another process) is between its save and its
 * activation right now, and finishes it itself. */
static void finish_interrupted(wf_registry *r)
{
    wf_error perr;
    int claimed = wf_reg_claim_try(r, &perr);
    int rc = claimed == 1 ? wf_reg_pending_finish(r, &perr) : claimed;
    if (claimed == 1)
        wf_reg_claim_release(r);
    if (rc < 0)
        wf_log(WF_LOG_ERROR,
               "registry: interrupted promotion not finished; tried again at the "
               "next start",
               "error", perr.msg, NULL);
}

static int open_registry(const char *root, const char *store_path, int writer, wf_registry **out,
                         wf_error *err)
{
    *out = NULL;
    if (mkdir(root, 0755) != 0 && errno != EEXIST)
        return wf_error_set(err, WF_EIO, "registry %s: cannot create: %s", root, strerror(errno));
    wf_registry *r = calloc(1, sizeof *r);
    if (!r || !(r->root = strdup(root))) {
        free(r);
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&r->mu, NULL);
    r->follower = !writer;
    r->claim_fd = -1;
    if (store_path) {
        wf_store_options o;
        wf_store_options_default(&o, store_path);
        int rc = wf_store_open(&o, &r->store, err);
        if (rc < 0) {
            wf_registry_free(r);
            return rc;
        }
    }
    if (writer)
        finish_interrupted(r);
    *out = r;
    return 0;
}

int wf_registry_open(const char *root, const char *store_path, wf_registry **out, wf_error *err)
{
    return open_registry(root, store_path, 1, out, err);
}

int wf_registry_open_follower(const char *root, const char *store_path, wf_registry **out,
                              wf_error *err)
{
    return open_registry(root, store_path, 0, out, err);
}

void wf_registry_free(wf_registry *r)
{
    if (!r)
        return;
    wf_reg_claim_release(r);
    wf_store_close(r->store);
    pthread_mutex_destroy(&r->mu);
    free(r->root);
    free(r);
}

int wf_reg_check_writer(const wf_registry *r, wf_error *err)
{
    if (!r->follower)
        return 0;
    return wf_error_set(err, WF_ESTATE,
                        "registry %s: this instance follows it (model.follow_interval_s) and "
                        "does not write it; activate versions where it is trained",
                        r->root);
}

const char *wf_registry_root(const wf_registry *r)
{
    return r->root;
}

void wf_registry_version_name(int64_t now, char out[WF_VERSION_MAX])
{
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    unsigned char rnd[3] = {0};
    /* Uniqueness within one second only needs a few random bits; should
     * getrandom fail, the pid and clock still tell runs apart. */
    if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        unsigned v = (unsigned)ts.tv_nsec ^ (unsigned)getpid();
        memcpy(rnd, &v, sizeof rnd);
    }
    char stamp[24];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, WF_VERSION_MAX, "%s-%02x%02x%02x", stamp, rnd[0], rnd[1], rnd[2]);
}

static void fill_identity(const wf_model *m, wf_model_meta *meta)
{
    if (!meta->created_at)
        meta->created_at = (int64_t)time(NULL);
    if (!meta->version[0])
        wf_registry_version_name(meta->created_at, meta->version);
    if (!meta->kind[0])
        snprintf(meta->kind, sizeof meta->kind, "%s", m->ops->kind);
    if (!meta->head[0])
        snprintf(meta->head, sizeof meta->head, "%s", wf_head_name(m->head));
}

/* Checksums and fsyncs every weight file the backend wrote into dir. */
static int seal_files(const char *dir, const char *const *files, char (**sha)[WF_SHA256_HEX],
                      wf_error *err)
{
    size_t n = 0;
    while (files[n])
        n++;
    *sha = calloc(n + 1, sizeof **sha);
    if (!*sha)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char path[WF_REG_PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, files[i]) >= (int)sizeof path)
            return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
        int rc = wf_sha256_file(path, (*sha)[i], err);
        if (rc == 0)
            rc = wf_reg_fsync_path(path, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int write_version(const wf_model *m, const wf_model_meta *meta, const char *tmp,
                         wf_error *err)
{
    if (mkdir(tmp, 0755) != 0)
        return wf_error_set(err, WF_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    int rc = m->ops->save(m, tmp, err);
    if (rc < 0)
        return rc;
    const char *const *files = m->ops->files(m);
    char(*sha)[WF_SHA256_HEX] = NULL;
    rc = seal_files(tmp, files, &sha, err);
    if (rc == 0)
        rc = wf_reg_meta_write(tmp, meta, files, (const char(*)[65])sha, err);
    free(sha);
    return rc;
}

/* Writes the version under tmp and renames it to final. PENDING comes
 * first, so that the version is never there, promoted, without it (a
 * PENDING naming no version is dropped at the next open). Once renamed the
 * version is there: a failed fsync of the folder afterwards keeps PENDING,
 * for the next open to finish. */
static int save_locked(wf_registry *r, const wf_model *m, const wf_model_meta *meta,
                       const char *tmp, const char *final, wf_error *err)
{
    int promoted = meta->status == WF_STORE_MODEL_PROMOTED;
    if (access(tmp, F_OK) == 0)
        wf_reg_remove_tree(tmp, NULL);
    int rc = write_version(m, meta, tmp, err);
    if (rc == 0)
        rc = wf_reg_fsync_path(tmp, err);
    if (rc == 0 && promoted)
        rc = wf_reg_pending_write(r, meta->version, err);
    if (rc == 0 && rename(tmp, final) != 0) {
        rc = wf_error_set(err, WF_EIO, "%s: cannot rename: %s", tmp, strerror(errno));
        if (promoted)
            wf_reg_pending_clear(r);
    }
    if (rc < 0) {
        wf_reg_remove_tree(tmp, NULL);
        return rc;
    }
    wf_reg_mirror(r, meta, meta->status);
    return wf_reg_fsync_path(r->root, err);
}

int wf_registry_save(wf_registry *r, const wf_model *m, wf_model_meta *meta, wf_error *err)
{
    int rc = wf_reg_check_writer(r, err);
    if (rc < 0)
        return rc;
    fill_identity(m, meta);
    if (!wf_reg_valid_version(meta->version))
        return wf_error_set(err, WF_EINVAL, "registry %s: bad version name '%s'", r->root,
                            meta->version);
    char final[WF_REG_PATH_MAX], tmp[WF_REG_PATH_MAX], tmpname[WF_VERSION_MAX + 8];
    snprintf(tmpname, sizeof tmpname, ".tmp-%s", meta->version);
    rc = wf_reg_path(r, meta->version, NULL, final, err);
    if (rc == 0)
        rc = wf_reg_path(r, tmpname, NULL, tmp, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&r->mu);
    if (access(final, F_OK) == 0)
        rc = wf_error_set(err, WF_EINVAL, "registry %s: version %s exists", r->root, meta->version);
    else
        rc = save_locked(r, m, meta, tmp, final, err);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int wf_reg_current_locked(wf_registry *r, char out[WF_VERSION_MAX], wf_error *err)
{
    int rc = wf_reg_read_name(r, "CURRENT", out, err);
    if (rc == WF_ENOTFOUND)
        return wf_error_set(err, WF_ENOTFOUND, "registry %s: no current model", r->root);
    return rc;
}

int wf_registry_current(wf_registry *r, char out[WF_VERSION_MAX], wf_error *err)
{
    pthread_mutex_lock(&r->mu);
    int rc = wf_reg_current_locked(r, out, err);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int wf_reg_meta_locked(wf_registry *r, const char *version, wf_model_meta *out, wf_error *err)
{
    if (!wf_reg_valid_version(version))
        return wf_error_set(err, WF_ENOTFOUND, "registry %s: no version '%s'", r->root, version);
    char dir[WF_REG_PATH_MAX];
    int rc = wf_reg_path(r, version, NULL, dir, err);
    if (rc < 0)
        return rc;
    if (access(dir, F_OK) != 0)
        return wf_error_set(err, WF_ENOTFOUND, "registry %s: no version '%s'", r->root, version);
    return wf_reg_meta_read(dir, out, err);
}

int wf_registry_meta(wf_registry *r, const char *version, wf_model_meta *out, wf_error *err)
{
    pthread_mutex_lock(&r->mu);
    int rc = wf_reg_meta_locked(r, version, out, err);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int wf_reg_activate_locked(wf_registry *r, const char *version, wf_error *err)
{
    wf_model_meta next, prev;
    int rc = wf_reg_meta_locked(r, version, &next, err);
    if (rc < 0)
        return rc;
    char cur[WF_VERSION_MAX];
    int had = wf_reg_current_locked(r, cur, NULL) == 0 && strcmp(cur, version) != 0;
    rc = wf_reg_write_name(r, "CURRENT", version, err);
    if (rc < 0)
        return rc;
    wf_reg_pending_clear(r);
    if (had && wf_reg_meta_locked(r, cur, &prev, NULL) == 0)
        wf_reg_mirror(r, &prev, prev.status);
    wf_reg_mirror(r, &next, WF_STORE_MODEL_ACTIVE);
    wf_log(WF_LOG_INFO, "model activated", "version", version, NULL);
    return 0;
}

int wf_registry_activate(wf_registry *r, const char *version, wf_error *err)
{
    int rc = wf_reg_check_writer(r, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&r->mu);
    rc = wf_reg_activate_locked(r, version, err);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int wf_registry_load(wf_registry *r, const char *version, wf_model **out, wf_model_meta *meta,
                     wf_error *err)
{
    return wf_registry_load_like(r, version, NULL, out, meta, err);
}

int wf_registry_load_like(wf_registry *r, const char *version, const wf_model *like, wf_model **out,
                          wf_model_meta *meta, wf_error *err)
{
    *out = NULL;
    char name[WF_VERSION_MAX], dir[WF_REG_PATH_MAX];
    wf_model_meta local;
    if (!meta)
        meta = &local;
    pthread_mutex_lock(&r->mu);
    int rc = version ? 0 : wf_reg_current_locked(r, name, err);
    const char *v = version ? version : name;
    if (rc == 0)
        rc = wf_reg_meta_locked(r, v, meta, err);
    if (rc == 0)
        rc = wf_reg_path(r, v, NULL, dir, err);
    pthread_mutex_unlock(&r->mu);
    /* A large backend takes seconds to load: listing and activation go on
     * meanwhile. */
    return rc < 0 ? rc : wf_model_load_dir_like(dir, like, out, err);
}
