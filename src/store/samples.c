/* Samples: upsert with source precedence, load, walk and export. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

int wf_store_source_rank(wf_label_source src)
{
    switch (src) {
    case WF_SRC_EXPLICIT: return 2;
    case WF_SRC_REFUSAL: return 1;
    default: return 0;
    }
}

int wf_store_split_parse(const char *name)
{
    static const char *const names[] = {"all", "train", "eval"};
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

static void history_json(const wf_candidate *c, wf_strbuf *out)
{
    wf_strbuf_putc(out, '[');
    for (size_t i = 0; i < c->n_history; i++) {
        const wf_msg *m = &c->history[i];
        wf_strbuf_puts(out, i ? ",{\"role\":" : "{\"role\":");
        wf_strbuf_json_string(out, m->role, strlen(m->role));
        wf_strbuf_puts(out, ",\"content\":");
        wf_strbuf_json_string(out, m->content, m->content_len);
        wf_strbuf_putc(out, '}');
    }
    wf_strbuf_putc(out, ']');
}

static void count_sample(wf_store_delta *d, int sign, int eval, int label, int src)
{
    d->total += sign;
    d->by_split[eval] += sign;
    if (label >= 1 && label <= 4)
        d->by_label[label] += sign;
    if (src >= 0 && src < WF_SRC_COUNT)
        d->by_source[src] += sign;
}

/* Reads the stored row's split, label and source: what a replacement takes
 * away from the counts. Returns 1 when a row exists. */
static int old_row(wf_store *s, const char *id, int *eval, int *label, int *src, wf_error *err)
{
    sqlite3_stmt *st = s->stmt[ST_SAMPLE_OLD];
    wf_store_bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *eval = strcmp((const char *)sqlite3_column_text(st, 0), "eval") == 0;
        *label = sqlite3_column_int(st, 1);
        *src = wf_label_source_parse((const char *)sqlite3_column_text(st, 2));
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot read sample");
}

int wf_store_has_sample(wf_store *s, const char *id, int *exists, wf_error *err)
{
    int eval, label, src;
    int rc = old_row(s, id, &eval, &label, &src, err);
    if (rc < 0)
        return rc;
    *exists = rc;
    return 0;
}

static void bind_sample(sqlite3_stmt *st, const wf_sample *smp, const char *history)
{
    const wf_candidate *c = smp->cand;
    wf_store_bind_text(st, 1, c->id);
    wf_store_bind_text(st, 2, c->conversation_id);
    sqlite3_bind_int(st, 3, c->turn);
    sqlite3_bind_int64(st, 4, c->response_turn);
    sqlite3_bind_int(st, 5, smp->annotation);
    sqlite3_bind_int(st, 6, smp->label);
    wf_store_bind_text(st, 7, wf_label_source_name(smp->source));
    sqlite3_bind_int(st, 8, wf_store_source_rank(smp->source));
    wf_store_bind_text(st, 9, smp->eval ? "eval" : "train");
    sqlite3_bind_int64(st, 10, c->created_at);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)time(NULL));
    wf_store_bind_text(st, 12, c->user_id);
    wf_store_bind_text(st, 13, c->language);
    wf_store_bind_text(st, 14, c->model);
    sqlite3_bind_text(st, 15, smp->reason, (int)strnlen(smp->reason, sizeof smp->reason),
                      SQLITE_STATIC);
    wf_store_bind_text(st, 16, history);
    wf_store_bind_text(st, 17, c->query);
    wf_store_bind_text(st, 18, c->response);
    wf_store_bind_text(st, 19, c->feedback);
    wf_store_bind_text(st, 20, smp->text);
}

static int check_sample(wf_store *s, const wf_sample *smp, wf_error *err)
{
    if (!smp->cand || !smp->cand->id)
        return wf_error_set(err, WF_EINVAL, "store %s: sample without candidate", s->path);
    if (smp->annotation < 1 || smp->annotation > 5 || smp->label < 1 || smp->label > 4 ||
        (unsigned)smp->source >= WF_SRC_COUNT)
        return wf_error_set(
            err, WF_EINVAL,
            "store %s: sample %s: annotation %d, label %d or source %d out of range", s->path,
            smp->cand->id, smp->annotation, smp->label, (int)smp->source);
    return 0;
}

static int upsert(wf_store *s, const wf_sample *smp, wf_store_put_result *res, wf_error *err)
{
    int eval = 0, label = 0, src = -1;
    int existed = old_row(s, smp->cand->id, &eval, &label, &src, err);
    if (existed < 0)
        return existed;
    wf_strbuf history;
    wf_strbuf_init(&history);
    history_json(smp->cand, &history);
    if (history.oom) {
        wf_strbuf_free(&history);
        return wf_error_set(err, WF_ENOMEM, "store %s: out of memory", s->path);
    }
    sqlite3_stmt *st = s->stmt[ST_SAMPLE_UPSERT];
    bind_sample(st, smp, history.data);
    int rc = wf_store_step_done(s, st, "cannot put sample", err);
    wf_strbuf_free(&history);
    if (rc < 0)
        return rc;
    wf_store_put_result r = WF_STORE_KEPT;
    if (sqlite3_changes(s->db) > 0)
        r = existed ? WF_STORE_REPLACED : WF_STORE_INSERTED;
    if (r == WF_STORE_REPLACED)
        count_sample(&s->delta, -1, eval, label, src);
    if (r != WF_STORE_KEPT) /* a replaced row keeps its split */
        count_sample(&s->delta, 1, existed ? eval : smp->eval != 0, smp->label, (int)smp->source);
    s->delta.puts[r]++;
    if (res)
        *res = r;
    return 0;
}

