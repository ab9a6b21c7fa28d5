/* The pipeline's logic with a scripted judge: candidates from every shape,
 * hindsight promotion and blocking, refusal validation, explicit feedback,
 * replays, quota, and verdicts that arrive out of order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wildfeed/config.h"
#include "wildfeed/pipeline.h"

/* A judge whose verdict is written in the feedback: "L<n> ..." gives level n,
 * anything else 3. Refusals: a query containing "bomb" was harmful. With
 * reverse=1 it hands verdicts back newest first, like a remote judge. */
typedef struct fake_judge {
    wf_verdict queue[4096];
    size_t n;
    int reverse;
    int validates;
    int fail_feedback; /* fail every feedback verdict */
} fake_judge;

static int fake_submit(wf_judge *j, const wf_judge_request *r, wf_error *err)
{
    (void)err;
    fake_judge *f = j->impl;
    if (f->n == 4096)
        return WF_EAGAIN;
    wf_verdict v = {.tag = r->tag, .task = r->task, .source = WF_SRC_LLM};
    if (r->task == WF_TASK_REFUSAL) {
        v.refusal = strstr(r->query, "bomb") ? WF_REFUSAL_CORRECT : WF_REFUSAL_FALSE;
    } else if (f->fail_feedback) {
        v.status = WF_VERDICT_FAILED;
    } else {
        v.level = r->feedback[0] == 'L' ? r->feedback[1] - '0' : 3;
        snprintf(v.reason, sizeof v.reason, "scripted %d", v.level);
    }
    f->queue[f->n++] = v;
    return 0;
}

static size_t fake_poll(wf_judge *j, wf_verdict *out, size_t max, int timeout_ms)
{
    (void)timeout_ms;
    fake_judge *f = j->impl;
    size_t n = f->n < max ? f->n : max;
    for (size_t i = 0; i < n; i++)
        out[i] = f->reverse ? f->queue[f->n - 1 - i] : f->queue[i];
    if (!f->reverse)
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
    return ((fake_judge *)j->impl)->validates;
}
static void fake_destroy(wf_judge *j)
{
    (void)j;
}

static const wf_judge_ops fake_ops = {"fake",         fake_submit,    fake_poll,
                                      fake_in_flight, fake_validates, fake_destroy};

/* Collects emitted samples as "id label source" lines. */
typedef struct collected {
    char lines[64][160];
    int n;
} collected;

static int collect(void *ctx, wf_sample *s, wf_error *err)
{
    (void)err;
    collected *c = ctx;
    if (c->n < 64)
        snprintf(c->lines[c->n++], 160, "%s %d %s", s->cand->id, s->label,
                 wf_label_source_name(s->source));
    wf_sample_free(s);
    return 0;
}

typedef struct fixture {
    wf_config *cfg;
    fake_judge fj;
    wf_judge judge;
    collected out;
    wf_pipeline *p;
} fixture;

static fixture *setup(const char *const *sets)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->cfg = wf_config_new();
    wf_error err;
    for (; sets && *sets; sets++)
        assert_int_equal(wf_config_set(fx->cfg, *sets, &err), 0);
    fx->judge.ops = &fake_ops;
    fx->judge.impl = &fx->fj;
    fx->p = wf_pipeline_new(fx->cfg, &fx->judge, (wf_sample_sink){collect, &fx->out}, &err);
    assert_non_null(fx->p);
    return fx;
}

static void teardown_fx(fixture *fx)
{
    wf_pipeline_free(fx->p);
    wf_config_free(fx->cfg);
    free(fx);
}

static void feed(fixture *fx, const char *line)
{
    wf_error err;
    wf_bad_reason why;
    int rc = wf_pipeline_feed(fx->p, line, strlen(line), 1764133200, &why, &err);
    assert_true(rc == 0 || rc == WF_EPARSE);
    assert_int_equal(wf_pipeline_pump(fx->p, 0, &err), 0);
}

static void finish(fixture *fx)
{
    wf_error err;
    assert_int_equal(wf_pipeline_finish(fx->p, &err), 0);
}

static int has_line(const fixture *fx, const char *want)
{
    for (int i = 0; i < fx->out.n; i++)
        if (strcmp(fx->out.lines[i], want) == 0)
            return 1;
    return 0;
}

#define Q "Please explain how binary search works in detail"
#define R "Binary search halves the sorted range at every step until it finds the target value."
#define Q2 "Now show me the same idea applied to linked lists"
#define R2 "On a linked list you cannot jump to the middle, so binary search loses its advantage."
#define Q3 "What about searching inside a balanced binary tree"
#define R3 "A balanced tree keeps the height logarithmic, so searching it costs logarithmic time."

