/* Backend dispatch: training by kind name, and loading a model directory
 * after checking every file against the sha256 sums of its meta.json. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "model/sha256.h"
#include "model_linear/linear.h"
#include "models/tf_backend.h"
#include "wildfeed/model.h"

typedef struct backend {
    const char *kind;
    const char *const *files; /* weight files the loader reads */
    /* like: the model being served, whose parts the new one may share */
    int (*load)(const char *dir, const wf_model *like, wf_model **out, wf_error *err);
    int (*train)(const wf_model *like, const wf_example *train, size_t n_train,
                 const wf_example *eval, size_t n_eval, const wf_train_opts *o, wf_model **out,
                 wf_train_report *report, wf_error *err);
} backend;

static const char *const linear_files[] = {WF_LIN_FILE, NULL};

/* A linear model is a few megabytes: nothing is worth sharing. */
static int linear_load(const char *dir, const wf_model *like, wf_model **out, wf_error *err)
{
    (void)like;
    return wf_linear_load(dir, out, err);
}

/* A linear model shares nothing with the one it replaces. */
static int linear_train(const wf_model *like, const wf_example *train, size_t n_train,
                        const wf_example *eval, size_t n_eval, const wf_train_opts *o,
                        wf_model **out, wf_train_report *report, wf_error *err)
{
    (void)like;
    return wf_linear_train(train, n_train, eval, n_eval, o, out, report, err);
}

static const backend backends[] = {
    {"linear", linear_files, linear_load, linear_train},
    {"transformer", wf_transformer_files, wf_transformer_load, wf_transformer_train},
};

static int find_backend(const char *kind, const backend **out, wf_error *err)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (kind && strcmp(kind, backends[i].kind) == 0) {
            *out = &backends[i];
            return 0;
        }
    return wf_error_set(err, WF_EINVAL, "unknown model kind \"%s\"", kind ? kind : "(none)");
}

int wf_model_train_like(const char *kind, const wf_model *like, const wf_example *train,
                        size_t n_train, const wf_example *eval, size_t n_eval,
                        const wf_train_opts *o, wf_model **out, wf_train_report *report,
                        wf_error *err)
{
    *out = NULL;
    const backend *b = NULL; /* set when find_backend succeeds */
    int rc = find_backend(kind, &b, err);
    return rc ? rc : b->train(like, train, n_train, eval, n_eval, o, out, report, err);
}

int wf_model_train(const char *kind, const wf_example *train, size_t n_train,
                   const wf_example *eval, size_t n_eval, const wf_train_opts *o, wf_model **out,
                   wf_train_report *report, wf_error *err)
{
    return wf_model_train_like(kind, NULL, train, n_train, eval, n_eval, o, out, report, err);
}

/* A file name of meta.json must stay inside the model directory. */
static int safe_name(const char *name)
{
    return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int check_file(const char *dir, const char *name, json_t *sum, wf_error *err)
{
    char path[4096], hex[WF_SHA256_HEX];
    if (!safe_name(name) || !json_is_string(sum))
        return wf_error_set(err, WF_ECORRUPT, "%s/meta.json: bad entry \"%s\" in files", dir, name);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    int rc = wf_sha256_file(path, hex, err);
    if (rc)
        return rc == WF_EIO ? wf_error_set(err, WF_ECORRUPT, "%s: missing or unreadable", path)
                            : rc;
    if (strcasecmp(hex, json_string_value(sum)) != 0)
        return wf_error_set(err, WF_ECORRUPT, "%s: sha256 %s does not match meta.json", path, hex);
    return 0;
}

/* Every listed file matches its sum, and every file the backend reads is
 * listed (an unlisted one would be read unchecked). */
static int check_files(const char *dir, json_t *files, const backend *b, wf_error *err)
{
    if (!json_is_object(files))
        return wf_error_set(err, WF_ECORRUPT, "%s/meta.json: \"files\" is not an object", dir);
    for (const char *const *f = b->files; *f; f++)
        if (!json_object_get(files, *f))
            return wf_error_set(err, WF_ECORRUPT, "%s/meta.json: no checksum for %s", dir, *f);
    const char *name;
    json_t *sum;
    json_object_foreach(files, name, sum)
    {
        int rc = check_file(dir, name, sum, err);
        if (rc)
            return rc;
    }
    return 0;
}

int wf_model_load_dir(const char *dir, wf_model **out, wf_error *err)
{
    return wf_model_load_dir_like(dir, NULL, out, err);
}

/* Reads dir's meta.json, finds its backend and checks every file. */
static int checked_backend(const char *dir, const backend **out, wf_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/meta.json", dir) >= sizeof path)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    if (access(path, F_OK) != 0)
        return wf_error_set(err, WF_ENOTFOUND, "%s: %s", path, strerror(errno));
    json_error_t jerr;
    json_t *meta = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!meta)
        return wf_error_set(err, WF_ECORRUPT, "%s: %s", path, jerr.text);
    const backend *b = NULL; /* set when find_backend succeeds */
    int rc = json_is_object(meta) ? 0 : wf_error_set(err, WF_ECORRUPT, "%s: not an object", path);
    if (!rc)
        rc = find_backend(json_string_value(json_object_get(meta, "kind")), &b, err);
    if (!rc)
        rc = check_files(dir, json_object_get(meta, "files"), b, err);
    json_decref(meta);
    *out = b;
    return rc;
}

int wf_model_check_dir(const char *dir, wf_error *err)
{
    const backend *b = NULL;
    return checked_backend(dir, &b, err);
}

int wf_model_load_dir_like(const char *dir, const wf_model *like, wf_model **out, wf_error *err)
{
    *out = NULL;
    const backend *b = NULL;
    int rc = checked_backend(dir, &b, err);
    return rc ? rc : b->load(dir, like, out, err);
}
