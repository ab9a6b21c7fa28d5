#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/sample.h"
#include "wildfeed/strbuf.h"

static const wf_msg two_msgs[] = {
    {"user", "hi", 2},
    {"assistant", "Hello!", 6},
};

static wf_candidate_parts fixture_parts(void)
{
    wf_candidate_parts p = {
        .conversation_id = "c1",
        .turn = 1,
        .response_turn = 3,
        .user_id = "u7",
        .language = "English",
        .model = "gpt-4o",
        .created_at = 1764133200,
        .history = two_msgs,
        .n_history = 2,
        .query = "Say \"yes\"\n",
        .response = "yes",
        .feedback = "thanks",
    };
    return p;
}

/* Every pointer of the candidate must lie inside its one block, which ends
 * with the feedback string (the last field copied). */
static void assert_inside(const wf_candidate *c, const void *p)
{
    const char *lo = (const char *)c;
    const char *hi = c->feedback + strlen(c->feedback);
    assert_true((const char *)p >= lo && (const char *)p <= hi);
}

static void test_candidate_copies_into_one_block(void **state)
{
    (void)state;
    char conv[] = "conv-9";
    char role[] = "user";
    char content[] = "a\0b"; /* content_len counts past the NUL */
    char query[] = "question";
    wf_msg hist[] = {{role, content, 3}, {"", "no role", 7}};
    wf_candidate_parts p = {.conversation_id = conv,
                            .turn = 12,
                            .response_turn = -1,
                            .history = hist,
                            .n_history = 2,
                            .query = query,
                            .response = "answer",
                            .feedback = NULL};
    wf_candidate *c = wf_candidate_new(&p);
    assert_non_null(c);
    memset(conv, 'X', sizeof conv - 1);
    memset(role, 'X', sizeof role - 1);
    memset(content, 'X', sizeof content - 1);
    memset(query, 'X', sizeof query - 1);

    assert_string_equal(c->id, "conv-9_turn12");
    assert_string_equal(c->conversation_id, "conv-9");
    assert_int_equal(c->turn, 12);
    assert_int_equal(c->response_turn, -1);
    assert_string_equal(c->user_id, "");
    assert_string_equal(c->language, "");
    assert_string_equal(c->model, "");
    assert_int_equal(c->n_history, 2);
    assert_string_equal(c->history[0].role, "user");
    assert_int_equal(c->history[0].content_len, 3);
    assert_memory_equal(c->history[0].content, "a\0b", 4);
    assert_string_equal(c->history[1].role, "");
    assert_string_equal(c->history[1].content, "no role");
    assert_string_equal(c->query, "question");
    assert_string_equal(c->response, "answer");
    assert_string_equal(c->feedback, "");

    const void *ptrs[] = {c->id,
                          c->conversation_id,
                          c->user_id,
                          c->language,
                          c->model,
                          c->history,
                          c->query,
                          c->response,
                          c->history[0].role,
                          c->history[0].content,
                          c->history[1].role,
                          c->history[1].content};
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++)
        assert_inside(c, ptrs[i]);
    wf_candidate_free(c);
}

static void test_candidate_without_history(void **state)
{
    (void)state;
    wf_candidate_parts p = fixture_parts();
    p.history = NULL;
    p.n_history = 0;
    wf_candidate *c = wf_candidate_new(&p);
    assert_non_null(c);
    assert_null(c->history);
    assert_int_equal(c->n_history, 0);
    assert_string_equal(c->id, "c1_turn1");
    wf_candidate_free(c);
}

/* A copy built from a candidate's own parts outlives the original. */
static void test_copy_from_parts(void **state)
{
    (void)state;
    wf_candidate_parts p = fixture_parts();
    wf_candidate *c = wf_candidate_new(&p);
    wf_candidate_parts q;
    wf_candidate_parts_of(c, &q);
    q.feedback = "";
    wf_candidate *d = wf_candidate_new(&q);
    wf_candidate_free(c);
    assert_non_null(d);
    assert_string_equal(d->id, "c1_turn1");
    assert_string_equal(d->feedback, "");
    assert_string_equal(d->query, "Say \"yes\"\n");
    assert_int_equal(d->response_turn, 3);
    assert_int_equal(d->created_at, 1764133200);
    assert_int_equal(d->n_history, 2);
    assert_string_equal(d->history[1].role, "assistant");
    assert_string_equal(d->history[1].content, "Hello!");
    wf_candidate_free(d);
}

