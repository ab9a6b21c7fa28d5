/* Request bodies to model inputs and the JSON answers, without HTTP. */
#include <math.h>
#include <string.h>

#include "serve/request.h"
#include "testutil.h"

static int parse_score(const char *body, size_t max, wf_serve_batch *b, wf_error *e)
{
    return wf_serve_parse_score(body, strlen(body), max, b, e);
}

static int parse_rewards(const char *body, size_t max, wf_serve_batch *b, wf_error *e)
{
    return wf_serve_parse_rewards(body, strlen(body), max, b, e);
}

static void rewards_texts(void **state)
{
    (void)state;
    wf_serve_batch b;
    assert_int_equal(parse_rewards("{\"query\":[\"a b\",\"\\u00e9\"]}", 8, &b, NULL), 0);
    assert_int_equal(b.n, 2);
    assert_string_equal(b.in[0].text, "a b");
    assert_string_equal(b.in[1].text, "\xc3\xa9");
    assert_null(b.in[0].query);
    assert_null(b.in[0].response);
    assert_int_equal(b.in[0].n_history, 0);
    wf_serve_batch_free(&b);
    assert_int_equal(parse_rewards("{\"query\":[]}", 8, &b, NULL), 0);
    assert_int_equal(b.n, 0);
    wf_serve_batch_free(&b);
}

static void rewards_errors(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int rc;
        const char *msg;
    } cases[] = {
        {"", WF_EPARSE, "malformed JSON"},
        {"{\"query\":[\"a\"", WF_EPARSE, "malformed JSON"},
        {"[\"a\"]", WF_EPARSE, "the body must be a JSON object"},
        {"{\"texts\":[\"a\"]}", WF_EPARSE, "\"query\" must be an array"},
        {"{\"query\":\"a\"}", WF_EPARSE, "\"query\" must be an array"},
        {"{\"query\":[\"a\",3]}", WF_EPARSE, "query[1] must be a string"},
        {"{\"query\":[\"a\\u0000b\"]}", WF_EPARSE, "malformed JSON"},
        {"{\"query\":[\"a\",\"b\",\"c\"]}", WF_EINVAL, "3 items, more than the limit of 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_serve_batch b;
        wf_error e = {0};
        assert_int_equal(parse_rewards(cases[i].body, 2, &b, &e), cases[i].rc);
        assert_non_null(strstr(e.msg, cases[i].msg));
        assert_null(b.root);
        assert_null(b.in);
        assert_int_equal(b.n, 0);
    }
}

static void score_items(void **state)
{
    (void)state;
    const char *body =
        "{\"items\":["
        "{\"history\":[{\"role\":\"user\",\"content\":\"hi\"},{\"content\":\"yo\"}],"
        "\"query\":\"q1\",\"response\":\"r1\"},"
        "{\"query\":\"q2\",\"response\":\"r2\",\"history\":null},"
        "{\"history\":[{\"role\":\"system\",\"content\":\"s\",\"x\":1}],\"query\":\"\","
        "\"response\":\"r3\",\"extra\":true}]}";
    wf_serve_batch b;
    assert_int_equal(parse_score(body, 3, &b, NULL), 0);
    assert_int_equal(b.n, 3);
    assert_int_equal(b.in[0].n_history, 2);
    assert_string_equal(b.in[0].history[0].role, "user");
    assert_string_equal(b.in[0].history[0].content, "hi");
    assert_int_equal(b.in[0].history[0].content_len, 2);
    assert_string_equal(b.in[0].history[1].role, "");
    assert_string_equal(b.in[0].query, "q1");
    assert_string_equal(b.in[0].response, "r1");
    assert_null(b.in[0].text);
    assert_int_equal(b.in[1].n_history, 0);
    assert_null(b.in[1].history);
    assert_string_equal(b.in[1].query, "q2");
    assert_int_equal(b.in[2].n_history, 1);
    assert_string_equal(b.in[2].history[0].role, "system");
    assert_string_equal(b.in[2].query, "");
    assert_string_equal(b.in[2].response, "r3");
    wf_serve_batch_free(&b);
}

