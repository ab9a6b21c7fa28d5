/* Helpers shared by the store tests: a store in a fresh directory and
 * samples built from a few fields. */
#ifndef WF_TEST_STORE_UTIL_H
#define WF_TEST_STORE_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wildfeed/sample.h"
#include "wildfeed/store.h"

/* Temporary directories made by this test program, removed at its end. */
static char store_dirs[64][64];
static int store_n_dirs;

static inline const char *store_tmpdir(void)
{
    const char *dir = wf_test_tmpdir();
    assert_non_null(dir);
    assert_true(store_n_dirs < 64);
    snprintf(store_dirs[store_n_dirs++], sizeof store_dirs[0], "%s", dir);
    return dir;
}

static inline int store_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static inline void store_cleanup(void)
{
    for (int i = 0; i < store_n_dirs; i++)
        nftw(store_dirs[i], store_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Path of a store file in a fresh temporary directory (static buffer). */
static inline const char *store_tmp_path(void)
{
    static char path[128];
    const char *dir = store_tmpdir();
    snprintf(path, sizeof path, "%s/wf.db", dir);
    return path;
}

static inline wf_store *store_open_at(const char *path)
{
    wf_store_options o;
    wf_store_options_default(&o, path);
    wf_store *s = NULL;
    wf_error err = {0};
    int rc = wf_store_open(&o, &s, &err);
    if (rc != 0)
        fail_msg("open %s: %s", path, err.msg);
    return s;
}

typedef struct sample_spec {
    const char *conv;
    int turn;
    const wf_msg *history;
    size_t n_history;
    const char *query, *response, *feedback;
    int annotation;
    wf_label_source source;
    const char *reason;
    int eval;
    const char *text;
} sample_spec;

/* A sample with fixed user, language, model and times, and the label the
 * annotation maps to. */
static inline wf_sample *make_sample(const sample_spec *sp)
{
    wf_candidate_parts p = {
        .conversation_id = sp->conv,
        .turn = sp->turn,
        .response_turn = 2 * sp->turn + 1,
        .user_id = "u1",
        .language = "English",
        .model = "m1",
        .created_at = 1764133200 + sp->turn,
        .history = sp->history,
        .n_history = sp->n_history,
        .query = sp->query ? sp->query : "What is 2+2?",
        .response = sp->response ? sp->response : "2+2 equals 4.",
        .feedback = sp->feedback ? sp->feedback : "thanks, that works",
    };
    wf_sample *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->cand = wf_candidate_new(&p);
    assert_non_null(s->cand);
    s->annotation = sp->annotation ? sp->annotation : 5;
    s->label = wf_label_from_annotation(s->annotation);
    s->source = sp->source;
    snprintf(s->reason, sizeof s->reason, "%s", sp->reason ? sp->reason : "gratitude");
    s->eval = sp->eval;
    s->text = strdup(sp->text ? sp->text : "rendered");
    assert_non_null(s->text);
    return s;
}

/* Puts one sample built from sp and returns the put result. */
static inline wf_store_put_result put_spec(wf_store *st, const sample_spec *sp)
{
    wf_sample *s = make_sample(sp);
    wf_store_put_result res = WF_STORE_KEPT;
    wf_error err = {0};
    int rc = wf_store_put_sample(st, s, &res, &err);
    if (rc != 0)
        fail_msg("put: %s", err.msg);
    wf_sample_free(s);
    return res;
}

/* The sample's JSONL line, malloc'd. */
static inline char *sample_line(const wf_sample *s)
{
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_sample_to_jsonl(s, &b);
    return wf_strbuf_take(&b);
}

#endif
