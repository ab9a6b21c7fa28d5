/* Stored samples fed to the pipeline (a fleet's trainer reading the samples
 * topic, or a replayed export): the sample comes out byte for byte as it
 * went in, with this instance's split; no judge is asked; the quota applies;
 * the stats, the report and the metrics count the shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedback/template.h"
#include "testutil.h"
#include "wildfeed/config.h"
#include "wildfeed/pipeline.h"

/* A judge that counts the requests it gets: there must be none. */
static int asked;

static int no_submit(wf_judge *j, const wf_judge_request *r, wf_error *err)
{
    (void)j, (void)r, (void)err;
    asked++;
    return WF_EIO;
}
static size_t no_poll(wf_judge *j, wf_verdict *out, size_t max, int timeout_ms)
{
    (void)j, (void)out, (void)max, (void)timeout_ms;
    return 0;
}
static size_t no_in_flight(const wf_judge *j)
{
    (void)j;
    return 0;
}
static int no_validates(const wf_judge *j)
{
    (void)j;
    return 0;
}
static void no_destroy(wf_judge *j)
{
    (void)j;
}

static const wf_judge_ops no_judge_ops = {"none",       no_submit,    no_poll,
                                          no_in_flight, no_validates, no_destroy};

/* The sink keeps what it is given. */
typedef struct captured {
    wf_sample *s[8];
    int n;
} captured;

static int capture(void *ctx, wf_sample *s, wf_error *err)
{
    (void)err;
    captured *c = ctx;
    if (c->n == 8) {
        wf_sample_free(s);
        return WF_EIO;
    }
    c->s[c->n++] = s;
    return 0;
}

typedef struct fixture {
    wf_config *cfg;
    wf_judge judge;
    captured out;
    wf_pipeline *p;
} fixture;

static fixture *setup(const char *const *sets)
{
    fixture *fx = calloc(1, sizeof *fx);
    wf_error err;
    fx->cfg = wf_config_new();
    for (; *sets; sets++)
        if (wf_config_set(fx->cfg, *sets, &err) < 0)
            fail_msg("%s: %s", *sets, err.msg);
    fx->judge = (wf_judge){.ops = &no_judge_ops};
    fx->p = wf_pipeline_new(fx->cfg, &fx->judge, (wf_sample_sink){capture, &fx->out}, &err);
    if (!fx->p)
        fail_msg("pipeline: %s", err.msg);
    asked = 0;
    return fx;
}

static void teardown_fx(fixture *fx)
{
    wf_pipeline_free(fx->p);
    wf_config_free(fx->cfg);
    for (int i = 0; i < fx->out.n; i++)
        wf_sample_free(fx->out.s[i]);
    free(fx);
}

#define NOW 1764200000

static int feed(fixture *fx, const char *line, wf_bad_reason *why)
{
    wf_error err;
    int rc = wf_pipeline_feed(fx->p, line, strlen(line), NOW, why, &err);
    wf_error perr;
    assert_int_equal(wf_pipeline_finish(fx->p, &perr), 0);
    return rc;
}

static const wf_msg history[] = {
    {"user", "What is 2+2?", 12},
    {"assistant", "2+2 equals 5.", 13},
};

/* A sample as this pipeline would have made it: its text rendered by the
 * default template; eval as given. */
static wf_sample *make_sample(const char *conv, const char *user, int eval)
{
    wf_candidate_parts parts = {
        .conversation_id = conv,
        .turn = 1,
        .response_turn = 3,
        .user_id = user,
        .language = "English",
        .model = "gpt-4o",
        .created_at = 1764133200,
        .history = history,
        .n_history = 2,
        .query = "That is wrong, \"check\" again\n\tplease",
        .response = "Sorry: 2+2 equals 4. \xe8\xb0\xa2",
        .feedback = "",
    };
    wf_sample *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->cand = wf_candidate_new(&parts);
    assert_non_null(s->cand);
    s->annotation = 1;
    s->label = 1;
    s->source = WF_SRC_EXPLICIT;
    snprintf(s->reason, sizeof s->reason, "explicit rating");
    s->eval = eval;
    wf_error err;
    wf_template *t = wf_template_load(NULL, &err);
    assert_non_null(t);
    wf_strbuf text;
    wf_strbuf_init(&text);
    wf_template_render(t, parts.history, parts.n_history, parts.query, parts.response, &text);
    s->text = wf_strbuf_take(&text);
    wf_template_free(t);
    return s;
}

/* wf_sample_to_jsonl's line, without its final newline (a record). */
static char *line_of(const wf_sample *s)
{
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_sample_to_jsonl(s, &b);
    assert_false(b.oom);
    b.data[--b.len] = '\0';
    return wf_strbuf_take(&b);
}

static void round_trip_is_byte_identical(void **state)
{
    (void)state;
    fixture *fx = setup((const char *[]){"sample.eval_fraction=1", NULL});
    wf_sample *in = make_sample("c1", "u1", 1);
    char *line = line_of(in);
    assert_non_null(strstr(line, "\"split\":\"eval\""));
    assert_non_null(strstr(line, ",\"created_at\":1764133200,\"type\":\"sample\"}"));
    assert_int_equal(feed(fx, line, NULL), 0);
    assert_int_equal(fx->out.n, 1);
    const wf_sample *got = fx->out.s[0];
    char *again = line_of(got);
    assert_string_equal(again, line);
    assert_int_equal(got->cand->response_turn, -1);
    assert_int_equal(got->eval, 1);
    assert_int_equal(asked, 0);
    free(again);
    free(line);
    wf_sample_free(in);
    teardown_fx(fx);
}