static void score_errors(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int rc;
        const char *msg;
    } cases[] = {
        {"{\"items\":{}}", WF_EPARSE, "\"items\" must be an array"},
        {"{\"items\":[1]}", WF_EPARSE, "items[0] must be an object"},
        {"{\"items\":[{\"query\":\"q\"}]}", WF_EPARSE,
         "items[0] needs string \"query\" and \"response\""},
        {"{\"items\":[{\"query\":\"q\",\"response\":5}]}", WF_EPARSE,
         "items[0] needs string \"query\" and \"response\""},
        {"{\"items\":[{\"query\":\"q\",\"response\":\"r\",\"history\":\"h\"}]}", WF_EPARSE,
         "items[0].history must be an array"},
        {"{\"items\":[{\"query\":\"q\",\"response\":\"r\"},{\"query\":\"q\",\"response\":\"r\","
         "\"history\":[{\"role\":\"user\"}]}]}",
         WF_EPARSE, "items[1].history[0] needs a string \"content\""},
        {"{\"items\":[{\"query\":\"q\",\"response\":\"r\",\"history\":[{\"role\":1,"
         "\"content\":\"c\"}]}]}",
         WF_EPARSE, "items[0].history[0]"},
        {"{\"items\":[{\"query\":\"q\",\"response\":\"r\",\"history\":[\"x\"]}]}", WF_EPARSE,
         "items[0].history[0]"},
        {"{\"items\":[{},{},{},{}]}", WF_EINVAL, "4 items, more than the limit of 3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_serve_batch b;
        wf_error e = {0};
        assert_int_equal(parse_score(cases[i].body, 3, &b, &e), cases[i].rc);
        assert_non_null(strstr(e.msg, cases[i].msg));
        assert_null(b.root);
        assert_null(b.msgs);
    }
}

static void render_answers(void **state)
{
    (void)state;
    /* z = 0: every sigmoid is 1/2, reward 2.5, probs 1/2, 0, 0, 1/2: the
     * first most probable label wins. z = (9, 9, -9): nearly surely 3. */
    const float z[2 * WF_LOGITS] = {0, 0, 0, 9, 9, -9};
    wf_strbuf out;
    wf_strbuf_init(&out);
    assert_int_equal(wf_serve_render_rewards(&out, z, 2), 0);
    assert_string_equal(out.data, "{\"rewards\":[2.500000,2.999877]}");
    wf_strbuf_reset(&out);
    assert_int_equal(wf_serve_render_score(&out, "v\"1", z, 2), 0);
    assert_string_equal(out.data,
                        "{\"model_version\":\"v\\\"1\",\"results\":["
                        "{\"reward\":2.500000,\"level\":1,\"probs\":[0.500000,0.000000,0.000000,"
                        "0.500000]},"
                        "{\"reward\":2.999877,\"level\":3,\"probs\":[0.000123,0.000000,0.999753,"
                        "0.000123]}]}");
    wf_strbuf_reset(&out);
    assert_int_equal(wf_serve_render_rewards(&out, z, 0), 0);
    assert_string_equal(out.data, "{\"rewards\":[]}");
    wf_strbuf_reset(&out);
    const float bad[WF_LOGITS] = {0, NAN, 0};
    assert_int_equal(wf_serve_render_score(&out, "v", bad, 1), WF_EINVAL);
    assert_int_equal(out.len, 0);
    wf_serve_render_error(&out, "bad \"x\"");
    assert_string_equal(out.data, "{\"error\":\"bad \\\"x\\\"\"}");
    wf_strbuf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rewards_texts),  cmocka_unit_test(rewards_errors),
        cmocka_unit_test(score_items),    cmocka_unit_test(score_errors),
        cmocka_unit_test(render_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
