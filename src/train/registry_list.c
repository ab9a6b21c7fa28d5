/* Listing the registry's versions, the /v1/models payload, and retention. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train/registry_internal.h"
#include "wildfeed/log.h"

typedef struct name_list {
    char (*names)[WF_VERSION_MAX];
    size_t n, cap;
} name_list;

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Folder names under root that look like versions, sorted (= by age). */
static int scan_versions(wf_registry *r, name_list *l, wf_error *err)
{
    memset(l, 0, sizeof *l);
    DIR *d = opendir(r->root);
    if (!d)
        return wf_error_set(err, WF_EIO, "registry %s: cannot open", r->root);
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
        char path[WF_REG_PATH_MAX];
        struct stat st;
        if (!wf_reg_valid_version(e->d_name) || wf_reg_path(r, e->d_name, NULL, path, NULL) < 0 ||
            stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 16;
            void *bigger = realloc(l->names, cap * sizeof *l->names);
            if (!bigger) {
                rc = wf_error_set(err, WF_ENOMEM, "out of memory");
                break;
            }
            l->names = bigger;
            l->cap = cap;
        }
        /* valid names are shorter than WF_VERSION_MAX */
        memcpy(l->names[l->n++], e->d_name, strlen(e->d_name) + 1);
    }
    closedir(d);
    if (rc == 0 && l->n)
        qsort(l->names, l->n, sizeof *l->names, by_name);
    return rc;
}

static int list_locked(wf_registry *r, wf_model_meta **out, size_t *n, wf_error *err)
{
    *out = NULL;
    *n = 0;
    name_list l;
    int rc = scan_versions(r, &l, err);
    wf_model_meta *metas = rc == 0 && l.n ? calloc(l.n, sizeof *metas) : NULL;
    if (rc == 0 && l.n && !metas)
        rc = wf_error_set(err, WF_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        char dir[WF_REG_PATH_MAX];
        wf_error e;
        if (wf_reg_path(r, l.names[i], NULL, dir, NULL) == 0 &&
            wf_reg_meta_read(dir, &metas[*n], &e) == 0)
            (*n)++;
        else
            wf_log(WF_LOG_DEBUG, "registry folder skipped", "folder", l.names[i], NULL);
    }
    free(l.names);
    if (rc < 0 || *n == 0) {
        free(metas);
        return rc;
    }
    *out = metas;
    return 0;
}

int wf_registry_list(wf_registry *r, wf_model_meta **out, size_t *n, wf_error *err)
{
    pthread_mutex_lock(&r->mu);
    int rc = list_locked(r, out, n, err);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int wf_registry_latest(wf_registry *r, wf_model_meta *out, wf_error *err)
{
    wf_model_meta *all;
    size_t n;
    int rc = wf_registry_list(r, &all, &n, err);
    if (rc < 0)
        return rc;
    if (n == 0)
        return wf_error_set(err, WF_ENOTFOUND, "registry %s: no versions", r->root);
    /* Names made in the same second sort by their random suffix: order by
     * what was trained on, then by time, to find the newest. */
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (all[i].trained_seq > all[best].trained_seq ||
            (all[i].trained_seq == all[best].trained_seq &&
             all[i].created_at >= all[best].created_at))
            best = i;
    *out = all[best];
    free(all);
    return 0;
}

static void json_str_field(wf_strbuf *out, const char *key, const char *v)
{
    wf_strbuf_printf(out, "\"%s\":", key);
    wf_strbuf_json_string(out, v, strlen(v));
    wf_strbuf_putc(out, ',');
}

static void model_json(const wf_model_meta *m, int active, wf_strbuf *out)
{
    wf_strbuf_putc(out, '{');
    json_str_field(out, "version", m->version);
    json_str_field(out, "kind", m->kind);
    json_str_field(out, "head", m->head);
    json_str_field(out, "parent", m->parent);
    json_str_field(out, "status", active ? "active" : wf_store_model_status_name(m->status));
    wf_strbuf_printf(out, "\"created_at\":%lld,\"samples\":%lld,\"users\":%lld,\"metrics\":",
                     (long long)m->created_at, (long long)m->samples, (long long)m->users);
    wf_eval_metrics_json(&m->metrics, out);
    wf_strbuf_putc(out, '}');
}

int wf_registry_list_json(wf_registry *r, wf_strbuf *out, wf_error *err)
{
    wf_model_meta *all;
    size_t n;
    char cur[WF_VERSION_MAX];
    pthread_mutex_lock(&r->mu);
    int has = wf_reg_current_locked(r, cur, NULL) == 0;
    int rc = list_locked(r, &all, &n, err);
    pthread_mutex_unlock(&r->mu);
    if (rc < 0)
        return rc;
    wf_strbuf_puts(out, "{\"current\":");
    if (has)
        wf_strbuf_json_string(out, cur, strlen(cur));
    else
        wf_strbuf_puts(out, "null");
    wf_strbuf_puts(out, ",\"models\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            wf_strbuf_putc(out, ',');
        model_json(&all[i], has && strcmp(all[i].version, cur) == 0, out);
    }
    wf_strbuf_puts(out, "]}");
    free(all);
    return out->oom ? wf_error_set(err, WF_ENOMEM, "out of memory") : 0;
}

/* Removes a folder left by an interrupted save, or an expired version: it is
 * renamed to a hidden name first, so a crash halfway never leaves a version
 * folder with some of its files gone. */
static int remove_version(wf_registry *r, const char *name, wf_error *err)
{
    char dir[WF_REG_PATH_MAX], trash[WF_REG_PATH_MAX], tname[WF_VERSION_MAX + 8];
    snprintf(tname, sizeof tname, ".del-%s", name);
    int rc = wf_reg_path(r, name, NULL, dir, err);
    if (rc == 0)
        rc = wf_reg_path(r, tname, NULL, trash, err);
    if (rc == 0 && rename(dir, trash) != 0)
        rc = wf_error_set(err, WF_EIO, "%s: cannot rename for deletion", dir);
    return rc < 0 ? rc : wf_reg_remove_tree(trash, err);
}

/* Leftovers: ".tmp-*" of interrupted saves, ".del-*" of interrupted prunes. */
static void remove_leftovers(wf_registry *r)
{
    DIR *d = opendir(r->root);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char dir[WF_REG_PATH_MAX];
        if ((strncmp(e->d_name, ".tmp-", 5) == 0 || strncmp(e->d_name, ".del-", 5) == 0) &&
            wf_reg_path(r, e->d_name, NULL, dir, NULL) == 0)
            wf_reg_remove_tree(dir, NULL);
    }
    closedir(d);
}