static void test_label_sources(void **state)
{
    (void)state;
    const char *names[] = {"rules", "llm", "explicit", "hindsight", "refusal"};
    assert_int_equal(WF_SRC_COUNT, 5);
    for (int i = 0; i < WF_SRC_COUNT; i++) {
        assert_string_equal(wf_label_source_name((wf_label_source)i), names[i]);
        assert_int_equal(wf_label_source_parse(names[i]), i);
    }
    assert_int_equal(wf_label_source_parse("Rules"), -1);
    assert_int_equal(wf_label_source_parse(""), -1);
    assert_int_equal(wf_label_source_parse(NULL), -1);
    assert_string_equal(wf_label_source_name(WF_SRC_COUNT), "unknown");
}

static void test_label_map(void **state)
{
    (void)state;
    const int expect[7] = {0, 1, 2, 0, 3, 4, 0}; /* annotation 0..6 */
    for (int a = 0; a <= 6; a++)
        assert_int_equal(wf_label_from_annotation(a), expect[a]);
    assert_int_equal(wf_label_from_annotation(-1), 0);
}

static void test_split_fixed_ids(void **state)
{
    (void)state;
    /* Values of the documented hash; they must never change. */
    assert_true(wf_split_is_eval("c103_turn0", 0.05)); /* u = 0.0208 */
    assert_true(wf_split_is_eval("c143_turn0", 0.05)); /* u = 0.0341 */
    assert_false(wf_split_is_eval("c1_turn0", 0.05));  /* u = 0.0948 */
    assert_true(wf_split_is_eval("c1_turn0", 0.095));
    assert_false(wf_split_is_eval("c1_turn0", 0.094));
    assert_false(wf_split_is_eval("x_turn3", 0.05)); /* u = 0.0584 */
    assert_true(wf_split_is_eval("x_turn3", 0.06));
    assert_false(wf_split_is_eval("c2_turn0", 0.69)); /* u = 0.6997 */
    assert_true(wf_split_is_eval("c2_turn0", 0.70));
    assert_false(wf_split_is_eval("c103_turn0", 0.0));
    assert_true(wf_split_is_eval("c2_turn0", 1.0));
}

static void test_split_fraction(void **state)
{
    (void)state;
    char id[64];
    int eval = 0;
    for (int i = 0; i < 100000; i++) {
        snprintf(id, sizeof id, "conv%d_turn%d", i, i % 7);
        eval += wf_split_is_eval(id, 0.05);
    }
    /* 5000 expected, binomial sd ~69: within 3 sd, and exactly the value the
     * documented hash gives. */
    assert_true(eval > 4790 && eval < 5210);
    assert_int_equal(eval, 5129);
}

static wf_sample *fixture_sample(void)
{
    wf_candidate_parts p = fixture_parts();
    wf_sample *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->cand = wf_candidate_new(&p);
    s->annotation = 5;
    s->label = 4;
    s->source = WF_SRC_HINDSIGHT;
    strcpy(s->reason, "later turn: \"thanks\"");
    s->eval = 0;
    s->text = strdup("# Task\nuser: hi");
    return s;
}

