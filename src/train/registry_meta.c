/* meta.json of a model version (the agreed format, see registry.h) and its
 * mirror row in the store. Written by hand so numbers keep a short, stable
 * form; read with jansson. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/registry_internal.h"
#include "wildfeed/log.h"

static void put_str(wf_strbuf *out, const char *key, const char *v)
{
    wf_strbuf_printf(out, "  \"%s\": ", key);
    wf_strbuf_json_string(out, v, strlen(v));
    wf_strbuf_puts(out, ",\n");
}

int wf_reg_meta_write(const char *dir, const wf_model_meta *meta, const char *const *files,
                      const char (*sha)[65], wf_error *err)
{
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_strbuf_puts(&b, "{\n");
    put_str(&b, "version", meta->version);
    put_str(&b, "kind", meta->kind);
    put_str(&b, "head", meta->head);
    put_str(&b, "parent", meta->parent);
    wf_strbuf_printf(&b, "  \"created_at\": %lld,\n  \"samples\": %lld,\n  \"users\": %lld,\n",
                     (long long)meta->created_at, (long long)meta->samples, (long long)meta->users);
    wf_strbuf_puts(&b, "  \"label_counts\": {");
    for (int k = 0; k < WF_LABELS; k++)
        wf_strbuf_printf(&b, "%s\"%d\": %lld", k ? ", " : "", k + 1,
                         (long long)meta->label_counts[k]);
    wf_strbuf_puts(&b, "},\n  \"metrics\": ");
    wf_eval_metrics_json(&meta->metrics, &b);
    wf_strbuf_puts(&b, ",\n  \"files\": {");
    for (size_t i = 0; files[i]; i++) {
        wf_strbuf_puts(&b, i ? ", " : "");
        wf_strbuf_json_string(&b, files[i], strlen(files[i]));
        wf_strbuf_printf(&b, ": \"%s\"", sha[i]);
    }
    wf_strbuf_puts(&b, "},\n");
    put_str(&b, "status", wf_store_model_status_name(meta->status));
    wf_strbuf_printf(&b, "  \"trained_seq\": %lld\n}\n", (long long)meta->trained_seq);
    int rc;
    char path[WF_REG_PATH_MAX];
    if (b.oom)
        rc = wf_error_set(err, WF_ENOMEM, "out of memory");
    else if (snprintf(path, sizeof path, "%s/meta.json", dir) >= (int)sizeof path)
        rc = wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    else
        rc = wf_reg_write_atomic(path, dir, b.data, b.len, err);
    wf_strbuf_free(&b);
    return rc;
}

static void get_str(json_t *doc, const char *key, char *out, size_t cap)
{
    const char *v = json_string_value(json_object_get(doc, key));
    snprintf(out, cap, "%s", v ? v : "");
}

static int64_t get_int(json_t *doc, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(doc, key));
}

static double get_double(json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void read_metrics(json_t *m, wf_eval_metrics *out)
{
    out->n = (size_t)get_int(m, "n");
    out->accuracy = get_double(m, "accuracy");
    out->mae = get_double(m, "mae");
    out->ece = get_double(m, "ece");
    out->auc = get_double(m, "auc");
    out->spearman = get_double(m, "spearman");
    out->pairs = (size_t)get_int(m, "pairs");
    out->pairwise = get_double(m, "pairwise");
}

int wf_reg_meta_read(const char *dir, wf_model_meta *out, wf_error *err)
{
    char path[WF_REG_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/meta.json", dir) >= (int)sizeof path)
        return wf_error_set(err, WF_EINVAL, "%s: path too long", dir);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc)
        return wf_error_set(err, WF_ECORRUPT, "%s: %s", path, jerr.text);
    memset(out, 0, sizeof *out);
    get_str(doc, "version", out->version, sizeof out->version);
    get_str(doc, "kind", out->kind, sizeof out->kind);
    get_str(doc, "head", out->head, sizeof out->head);
    get_str(doc, "parent", out->parent, sizeof out->parent);
    out->created_at = get_int(doc, "created_at");
    out->samples = get_int(doc, "samples");
    out->users = get_int(doc, "users");
    out->trained_seq = get_int(doc, "trained_seq");
    json_t *lc = json_object_get(doc, "label_counts");
    for (int k = 0; k < WF_LABELS; k++) {
        char key[2] = {(char)('1' + k), '\0'};
        out->label_counts[k] = get_int(lc, key);
    }
    read_metrics(json_object_get(doc, "metrics"), &out->metrics);
    int st = wf_store_model_status_parse(json_string_value(json_object_get(doc, "status")));
    int ok =
        out->version[0] && out->kind[0] && json_is_object(json_object_get(doc, "files")) && st >= 0;
    out->status = st >= 0 ? (wf_store_model_status)st : WF_STORE_MODEL_CANDIDATE;
    json_decref(doc);
    if (!ok)
        return wf_error_set(err, WF_ECORRUPT, "%s: version, kind, files or status missing", path);
    return 0;
}

void wf_reg_mirror(wf_registry *r, const wf_model_meta *meta, wf_store_model_status status)
{
    if (!r->store)
        return;
    wf_store_model row = {0};
    snprintf(row.version, sizeof row.version, "%s", meta->version);
    snprintf(row.kind, sizeof row.kind, "%s", meta->kind);
    snprintf(row.parent, sizeof row.parent, "%s", meta->parent);
    row.status = status;
    row.created_at = meta->created_at;
    row.samples = meta->samples;
    row.users = meta->users;
    wf_strbuf m;
    wf_strbuf_init(&m);
    wf_eval_metrics_json(&meta->metrics, &m);
    row.metrics = m.oom ? NULL : m.data;
    wf_error err;
    int rc = wf_store_model_update(r->store, &row, &err);
    if (rc == WF_ENOTFOUND)
        rc = wf_store_model_insert(r->store, &row, &err);
    if (rc < 0)
        wf_log(WF_LOG_WARN, "model registry row not written", "version", meta->version, "error",
               err.msg, NULL);
    wf_strbuf_free(&m);
}
