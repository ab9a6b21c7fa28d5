/* Registry internals shared by its files: the handle, path building and the
 * durable file operations (fsync of files and folders). */
#ifndef WF_TRAIN_REGISTRY_INTERNAL_H
#define WF_TRAIN_REGISTRY_INTERNAL_H

#include <pthread.h>

#include "wildfeed/registry.h"

struct wf_registry {
    char *root;
    wf_store *store; /* own connection, or NULL */
    int follower;    /* opened by wf_registry_open_follower: writes refused */
    int claim_fd;    /* the trainer's claim (a locked file), or -1 */
    pthread_mutex_t mu;
};

#define WF_REG_PATH_MAX 4096

/* "<root>/<a>" or "<root>/<a>/<b>" (b may be NULL); WF_EINVAL when too long. */
int wf_reg_path(const wf_registry *r, const char *a, const char *b, char out[WF_REG_PATH_MAX],
                wf_error *err);
/* 1 when name can be a version folder: [A-Za-z0-9._-], not starting with '.',
 * shorter than WF_VERSION_MAX. */
int wf_reg_valid_version(const char *name);

/* fsync of an existing file or folder by path. */
int wf_reg_fsync_path(const char *path, wf_error *err);
/* Writes data to path.tmp, fsyncs it and renames it over path, then fsyncs
 * the folder dir. */
int wf_reg_write_atomic(const char *path, const char *dir, const char *data, size_t len,
                        wf_error *err);
/* The one-line files naming a version (CURRENT, PENDING): read, with
 * WF_ENOTFOUND when absent and WF_ECORRUPT when the line is no version
 * name; written atomically as "<version>\n". */
int wf_reg_read_name(const wf_registry *r, const char *file, char out[WF_VERSION_MAX],
                     wf_error *err);
int wf_reg_write_name(const wf_registry *r, const char *file, const char *version, wf_error *err);
/* Deletes a folder and the plain files in it (version folders are flat). */
int wf_reg_remove_tree(const char *dir, wf_error *err);

/* meta.json of a version folder (registry_meta.c). files lists the weight
 * files of the version with their sha256 hex digests. */
int wf_reg_meta_write(const char *dir, const wf_model_meta *meta, const char *const *files,
                      const char (*sha)[65], wf_error *err);
int wf_reg_meta_read(const char *dir, wf_model_meta *out, wf_error *err);

/* Mirrors meta into the store's model table with the given status (insert or
 * update); a no-op without a store. Failures are logged, not returned: the
 * folders are the registry, the rows an index of them. */
void wf_reg_mirror(wf_registry *r, const wf_model_meta *meta, wf_store_model_status status);

/* Reads CURRENT with the mutex held; WF_ENOTFOUND when absent. */
int wf_reg_current_locked(wf_registry *r, char out[WF_VERSION_MAX], wf_error *err);
/* A version's meta.json, and activation, with the mutex held. */
int wf_reg_meta_locked(wf_registry *r, const char *version, wf_model_meta *out, wf_error *err);
int wf_reg_activate_locked(wf_registry *r, const char *version, wf_error *err);

/* WF_ESTATE naming the registry when it was opened as a follower. */
int wf_reg_check_writer(const wf_registry *r, wf_error *err);

/* The trainer's claim on model.dir (registry_claim.c): an exclusive flock
 * on model.dir/.trainer.lock, held while the descriptor is open. try
 * returns 1 when taken (r->claim_fd set), 0 when another process holds it;
 * release closes it. */
int wf_reg_claim_try(wf_registry *r, wf_error *err);
void wf_reg_claim_release(wf_registry *r);

/* PENDING, the promotion between save and activation (registry_pending.c):
 * written by a promoted save, removed by every activation, finished (the
 * version activated) when the registry is opened. */
int wf_reg_pending_write(wf_registry *r, const char *version, wf_error *err);
void wf_reg_pending_clear(wf_registry *r);
int wf_reg_pending_finish(wf_registry *r, wf_error *err);

#endif
