/* Pipeline state through a restart: what wf_pipeline_take_changes hands out
 * is all a new pipeline needs to carry on, so a run interrupted after any
 * record gives exactly the samples of an uninterrupted run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wildfeed/config.h"
#include "wildfeed/pipeline.h"

/* Judge scripted by the feedback text ("L<n> ..."); with park=1 every
 * verdict comes back parked, like an LLM judge whose breaker is open. */
typedef struct fake_judge {
    wf_verdict queue[1024];
    size_t n;
    int park;
    int refuse; /* submit fails at once, as a judge out of memory does */
} fake_judge;

static int fake_submit(wf_judge *j, const wf_judge_request *r, wf_error *err)
{
    fake_judge *f = j->impl;
    if (f->refuse)
        return wf_error_set(err, WF_EINVAL, "judge refuses");
    wf_verdict v = {.tag = r->tag, .task = r->task, .source = WF_SRC_LLM};
    v.status = f->park ? WF_VERDICT_PARKED : WF_VERDICT_OK;
    v.level = r->feedback[0] == 'L' ? r->feedback[1] - '0' : 3;
    f->queue[f->n++] = v;
    return 0;
}

static size_t fake_poll(wf_judge *j, wf_verdict *out, size_t max, int timeout_ms)
{
    (void)timeout_ms;
    fake_judge *f = j->impl;
    size_t n = f->n < max ? f->n : max;
    memcpy(out, f->queue, n * sizeof *out);
    memmove(f->queue, f->queue + n, (f->n - n) * sizeof *f->queue);
    f->n -= n;
    return n;
}

static size_t fake_in_flight(const wf_judge *j)
{
    return ((fake_judge *)j->impl)->n;
}
static int fake_validates(const wf_judge *j)
{
    return (void)j, 0;
}
static void fake_destroy(wf_judge *j)
{
    (void)j;
}
static const wf_judge_ops fake_ops = {"fake",         fake_submit,    fake_poll,
                                      fake_in_flight, fake_validates, fake_destroy};

/* The "store": latest state per (kind, key). */
typedef struct stored {
    int kind;
    char key[256];
    char *state;
    int64_t at;
} stored;

typedef struct store {
    stored rows[256];
    int n;
    char samples[64][96];
    int n_samples;
} store;

static int write_change(void *ctx, const wf_change *c)
{
    store *s = ctx;
    int i = 0;
    while (i < s->n && !(s->rows[i].kind == (int)c->kind && strcmp(s->rows[i].key, c->key) == 0))
        i++;
    if (i < s->n) {
        free(s->rows[i].state);
        s->rows[i] = s->rows[--s->n];
    }
    if (c->state) {
        stored *r = &s->rows[s->n++];
        r->kind = c->kind;
        snprintf(r->key, sizeof r->key, "%s", c->key);
        r->state = strdup(c->state->data);
        r->at = c->at;
    }
    return 0;
}

static int put_sample(void *ctx, wf_sample *smp, wf_error *err)
{
    (void)err;
    store *s = ctx;
    snprintf(s->samples[s->n_samples++], 96, "%s %d %s", smp->cand->id, smp->label,
             wf_label_source_name(smp->source));
    wf_sample_free(smp);
    return 0;
}

typedef struct run {
    wf_config *cfg;
    fake_judge fj;
    wf_judge judge;
    wf_pipeline *p;
} run;

static void run_start(run *r, store *s, int park)
{
    memset(r, 0, sizeof *r);
    r->cfg = wf_config_new();
    r->fj.park = park;
    r->judge = (wf_judge){&fake_ops, &r->fj};
    wf_error err;
    assert_int_equal(wf_config_set(r->cfg, "hindsight.min_similarity=0.1", &err), 0);
    r->p = wf_pipeline_new(r->cfg, &r->judge, (wf_sample_sink){put_sample, s}, &err);
    assert_non_null(r->p);
    wf_pipeline_track_changes(r->p);
    for (int i = 0; i < s->n; i++) {
        const stored *row = &s->rows[i];
        if (row->kind == WF_CHANGE_CONVERSATION)
            assert_int_equal(wf_pipeline_restore_conversation(r->p, row->state, strlen(row->state),
                                                              row->at, &err),
                             0);
    }
    for (int i = 0; i < s->n; i++)
        if (s->rows[i].kind == WF_CHANGE_TURN)
            assert_int_equal(
                wf_pipeline_restore_turn(r->p, s->rows[i].state, strlen(s->rows[i].state), &err),
                0);
    wf_pipeline_restore_done(r->p);
}

