/* Durable file operations of the registry: a version or CURRENT must either
 * be complete on disk or not be there at all, even across a power loss, so
 * every write is followed by an fsync of the file and of its folder. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "train/registry_internal.h"

int wf_reg_path(const wf_registry *r, const char *a, const char *b, char out[WF_REG_PATH_MAX],
                wf_error *err)
{
    int n = b ? snprintf(out, WF_REG_PATH_MAX, "%s/%s/%s", r->root, a, b)
              : snprintf(out, WF_REG_PATH_MAX, "%s/%s", r->root, a);
    if (n < 0 || n >= WF_REG_PATH_MAX)
        return wf_error_set(err, WF_EINVAL, "registry %s: path too long", r->root);
    return 0;
}

int wf_reg_valid_version(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= WF_VERSION_MAX || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

int wf_reg_fsync_path(const char *path, wf_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wf_error_set(err, WF_EIO, "%s: cannot open: %s", path, strerror(errno));
    int rc = fsync(fd) == 0 ? 0 : wf_error_set(err, WF_EIO, "%s: fsync: %s", path, strerror(errno));
    close(fd);
    return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

int wf_reg_write_atomic(const char *path, const char *dir, const char *data, size_t len,
                        wf_error *err)
{
    char tmp[WF_REG_PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return wf_error_set(err, WF_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    int bad = write_all(fd, data, len) < 0 || fsync(fd) != 0;
    int saved = errno;
    if (close(fd) != 0)
        bad = 1;
    if (bad) {
        unlink(tmp);
        return wf_error_set(err, WF_EIO, "%s: write failed: %s", tmp, strerror(saved));
    }
    if (rename(tmp, path) != 0) {
        saved = errno;
        unlink(tmp);
        return wf_error_set(err, WF_EIO, "%s: cannot rename: %s", tmp, strerror(saved));
    }
    return wf_reg_fsync_path(dir, err);
}

int wf_reg_remove_tree(const char *dir, wf_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return wf_error_set(err, WF_EIO, "%s: cannot open: %s", dir, strerror(errno));
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[WF_REG_PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            rc = wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
        else if (unlink(path) != 0)
            rc = wf_error_set(err, WF_EIO, "%s: cannot delete: %s", path, strerror(errno));
    }
    closedir(d);
    if (rc == 0 && rmdir(dir) != 0)
        rc = wf_error_set(err, WF_EIO, "%s: cannot delete: %s", dir, strerror(errno));
    return rc;
}

int wf_reg_read_name(const wf_registry *r, const char *file, char out[WF_VERSION_MAX],
                     wf_error *err)
{
    char path[WF_REG_PATH_MAX];
    int rc = wf_reg_path(r, file, NULL, path, err);
    if (rc < 0)
        return rc;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT
                   ? wf_error_set(err, WF_ENOTFOUND, "%s: not there", path)
                   : wf_error_set(err, WF_EIO, "%s: cannot open: %s", path, strerror(errno));
    char line[WF_VERSION_MAX + 2] = "";
    int got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (!got || !wf_reg_valid_version(line))
        return wf_error_set(err, WF_ECORRUPT, "%s: not a version name", path);
    memcpy(out, line, strlen(line) + 1);
    return 0;
}

int wf_reg_write_name(const wf_registry *r, const char *file, const char *version, wf_error *err)
{
    char path[WF_REG_PATH_MAX], line[WF_VERSION_MAX + 1];
    int rc = wf_reg_path(r, file, NULL, path, err);
    int n = snprintf(line, sizeof line, "%s\n", version);
    return rc < 0 ? rc : wf_reg_write_atomic(path, r->root, line, (size_t)n, err);
}