int wf_store_put_sample(wf_store *s, const wf_sample *smp, wf_store_put_result *res, wf_error *err)
{
    int rc = check_sample(s, smp, err);
    if (rc < 0)
        return rc;
    int began;
    rc = wf_store_write_begin(s, &began, err);
    if (rc < 0)
        return rc;
    rc = upsert(s, smp, res, err);
    return wf_store_write_end(s, began, rc, err);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    return v ? v : "";
}

/* Parses the stored history into messages borrowing from *doc. */
static int parse_history(const char *text, json_t **doc, wf_msg **msgs, size_t *n)
{
    *doc = json_loads(text, JSON_ALLOW_NUL, NULL);
    if (!*doc || !json_is_array(*doc))
        return -1;
    *n = json_array_size(*doc);
    *msgs = calloc(*n ? *n : 1, sizeof **msgs);
    if (!*msgs)
        return -1;
    for (size_t i = 0; i < *n; i++) {
        json_t *m = json_array_get(*doc, i);
        json_t *role = json_object_get(m, "role"), *content = json_object_get(m, "content");
        if (!json_is_string(role) || !json_is_string(content))
            return -1;
        (*msgs)[i].role = json_string_value(role);
        (*msgs)[i].content = json_string_value(content);
        (*msgs)[i].content_len = json_string_length(content);
    }
    return 0;
}

static wf_candidate *row_candidate(sqlite3_stmt *st)
{
    json_t *doc = NULL;
    wf_msg *msgs = NULL;
    wf_candidate_parts p = {
        .conversation_id = col_text(st, 2),
        .turn = sqlite3_column_int(st, 3),
        .response_turn = sqlite3_column_int64(st, 4),
        .created_at = sqlite3_column_int64(st, 9),
        .user_id = col_text(st, 10),
        .language = col_text(st, 11),
        .model = col_text(st, 12),
        .query = col_text(st, 15),
        .response = col_text(st, 16),
        .feedback = col_text(st, 17),
    };
    wf_candidate *c = NULL;
    if (parse_history(col_text(st, 14), &doc, &msgs, &p.n_history) == 0) {
        p.history = msgs;
        c = wf_candidate_new(&p);
    }
    free(msgs);
    json_decref(doc);
    return c;
}

int wf_store_row_to_sample(wf_store *s, sqlite3_stmt *st, wf_sample **out, wf_error *err)
{
    const char *id = col_text(st, 0);
    wf_sample *smp = calloc(1, sizeof *smp);
    if (!smp)
        return wf_error_set(err, WF_ENOMEM, "store %s: out of memory", s->path);
    smp->cand = row_candidate(st);
    smp->annotation = sqlite3_column_int(st, 5);
    smp->label = sqlite3_column_int(st, 6);
    int src = wf_label_source_parse(col_text(st, 7));
    smp->source = src < 0 ? WF_SRC_RULES : (wf_label_source)src;
    smp->eval = strcmp(col_text(st, 8), "eval") == 0;
    snprintf(smp->reason, sizeof smp->reason, "%s", col_text(st, 13));
    smp->text = strdup(col_text(st, 18));
    /* The id is derived from conversation and turn; a row where they
     * disagree, or whose history does not parse, was not written by us. */
    if (!smp->cand || !smp->text || src < 0 || strcmp(smp->cand->id, id) != 0) {
        int oom = !smp->text;
        wf_sample_free(smp);
        return oom ? wf_error_set(err, WF_ENOMEM, "store %s: out of memory", s->path)
                   : wf_error_set(err, WF_ECORRUPT, "store %s: sample %s: bad row", s->path, id);
    }
    *out = smp;
    return 0;
}

int wf_store_get_sample(wf_store *s, const char *id, wf_sample **out, wf_error *err)
{
    *out = NULL;
    sqlite3_stmt *st = s->stmt[ST_SAMPLE_GET];
    wf_store_bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    int code;
    if (rc == SQLITE_ROW)
        code = wf_store_row_to_sample(s, st, out, err);
    else if (rc == SQLITE_DONE)
        code = wf_error_set(err, WF_ENOTFOUND, "store %s: no sample %s", s->path, id);
    else
        code = wf_store_sqlerr(s, err, wf_store_errcode(rc), "cannot read sample");
    sqlite3_reset(st);
    return code;
}