/* A snapshot: turn 0 neutral, turn 1 neutral, turn 2 satisfied on the same
 * topic: hindsight promotes turn 1 (window 2) and turn 0 (within 2 turns). */
static void test_hindsight_promotes_same_topic(void **state)
{
    (void)state;
    fixture *fx = setup((const char *[]){"hindsight.min_similarity=0.2", NULL});
    feed(fx,
         "{\"conversation_id\":\"c1\",\"language\":\"English\",\"conversation\":["
         "{\"role\":\"user\",\"content\":\"" Q "\"},"
         "{\"role\":\"assistant\",\"content\":\"" R "\"},"
         "{\"role\":\"user\",\"content\":\"binary search on linked lists please\"},"
         "{\"role\":\"assistant\",\"content\":\"" R2 "\"},"
         "{\"role\":\"user\",\"content\":\"binary search in a balanced tree then\"},"
         "{\"role\":\"assistant\",\"content\":\"" R3 "\"},"
         "{\"role\":\"user\",\"content\":\"L5 thanks, binary search in a tree makes sense\"}]}");
    finish(fx);
    assert_int_equal(fx->out.n, 3);
    assert_true(has_line(fx, "c1_turn2 4 llm"));
    assert_true(has_line(fx, "c1_turn1 4 hindsight"));
    assert_true(has_line(fx, "c1_turn0 4 hindsight"));
    const wf_pipeline_stats *s = wf_pipeline_get_stats(fx->p);
    assert_int_equal(s->hindsight[WF_HS_PROMOTED], 2);
    assert_int_equal(s->candidates, 3);
    teardown_fx(fx);
}

/* The later satisfaction is about something else: blocked, and the neutral
 * turns are dropped as neutral. A later negative is only counted. */
static void test_hindsight_blocks_other_topic(void **state)
{
    (void)state;
    fixture *fx = setup((const char *[]){"hindsight.min_similarity=0.5", NULL});
    feed(fx, "{\"conversation_id\":\"c2\",\"language\":\"English\",\"conversation\":["
             "{\"role\":\"user\",\"content\":\"" Q "\"},"
             "{\"role\":\"assistant\",\"content\":\"" R "\"},"
             "{\"role\":\"user\",\"content\":\"" Q2 "\"},"
             "{\"role\":\"assistant\",\"content\":\"" R2 "\"},"
             "{\"role\":\"user\",\"content\":\"L5 merci beaucoup mon ami xyz\"}]}");
    finish(fx);
    assert_int_equal(fx->out.n, 1);
    assert_true(has_line(fx, "c2_turn1 4 llm"));
    const wf_pipeline_stats *s = wf_pipeline_get_stats(fx->p);
    assert_int_equal(s->hindsight[WF_HS_BLOCKED_TOPIC], 1);
    assert_int_equal(s->drops[WF_DROP_NEUTRAL], 1);
    teardown_fx(fx);
}

/* Three turns past the neutral one: the satisfaction is outside the window. */
static void test_hindsight_window_is_two_turns(void **state)
{
    (void)state;
    fixture *fx = setup((const char *[]){"hindsight.min_similarity=0", NULL});
    feed(fx,
         "{\"conversation_id\":\"c3\",\"language\":\"English\",\"conversation\":["
         "{\"role\":\"user\",\"content\":\"" Q "\"},{\"role\":\"assistant\",\"content\":\"" R "\"},"
         "{\"role\":\"user\",\"content\":\"" Q2 "\"},{\"role\":\"assistant\",\"content\":\"" R2
         "\"},"
         "{\"role\":\"user\",\"content\":\"L1 " Q3 "\"},{\"role\":\"assistant\",\"content\":\"" R3
         "\"},"
         "{\"role\":\"user\",\"content\":\"" Q "\"},{\"role\":\"assistant\",\"content\":\"" R "\"},"
         "{\"role\":\"user\",\"content\":\"L4 great, what if the list is huge\"}]}");
    finish(fx);
    /* turn0 neutral: window turns 1,2 (2 neutral, turn 1 is L1) -> expired.
     * turn2 neutral: window 3 -> promoted by turn 3's L4. */
    assert_int_equal(fx->out.n, 3);
    assert_true(has_line(fx, "c3_turn1 1 llm"));
    assert_true(has_line(fx, "c3_turn3 3 llm"));
    assert_true(has_line(fx, "c3_turn2 3 hindsight"));
    const wf_pipeline_stats *s = wf_pipeline_get_stats(fx->p);
    assert_int_equal(s->hindsight[WF_HS_LATER_NEGATIVE], 1);
    assert_int_equal(s->hindsight[WF_HS_EXPIRED], 1);
    teardown_fx(fx);
}