static void run_feed(run *r, const char *line)
{
    wf_error err;
    assert_int_equal(wf_pipeline_feed(r->p, line, strlen(line), 1764133200, NULL, &err), 0);
    assert_int_equal(wf_pipeline_pump(r->p, 0, &err), 0);
}

/* Commit, then crash: state reaches the store, the pipeline is dropped. */
static void run_crash(run *r, store *s)
{
    assert_int_equal(wf_pipeline_take_changes(r->p, write_change, s), 0);
    wf_pipeline_free(r->p);
    wf_config_free(r->cfg);
}

static void run_finish(run *r)
{
    wf_error err;
    assert_int_equal(wf_pipeline_finish(r->p, &err), 0);
    wf_pipeline_free(r->p);
    wf_config_free(r->cfg);
}

#define Q "Please explain how binary search works in detail"
#define R "Binary search halves the sorted range at every step until it finds the target value."
#define R2 "On a linked list you cannot jump to the middle, so binary search loses its advantage."

static const char *events[] = {
    "{\"conversation_id\":\"p1\",\"turn\":0,\"role\":\"user\",\"content\":\"" Q "\","
    "\"language\":\"English\"}",
    "{\"conversation_id\":\"p1\",\"turn\":1,\"role\":\"assistant\",\"content\":\"" R "\"}",
    "{\"conversation_id\":\"p1\",\"turn\":2,\"role\":\"user\",\"content\":\"what about binary "
    "search on linked lists\"}",
    "{\"conversation_id\":\"p1\",\"turn\":3,\"role\":\"assistant\",\"content\":\"" R2 "\"}",
    "{\"conversation_id\":\"p1\",\"turn\":4,\"role\":\"user\",\"content\":\"L5 thanks, binary "
    "search on linked lists makes sense now\"}",
    "{\"conversation_id\":\"p2\",\"language\":\"English\",\"conversation\":["
    "{\"role\":\"user\",\"content\":\"" Q "\"},{\"role\":\"assistant\",\"content\":\"" R "\"},"
    "{\"role\":\"user\",\"content\":\"L2 you forgot that the range must be sorted first\"}]}",
};
#define N_EVENTS (int)(sizeof events / sizeof events[0])

static void sorted_samples(store *s, char *out, size_t n)
{
    qsort(s->samples, (size_t)s->n_samples, sizeof s->samples[0],
          (int (*)(const void *, const void *))strcmp);
    out[0] = '\0';
    for (int i = 0; i < s->n_samples; i++) {
        strncat(out, s->samples[i], n - strlen(out) - 1);
        strncat(out, ";", n - strlen(out) - 1);
    }
}

static void free_rows(store *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->rows[i].state);
}

/* Crash after every prefix of the events, once with a working judge and once
 * with every verdict parked before the crash: same samples as one run. */
static void test_restart_after_every_record(void **state)
{
    (void)state;
    store whole = {0};
    run r;
    run_start(&r, &whole, 0);
    for (int i = 0; i < N_EVENTS; i++)
        run_feed(&r, events[i]);
    run_finish(&r);
    char expected[2048];
    sorted_samples(&whole, expected, sizeof expected);
    assert_string_equal(expected, "p1_turn0 4 hindsight;p1_turn1 4 llm;p2_turn0 2 llm;");

    for (int park = 0; park < 2; park++) {
        for (int cut = 0; cut <= N_EVENTS; cut++) {
            store s = {0};
            run_start(&r, &s, park);
            for (int i = 0; i < cut; i++)
                run_feed(&r, events[i]);
            run_crash(&r, &s);
            run_start(&r, &s, 0);
            for (int i = cut; i < N_EVENTS; i++)
                run_feed(&r, events[i]);
            run_finish(&r);
            char got[2048];
            sorted_samples(&s, got, sizeof got);
            assert_string_equal(got, expected);
            free_rows(&s);
        }
    }
}