/* The split and the text are the receiving instance's; created_at absent
 * is the feed's now. */
static void split_text_and_time_are_ours(void **state)
{
    (void)state;
    fixture *fx = setup((const char *[]){"sample.eval_fraction=0", NULL});
    wf_sample *in = make_sample("c2", "u2", 1);
    free(in->text);
    in->text = strdup("rendered by another template");
    in->cand->created_at = 0; /* written as 0: read as absent */
    char *line = line_of(in);
    assert_int_equal(feed(fx, line, NULL), 0);
    assert_int_equal(fx->out.n, 1);
    const wf_sample *got = fx->out.s[0];
    assert_int_equal(got->eval, 0);
    assert_int_equal(got->cand->created_at, NOW);
    wf_sample *want = make_sample("c2", "u2", 0);
    assert_string_equal(got->text, want->text);
    free(line);
    wf_sample_free(want);
    wf_sample_free(in);
    teardown_fx(fx);
}

/* One sample per user and day: the second of u1's is refused by the quota,
 * u2's is kept. */
static void quota_applies(void **state)
{
    (void)state;
    fixture *fx = setup((const char *[]){"quota.per_user_per_day=1", NULL});
    const char *conv[] = {"q1", "q2", "q3"}, *user[] = {"u1", "u1", "u2"};
    for (int i = 0; i < 3; i++) {
        wf_sample *in = make_sample(conv[i], user[i], 0);
        char *line = line_of(in);
        assert_int_equal(feed(fx, line, NULL), 0);
        free(line);
        wf_sample_free(in);
    }
    assert_int_equal(fx->out.n, 2);
    assert_string_equal(fx->out.s[0]->cand->id, "q1_turn1");
    assert_string_equal(fx->out.s[1]->cand->id, "q3_turn1");
    const wf_pipeline_stats *st = wf_pipeline_get_stats(fx->p);
    assert_int_equal(st->drops[WF_DROP_QUOTA], 1);
    assert_int_equal(st->samples, 2);
    teardown_fx(fx);
}

/* The daemon's durable quota replaces the in-memory one: it is asked too. */
static int refuse_all(void *ctx, const wf_candidate *c)
{
    (void)c;
    (*(int *)ctx)++;
    return 0;
}

static void quota_hook_applies(void **state)
{
    (void)state;
    fixture *fx = setup((const char *[]){NULL});
    int calls = 0;
    wf_pipeline_set_quota(fx->p, refuse_all, &calls);
    wf_sample *in = make_sample("h1", "u1", 0);
    char *line = line_of(in);
    assert_int_equal(feed(fx, line, NULL), 0);
    assert_int_equal(calls, 1);
    assert_int_equal(fx->out.n, 0);
    assert_int_equal(wf_pipeline_get_stats(fx->p)->drops[WF_DROP_QUOTA], 1);
    free(line);
    wf_sample_free(in);
    teardown_fx(fx);
}

static void stats_report_and_metrics(void **state)
{
    (void)state;
    fixture *fx = setup((const char *[]){NULL});
    wf_sample *in = make_sample("s1", "u1", 0);
    char *line = line_of(in);
    assert_int_equal(feed(fx, line, NULL), 0);
    in->annotation = 4;
    in->label = 3;
    in->source = WF_SRC_RULES;
    in->cand->turn = 0; /* the id no longer matches: refused */
    char *bad = line_of(in);
    wf_bad_reason why = WF_BAD_COUNT;
    assert_int_equal(feed(fx, bad, &why), WF_EPARSE);
    assert_int_equal(why, WF_BAD_VALUE);
    const wf_pipeline_stats *st = wf_pipeline_get_stats(fx->p);
    assert_int_equal(st->records, 2);
    assert_int_equal(st->by_shape[WF_SHAPE_SAMPLE], 1);
    assert_int_equal(st->bad[WF_BAD_VALUE], 1);
    assert_int_equal(st->samples, 1);
    assert_int_equal(st->samples_by_label[1], 1);
    assert_int_equal(st->samples_by_source[WF_SRC_EXPLICIT], 1);
    assert_int_equal(st->candidates, 0);
    assert_int_equal(st->conversations, 0);
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_pipeline_report_json(st, 1, NULL, &b);
    assert_non_null(strstr(
        b.data,
        "\"records_by_shape\":{\"message\":0,\"conversation\":0,\"feedback\":0,\"sample\":1}"));
    wf_strbuf_reset(&b);
    wf_pipeline_report_text(st, 1, &b);
    assert_non_null(strstr(b.data, "records_by_shape\n  sample "));
    wf_strbuf_reset(&b);
    wf_pipeline_stats_collect((void *)st, &b);
    assert_non_null(strstr(b.data, "wildfeed_ingest_records_by_shape_total{shape=\"feedback\"} 0\n"
                                   "wildfeed_ingest_records_by_shape_total{shape=\"sample\"} 1\n"));
    wf_strbuf_free(&b);
    free(bad);
    free(line);
    wf_sample_free(in);
    teardown_fx(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_is_byte_identical),
        cmocka_unit_test(split_text_and_time_are_ours),
        cmocka_unit_test(quota_applies),
        cmocka_unit_test(quota_hook_applies),
        cmocka_unit_test(stats_report_and_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