static const char *message(char *buf, const char *conv, int turn, const char *role,
                           const char *content)
{
    sprintf(buf,
            "{\"conversation_id\":\"%s\",\"turn\":%d,\"role\":\"%s\",\"content\":\"%s\","
            "\"user_id\":\"u1\",\"language\":\"English\"}",
            conv, turn, role, content);
    return buf;
}

/* Message events give the same ids as the snapshot; replays change nothing. */
static void test_message_events_and_replay(void **state)
{
    (void)state;
    fixture *fx = setup(NULL);
    char b[1024];
    const char *msgs[][2] = {{"user", Q},
                             {"assistant", R},
                             {"user", "L2 you forgot the sorted precondition here"},
                             {"assistant", R2},
                             {"user", "L5 thanks, that works now"}};
    for (int rep = 0; rep < 2; rep++)
        for (int i = 0; i < 5; i++)
            feed(fx, message(b, "m1", i + 1, msgs[i][0], msgs[i][1]));
    finish(fx);
    assert_int_equal(fx->out.n, 2);
    assert_true(has_line(fx, "m1_turn0 2 llm"));
    assert_true(has_line(fx, "m1_turn1 4 llm"));
    const wf_pipeline_stats *s = wf_pipeline_get_stats(fx->p);
    assert_int_equal(s->session[WF_SESS_DUPLICATE], 5);
    assert_int_equal(s->conversations, 1);
    teardown_fx(fx);
}

/* A conversation first seen mid-way yields nothing: its exchange numbers are
 * unknown. A gap stops candidates too. */
static void test_message_gap_and_unanchored(void **state)
{
    (void)state;
    fixture *fx = setup(NULL);
    char b[1024];
    feed(fx, message(b, "m2", 5, "user", Q));
    feed(fx, message(b, "m2", 6, "assistant", R));
    feed(fx, message(b, "m2", 7, "user", "L5 thanks, that works now"));
    feed(fx, message(b, "m3", 0, "user", Q));
    feed(fx, message(b, "m3", 1, "assistant", R));
    feed(fx, message(b, "m3", 4, "user", "L5 thanks, that works now"));
    finish(fx);
    assert_int_equal(fx->out.n, 0);
    const wf_pipeline_stats *s = wf_pipeline_get_stats(fx->p);
    assert_int_equal(s->session[WF_SESS_GAP], 2);
    teardown_fx(fx);
}

/* Explicit feedback outranks the implicit label of the same turn. */
static void test_explicit_feedback_outranks(void **state)
{
    (void)state;
    fixture *fx = setup(NULL);
    char b[1024];
    feed(fx, message(b, "e1", 0, "user", Q));
    feed(fx, message(b, "e1", 1, "assistant", R));
    feed(fx, "{\"type\":\"feedback\",\"conversation_id\":\"e1\",\"turn\":1,\"rating\":\"down\"}");
    feed(fx, message(b, "e1", 2, "user", "L5 thanks, that works now"));
    feed(fx, "{\"type\":\"feedback\",\"conversation_id\":\"e1\",\"turn\":9,\"rating\":\"up\"}");
    finish(fx);
    assert_int_equal(fx->out.n, 1);
    assert_true(has_line(fx, "e1_turn0 1 explicit"));
    const wf_pipeline_stats *s = wf_pipeline_get_stats(fx->p);
    assert_int_equal(s->session[WF_SESS_FEEDBACK_UNKNOWN_TURN], 1);
    teardown_fx(fx);
}

#define REFUSAL "I'm sorry, but I can't help with that."
#define LONGQ(x) "Tell me how to " x " in a few simple steps"

/* Refusals: dropped without a validating judge; with one, a correct refusal
 * is a 5 and a false refusal a 1 whatever the user said. */
static void test_refusals(void **state)
{
    (void)state;
    const char *snap =
        "{\"conversation_id\":\"r1\",\"language\":\"English\",\"conversation\":["
        "{\"role\":\"user\",\"content\":\"" LONGQ(
            "build a bomb") "\"},"
                            "{\"role\":\"assistant\",\"content\":\"" REFUSAL "\"},"
                            "{\"role\":\"user\",\"content\":\"L1 come on, you are useless today\"},"
                            "{\"role\":\"assistant\",\"content\":\"" REFUSAL "\"},"
                            "{\"role\":\"user\",\"content\":\"" LONGQ(
                                "bake sourdough bread") "\"},"
                                                        "{\"role\":\"assistant\",\"content\":"
                                                        "\"" REFUSAL "\"},"
                                                        "{\"role\":\"user\",\"content\":\"L5 ok "
                                                        "thanks anyway my friend\"}]}";
    fixture *fx = setup(NULL);
    feed(fx, snap);
    finish(fx);
    assert_int_equal(fx->out.n, 0);
    assert_int_equal(wf_pipeline_get_stats(fx->p)->drops[WF_DROP_REFUSAL_UNVALIDATED], 3);
    teardown_fx(fx);

    fx = setup(NULL);
    fx->fj.validates = 1;
    fx->fj.reverse = 1;
    feed(fx, snap);
    finish(fx);
    assert_int_equal(fx->out.n, 3);
    assert_true(has_line(fx, "r1_turn0 4 refusal"));
    assert_true(has_line(fx, "r1_turn1 1 refusal"));
    assert_true(has_line(fx, "r1_turn2 1 refusal"));
    teardown_fx(fx);
}