/* Nothing is left in the store once every turn is decided. */
static void test_store_empties_when_done(void **state)
{
    (void)state;
    store s = {0};
    run r;
    run_start(&r, &s, 0);
    for (int i = 0; i < N_EVENTS; i++)
        run_feed(&r, events[i]);
    assert_int_equal(wf_pipeline_take_changes(r.p, write_change, &s), 0);
    int turns = 0;
    for (int i = 0; i < s.n; i++)
        turns += s.rows[i].kind == WF_CHANGE_TURN;
    assert_int_equal(turns, 0); /* p1's neutral turn was promoted, p2 is closed */
    wf_error err;
    assert_int_equal(wf_pipeline_finish(r.p, &err), 0);
    assert_int_equal(wf_pipeline_take_changes(r.p, write_change, &s), 0);
    assert_int_equal(s.n, 0); /* the finished conversation left the table */
    wf_pipeline_free(r.p);
    wf_config_free(r.cfg);
}

/* Restored turns whose conversation is no longer in the table (it expired
 * before the restart) are decided at once, and a judge that refuses the
 * resubmission drops the turn cleanly. */
static void test_restore_orphans_and_refusing_judge(void **state)
{
    (void)state;
    store s = {0};
    run r;
    run_start(&r, &s, 1); /* parked: turn 1 stays awaiting its verdict */
    for (int i = 0; i < 5; i++)
        run_feed(&r, events[i]);
    run_crash(&r, &s);
    for (int i = 0; i < s.n; i++) /* the conversation expired: only turns remain */
        if (s.rows[i].kind == WF_CHANGE_CONVERSATION) {
            free(s.rows[i].state);
            s.rows[i--] = s.rows[--s.n];
        }
    memset(&r, 0, sizeof r);
    r.cfg = wf_config_new();
    r.fj.refuse = 1;
    r.judge = (wf_judge){&fake_ops, &r.fj};
    wf_error err;
    r.p = wf_pipeline_new(r.cfg, &r.judge, (wf_sample_sink){put_sample, &s}, &err);
    wf_pipeline_track_changes(r.p);
    for (int i = 0; i < s.n; i++)
        wf_pipeline_restore_turn(r.p, s.rows[i].state, strlen(s.rows[i].state), &err);
    wf_pipeline_restore_done(r.p);
    const wf_pipeline_stats *st = wf_pipeline_get_stats(r.p);
    assert_int_equal(st->neutral_waiting, 0);
    assert_int_equal(st->drops[WF_DROP_JUDGE_FAILED], 2);
    assert_int_equal(s.n_samples, 0);
    assert_int_equal(wf_pipeline_take_changes(r.p, write_change, &s), 0);
    assert_int_equal(s.n, 0); /* nothing left pending in the store */
    wf_pipeline_free(r.p);
    wf_config_free(r.cfg);

    /* A neutral turn of an expired conversation: its window is closed. */
    store t = {0};
    run_start(&r, &t, 0);
    for (int i = 0; i < 3; i++)
        run_feed(&r, events[i]);
    run_crash(&r, &t);
    for (int i = 0; i < t.n; i++)
        if (t.rows[i].kind == WF_CHANGE_CONVERSATION) {
            free(t.rows[i].state);
            t.rows[i--] = t.rows[--t.n];
        }
    assert_int_equal(t.n, 1);
    run_start(&r, &t, 0);
    st = wf_pipeline_get_stats(r.p);
    assert_int_equal(st->neutral_waiting, 0);
    assert_int_equal(st->hindsight[WF_HS_EXPIRED], 1);
    assert_int_equal(wf_pipeline_take_changes(r.p, write_change, &t), 0);
    assert_int_equal(t.n, 0);
    wf_pipeline_free(r.p);
    wf_config_free(r.cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_after_every_record),
        cmocka_unit_test(test_store_empties_when_done),
        cmocka_unit_test(test_restore_orphans_and_refusing_judge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