/* A version the gate rejected, or whose meta.json no longer reads: such
 * versions go before the others, so that a run of rejections never pushes
 * the versions a rollback would return to out of the registry. */
static int expendable(wf_registry *r, const char *name)
{
    char dir[WF_REG_PATH_MAX];
    wf_model_meta meta;
    if (wf_reg_path(r, name, NULL, dir, NULL) < 0 || wf_reg_meta_read(dir, &meta, NULL) < 0)
        return 1;
    return meta.status == WF_STORE_MODEL_REJECTED;
}

/* Removes the oldest versions but the current one, rejected ones first,
 * until keep are left; a removed name is blanked in l. */
static int remove_oldest(wf_registry *r, name_list *l, const char *cur, size_t excess,
                         size_t *removed, wf_error *err)
{
    int rc = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; rc == 0 && i < l->n && excess > 0; i++) {
            char *name = l->names[i];
            if (!name[0] || strcmp(name, cur) == 0 || (pass == 0 && !expendable(r, name)))
                continue;
            if ((rc = remove_version(r, name, err)) == 0) {
                excess--;
                (*removed)++;
                wf_log(WF_LOG_INFO, "model version deleted", "version", name, NULL);
                name[0] = '\0';
            }
        }
    return rc;
}

static int prune_locked(wf_registry *r, int keep, size_t *removed, wf_error *err)
{
    remove_leftovers(r);
    name_list l;
    int rc = scan_versions(r, &l, err);
    char cur[WF_VERSION_MAX] = "";
    wf_reg_current_locked(r, cur, NULL);
    size_t excess = rc == 0 && l.n > (size_t)keep ? l.n - (size_t)keep : 0;
    if (rc == 0)
        rc = remove_oldest(r, &l, cur, excess, removed, err);
    free(l.names);
    return rc < 0 ? rc : wf_reg_fsync_path(r->root, err);
}

int wf_registry_prune(wf_registry *r, int keep, size_t *removed, wf_error *err)
{
    size_t local = 0;
    if (!removed)
        removed = &local;
    *removed = 0;
    if (keep < 1)
        return wf_error_set(err, WF_EINVAL, "registry %s: keep must be at least 1", r->root);
    int rc = wf_reg_check_writer(r, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&r->mu);
    rc = prune_locked(r, keep, removed, err);
    pthread_mutex_unlock(&r->mu);
    return rc;
}