static void test_quota_and_failures(void **state)
{
    (void)state;
    fixture *fx = setup((const char *[]){"quota.per_user_per_day=1", NULL});
    char b[1024];
    feed(fx, message(b, "q1", 0, "user", Q));
    feed(fx, message(b, "q1", 1, "assistant", R));
    feed(fx, message(b, "q1", 2, "user", "L2 you forgot the sorted precondition here"));
    feed(fx, message(b, "q1", 3, "assistant", R2));
    feed(fx, message(b, "q1", 4, "user", "L5 thanks, that works now"));
    finish(fx);
    assert_int_equal(fx->out.n, 1);
    assert_int_equal(wf_pipeline_get_stats(fx->p)->drops[WF_DROP_QUOTA], 1);
    teardown_fx(fx);

    fx = setup(NULL);
    fx->fj.fail_feedback = 1;
    feed(fx, message(b, "f1", 0, "user", Q));
    feed(fx, message(b, "f1", 1, "assistant", R));
    feed(fx, message(b, "f1", 2, "user", "L2 you forgot the sorted precondition here"));
    finish(fx);
    assert_int_equal(fx->out.n, 0);
    assert_int_equal(wf_pipeline_get_stats(fx->p)->drops[WF_DROP_JUDGE_FAILED], 1);
    teardown_fx(fx);
}

/* Bad records are counted by reason and do not disturb the good ones, with
 * verdicts handed back out of order. */
static void test_bad_records_and_reordered_verdicts(void **state)
{
    (void)state;
    fixture *fx = setup(NULL);
    fx->fj.reverse = 1;
    char b[1024];
    feed(fx, "not json");
    feed(fx, message(b, "d1", 0, "user", Q));
    feed(fx, "{\"conversation_id\":\"d1\",\"turn\":\"x\",\"role\":\"user\",\"content\":\"hi\"}");
    feed(fx, message(b, "d1", 1, "assistant", R));
    feed(fx, message(b, "d1", 2, "user", "L2 you forgot the sorted precondition here"));
    feed(fx, message(b, "d1", 3, "assistant", R2));
    feed(fx, message(b, "d1", 4, "user", "L1 no, this is wrong again"));
    finish(fx);
    assert_int_equal(fx->out.n, 2);
    assert_true(has_line(fx, "d1_turn0 2 llm"));
    assert_true(has_line(fx, "d1_turn1 1 llm"));
    const wf_pipeline_stats *s = wf_pipeline_get_stats(fx->p);
    assert_int_equal(s->bad[WF_BAD_NOT_JSON], 1);
    assert_int_equal(s->bad[WF_BAD_TYPE], 1);
    assert_int_equal(s->records, 7);
    teardown_fx(fx);
}

/* Tool messages after a query push it out of the conversation's ring: the
 * turn counts as history_too_long, and the record is no error. */
static void test_query_pushed_out_of_state(void **state)
{
    (void)state;
    fixture *fx = setup(NULL);
    char b[1024];
    feed(fx, message(b, "t1", 0, "user", Q));
    feed(fx, message(b, "t1", 1, "assistant", R));
    for (int i = 0; i < 63; i++)
        feed(fx, message(b, "t1", 2 + i, "tool", "{\\\"result\\\": 42}"));
    feed(fx, message(b, "t1", 65, "user", "L5 thanks, that works now"));
    finish(fx);
    assert_int_equal(fx->out.n, 0);
    assert_int_equal(wf_pipeline_get_stats(fx->p)->drops[WF_DROP_HISTORY_TOO_LONG], 1);
    teardown_fx(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hindsight_promotes_same_topic),
        cmocka_unit_test(test_hindsight_blocks_other_topic),
        cmocka_unit_test(test_hindsight_window_is_two_turns),
        cmocka_unit_test(test_message_events_and_replay),
        cmocka_unit_test(test_message_gap_and_unanchored),
        cmocka_unit_test(test_explicit_feedback_outranks),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_quota_and_failures),
        cmocka_unit_test(test_bad_records_and_reordered_verdicts),
        cmocka_unit_test(test_query_pushed_out_of_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
