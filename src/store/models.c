/* Model registry rows (DESIGN §6): the registry's index of versions, their
 * lineage, status and evaluation metrics. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const status_names[WF_STORE_MODEL_STATUS_COUNT] = {
    [WF_STORE_MODEL_CANDIDATE] = "candidate",
    [WF_STORE_MODEL_ACTIVE] = "active",
    [WF_STORE_MODEL_PROMOTED] = "promoted",
    [WF_STORE_MODEL_REJECTED] = "rejected",
};

const char *wf_store_model_status_name(wf_store_model_status st)
{
    return (unsigned)st < WF_STORE_MODEL_STATUS_COUNT ? status_names[st] : "unknown";
}

int wf_store_model_status_parse(const char *name)
{
    for (int i = 0; name && i < WF_STORE_MODEL_STATUS_COUNT; i++)
        if (strcmp(name, status_names[i]) == 0)
            return i;
    return -1;
}

void wf_store_model_clear(wf_store_model *m)
{
    free(m->metrics);
    memset(m, 0, sizeof *m);
}

static int check_model(wf_store *s, const wf_store_model *m, wf_error *err)
{
    if (!m->version[0] || memchr(m->version, '\0', sizeof m->version) == NULL)
        return wf_error_set(err, WF_EINVAL, "store %s: model version empty or too long", s->path);
    if ((unsigned)m->status >= WF_STORE_MODEL_STATUS_COUNT)
        return wf_error_set(err, WF_EINVAL, "store %s: model %s: bad status %d", s->path,
                            m->version, (int)m->status);
    if (!m->metrics)
        return 0;
    json_t *doc = json_loads(m->metrics, 0, NULL);
    int ok = json_is_object(doc);
    json_decref(doc);
    if (!ok)
        return wf_error_set(err, WF_EINVAL, "store %s: model %s: metrics is not a JSON object",
                            s->path, m->version);
    return 0;
}

static void bind_model(sqlite3_stmt *st, const wf_store_model *m)
{
    wf_store_bind_text(st, 1, m->version);
    sqlite3_bind_text(st, 2, m->kind, (int)strnlen(m->kind, sizeof m->kind), SQLITE_STATIC);
    sqlite3_bind_text(st, 3, m->parent, (int)strnlen(m->parent, sizeof m->parent), SQLITE_STATIC);
    wf_store_bind_text(st, 4, status_names[m->status]);
    sqlite3_bind_int64(st, 5, m->created_at);
    sqlite3_bind_int64(st, 6, m->samples);
    sqlite3_bind_int64(st, 7, m->users);
    wf_store_bind_text(st, 8, m->metrics ? m->metrics : "{}");
}

static int write_model(wf_store *s, enum wf_stmt which, const wf_store_model *m, wf_error *err)
{
    int rc = check_model(s, m, err);
    int began = 0;
    if (rc == 0)
        rc = wf_store_write_begin(s, &began, err);
    if (rc < 0)
        return rc;
    bind_model(s->stmt[which], m);
    rc = wf_store_step_done(s, s->stmt[which], "cannot write model row", err);
    if (rc == WF_EINVAL && which == ST_MODEL_INSERT)
        rc = wf_error_set(err, WF_EINVAL, "store %s: model %s already exists", s->path, m->version);
    else if (rc == 0 && which == ST_MODEL_UPDATE && sqlite3_changes(s->db) == 0)
        rc = wf_error_set(err, WF_ENOTFOUND, "store %s: no model %s", s->path, m->version);
    return wf_store_write_end(s, began, rc, err);
}

int wf_store_model_insert(wf_store *s, const wf_store_model *m, wf_error *err)
{
    return write_model(s, ST_MODEL_INSERT, m, err);
}

int wf_store_model_update(wf_store *s, const wf_store_model *m, wf_error *err)
{
    return write_model(s, ST_MODEL_UPDATE, m, err);
}

static int row_model(wf_store *s, sqlite3_stmt *st, wf_store_model *m, wf_error *err)
{
    memset(m, 0, sizeof *m);
    snprintf(m->version, sizeof m->version, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(m->kind, sizeof m->kind, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(m->parent, sizeof m->parent, "%s", (const char *)sqlite3_column_text(st, 2));
    int status = wf_store_model_status_parse((const char *)sqlite3_column_text(st, 3));
    m->status = status < 0 ? WF_STORE_MODEL_CANDIDATE : (wf_store_model_status)status;
    m->created_at = sqlite3_column_int64(st, 4);
    m->samples = sqlite3_column_int64(st, 5);
    m->users = sqlite3_column_int64(st, 6);
    m->metrics = strdup((const char *)sqlite3_column_text(st, 7));
    if (!m->metrics)
        return wf_error_set(err, WF_ENOMEM, "store %s: out of memory", s->path);
    return 0;
}

int wf_store_model_get(wf_store *s, const char *version, wf_store_model *out, wf_error *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = s->stmt[ST_MODEL_GET];
    wf_store_bind_text(st, 1, version);
    int rc = sqlite3_step(st);
    int code;
    if (rc == SQLITE_ROW)
        code = row_model(s, st, out, err);
    else if (rc == SQLITE_DONE)
        code = wf_error_set(err, WF_ENOTFOUND, "store %s: no model %s", s->path, version);
    else
        code = wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot read model row");
    sqlite3_reset(st);
    return code;
}

void wf_store_model_list_free(wf_store_model *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        wf_store_model_clear(&list[i]);
    free(list);
}

static int grow(wf_store_model **list, size_t *cap)
{
    size_t c = *cap ? *cap * 2 : 8;
    wf_store_model *bigger = realloc(*list, c * sizeof **list);
    if (!bigger)
        return -1;
    *list = bigger;
    *cap = c;
    return 0;
}

int wf_store_model_list(wf_store *s, wf_store_model **out, size_t *n, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_MODEL_LIST];
    wf_store_model *list = NULL;
    size_t len = 0, cap = 0;
    int rc, code = 0;
    while (code == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap && grow(&list, &cap) < 0) {
            code = wf_error_set(err, WF_ENOMEM, "store %s: out of memory", s->path);
            break;
        }
        code = row_model(s, st, &list[len], err);
        len++;
    }
    if (code == 0 && rc != SQLITE_DONE)
        code = wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot list models");
    sqlite3_reset(st);
    if (code < 0) {
        wf_store_model_list_free(list, len);
        list = NULL;
        len = 0;
    }
    *out = list;
    *n = len;
    return code;
}