static void test_jsonl_exact(void **state)
{
    (void)state;
    wf_sample *s = fixture_sample();
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_sample_to_jsonl(s, &b);
    const char *expect =
        "{\"id\":\"c1_turn1\","
        "\"history\":[{\"role\":\"user\",\"content\":\"hi\"},"
        "{\"role\":\"assistant\",\"content\":\"Hello!\"}],"
        "\"text\":\"# Task\\nuser: hi\","
        "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
        "{\"role\":\"assistant\",\"content\":\"Hello!\"},"
        "{\"role\":\"user\",\"content\":\"Say \\\"yes\\\"\\n\"},"
        "{\"role\":\"assistant\",\"content\":\"yes\"}],"
        "\"user_feedback\":\"thanks\",\"label\":4,\"annotation\":5,"
        "\"source\":\"hindsight\",\"reason\":\"later turn: \\\"thanks\\\"\","
        "\"split\":\"train\",\"conversation_id\":\"c1\",\"turn\":1,\"user_id\":\"u7\","
        "\"language\":\"English\",\"model\":\"gpt-4o\",\"created_at\":1764133200,"
        "\"type\":\"sample\"}\n";
    assert_false(b.oom);
    assert_string_equal(b.data, expect);
    wf_strbuf_free(&b);
    wf_sample_free(s);
}

static void test_jsonl_eval_no_history_no_text(void **state)
{
    (void)state;
    wf_candidate_parts p = fixture_parts();
    p.n_history = 0;
    p.history = NULL;
    wf_sample *s = calloc(1, sizeof *s);
    s->cand = wf_candidate_new(&p);
    s->annotation = 1;
    s->label = 1;
    s->source = WF_SRC_REFUSAL;
    s->eval = 1;
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_strbuf_puts(&b, "prev\n"); /* appends, does not overwrite */
    wf_sample_to_jsonl(s, &b);
    const char *expect =
        "prev\n{\"id\":\"c1_turn1\",\"history\":[],\"text\":\"\","
        "\"messages\":[{\"role\":\"user\",\"content\":\"Say \\\"yes\\\"\\n\"},"
        "{\"role\":\"assistant\",\"content\":\"yes\"}],"
        "\"user_feedback\":\"thanks\",\"label\":1,\"annotation\":1,"
        "\"source\":\"refusal\",\"reason\":\"\",\"split\":\"eval\",\"conversation_id\":\"c1\","
        "\"turn\":1,\"user_id\":\"u7\",\"language\":\"English\",\"model\":\"gpt-4o\","
        "\"created_at\":1764133200,\"type\":\"sample\"}\n";
    assert_string_equal(b.data, expect);
    wf_strbuf_free(&b);
    wf_sample_free(s);
}

/* A reason cut at the byte limit in the middle of a UTF-8 sequence must not
 * leak the partial sequence into the export. */
static void test_jsonl_reason_cut_utf8(void **state)
{
    (void)state;
    wf_sample *s = fixture_sample();
    memset(s->reason, 'a', sizeof s->reason);
    /* 157 'a', then the first two bytes of "谢" (E8 B0 A2), then NUL */
    s->reason[157] = (char)0xE8;
    s->reason[158] = (char)0xB0;
    s->reason[159] = '\0';
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_sample_to_jsonl(s, &b);
    char want[200];
    memset(want, 0, sizeof want);
    strcpy(want, "\"reason\":\"");
    memset(want + 10, 'a', 157);
    strcat(want, "\",\"split\"");
    assert_non_null(strstr(b.data, want));
    wf_strbuf_reset(&b);

    /* a complete multi-byte character at the end is kept */
    strcpy(s->reason, "ok \xe8\xb0\xa2");
    wf_sample_to_jsonl(s, &b);
    assert_non_null(strstr(b.data, "\"reason\":\"ok \xe8\xb0\xa2\","));
    wf_strbuf_free(&b);
    wf_sample_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidate_copies_into_one_block),
        cmocka_unit_test(test_candidate_without_history),
        cmocka_unit_test(test_copy_from_parts),
        cmocka_unit_test(test_label_sources),
        cmocka_unit_test(test_label_map),
        cmocka_unit_test(test_split_fixed_ids),
        cmocka_unit_test(test_split_fraction),
        cmocka_unit_test(test_jsonl_exact),
        cmocka_unit_test(test_jsonl_eval_no_history_no_text),
        cmocka_unit_test(test_jsonl_reason_cut_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
