/* The llm judge's pure parts: answer parsing, truncation, request bodies,
 * back-off, the breaker state machine and the verdict cache. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/judge_llm/llm_internal.h"
#include "testutil.h"
#include "wildfeed/sample.h"

static wf_verdict parse_ok(const char *text, wf_judge_task task)
{
    wf_verdict v;
    memset(&v, 0, sizeof v);
    assert_int_equal(wf_llm_parse_verdict(text, task, &v), 0);
    assert_int_equal(v.status, WF_VERDICT_OK);
    assert_int_equal(v.source, WF_SRC_LLM);
    return v;
}

static void test_level_tags(void **state)
{
    (void)state;
    wf_verdict v = parse_ok("[[4]] Nice, builds on it.", WF_TASK_FEEDBACK);
    assert_int_equal(v.level, 4);
    assert_string_equal(v.reason, "Nice, builds on it.");
    v = parse_ok("[[ 2 ]]\n  points   out\tthe bug ", WF_TASK_FEEDBACK);
    assert_int_equal(v.level, 2);
    assert_string_equal(v.reason, "points out the bug");
    v = parse_ok("[[1]]", WF_TASK_FEEDBACK);
    assert_int_equal(v.level, 1);
    assert_string_equal(v.reason, "");
}

static void test_last_tag_outside_thinking_wins(void **state)
{
    (void)state;
    wf_verdict v = parse_ok("<think>maybe [[4]]</think>Not [[1]] and not [[5]].\nVerdict: [[2]] "
                            "fixes a bug.\nHope this helps!",
                            WF_TASK_FEEDBACK);
    assert_int_equal(v.level, 2);
    assert_string_equal(v.reason, "fixes a bug. Hope this helps!");
    /* A tag out of range does not count; the valid one before it does. */
    v = parse_ok("[[5]] thanks [[7]]", WF_TASK_FEEDBACK);
    assert_int_equal(v.level, 5);
    assert_string_equal(v.reason, "thanks [[7]]");
}

static void test_unparsable(void **state)
{
    (void)state;
    wf_verdict v;
    const char *bad[] = {"",
                         "no tag at all",
                         "[[0]] x",
                         "[[6]] x",
                         "[[3 x",
                         "[[33]] x",
                         "<think>[[5]] still thinking",
                         "<think>a</think><think>[[4]]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(wf_llm_parse_verdict(bad[i], WF_TASK_FEEDBACK, &v), WF_EPARSE);
    assert_int_equal(wf_llm_parse_verdict(NULL, WF_TASK_FEEDBACK, &v), WF_EPARSE);
    /* Level tags mean nothing to the refusal task and the other way round. */
    assert_int_equal(wf_llm_parse_verdict("[[3]] x", WF_TASK_REFUSAL, &v), WF_EPARSE);
    assert_int_equal(wf_llm_parse_verdict("[[none]] x", WF_TASK_FEEDBACK, &v), WF_EPARSE);
}

static void test_refusal_tags(void **state)
{
    (void)state;
    wf_verdict v = parse_ok("[[none]] it helps", WF_TASK_REFUSAL);
    assert_int_equal(v.refusal, WF_REFUSAL_NONE);
    assert_int_equal(v.task, WF_TASK_REFUSAL);
    v = parse_ok("Thinking... [[ HARMFUL ]] weapons", WF_TASK_REFUSAL);
    assert_int_equal(v.refusal, WF_REFUSAL_CORRECT);
    assert_string_equal(v.reason, "weapons");
    v = parse_ok("[[False]] harmless question", WF_TASK_REFUSAL);
    assert_int_equal(v.refusal, WF_REFUSAL_FALSE);
}

static void test_reason_cut_at_code_point(void **state)
{
    (void)state;
    char text[600] = "[[3]] ";
    for (int i = 0; i < 150; i++)
        strcat(text, "\xe4\xb8\xad"); /* 中, 3 bytes */
    wf_verdict v = parse_ok(text, WF_TASK_FEEDBACK);
    size_t n = strlen(v.reason);
    assert_true(n < sizeof v.reason);
    assert_int_equal(n % 3, 0);
    assert_true(n >= sizeof v.reason - 6);
}

static void test_response_json(void **state)
{
    (void)state;
    const char *ok = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"[[5]] "
                     "ok\"}}],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":9}}";
    wf_llm_answer a;
    assert_int_equal(wf_llm_parse_response(ok, strlen(ok), &a), 0);
    assert_string_equal(a.content, "[[5]] ok");
    assert_int_equal(a.tokens_in, 120);
    assert_int_equal(a.tokens_out, 9);
    wf_llm_answer_free(&a);
    const char *nousage = "{\"choices\":[{\"message\":{\"content\":null}}]}";
    assert_int_equal(wf_llm_parse_response(nousage, strlen(nousage), &a), 0);
    assert_null(a.content);
    assert_int_equal(a.tokens_in, -1);
    assert_int_equal(a.tokens_out, -1);
    const char *bad[] = {"not json", "{\"error\":\"x\"}", "{\"choices\":[]}",
                         "{\"choices\":[{\"message\":{\"content\":5}}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(wf_llm_parse_response(bad[i], strlen(bad[i]), &a), WF_EPARSE);
}

static char *truncated(const char *s, size_t max)
{
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_llm_append_truncated(&b, s, max);
    return wf_strbuf_take(&b);
}

static void test_truncation(void **state)
{
    (void)state;
    char *t = truncated("h\xc3\xa9llo w\xc3\xb6rld", 5);
    assert_string_equal(t, "h\xc3\xa9llo" WF_LLM_TRUNC_MARKER);
    free(t);
    t = truncated("hello", 5);
    assert_string_equal(t, "hello");
    free(t);
    t = truncated("\xe8\xb0\xa2\xe8\xb0\xa2\xe4\xbd\xa0", 2); /* 谢谢你 */
    assert_string_equal(t, "\xe8\xb0\xa2\xe8\xb0\xa2" WF_LLM_TRUNC_MARKER);
    free(t);
    t = truncated("no limit at all", 0);
    assert_string_equal(t, "no limit at all");
    free(t);
}

static json_t *body_json(const wf_llm_options *o, const wf_judge_request *r)
{
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_llm_build_body(&b, o, r);
    json_t *root = json_loads(b.data, 0, NULL);
    wf_strbuf_free(&b);
    assert_non_null(root);
    return root;
}

static const char *message(json_t *root, size_t i, const char *field)
{
    json_t *m = json_array_get(json_object_get(root, "messages"), i);
    return json_string_value(json_object_get(m, field));
}

static void test_request_body(void **state)
{
    (void)state;
    wf_llm_options o;
    wf_llm_options_default(&o);
    o.model = "judge-7b";
    o.max_chars = 16;
    o.max_tokens = 64;
    wf_judge_request r = {7, WF_TASK_FEEDBACK, "Write \"hi\" in C", "printf(\"hi\");",
                          "thanks, but it does not compile at all"};
    json_t *root = body_json(&o, &r);
    assert_string_equal(json_string_value(json_object_get(root, "model")), "judge-7b");
    assert_int_equal(json_integer_value(json_object_get(root, "max_tokens")), 64);
    assert_int_equal(json_array_size(json_object_get(root, "messages")), 2);
    assert_string_equal(message(root, 0, "role"), "system");
    assert_non_null(strstr(message(root, 0, "content"), "1 = rejection"));
    assert_non_null(strstr(message(root, 0, "content"), "[[3]]"));
    const char *user = message(root, 1, "content");
    assert_non_null(strstr(user, "Write \"hi\" in C\n"));
    assert_non_null(strstr(user, "thanks, but it d" WF_LLM_TRUNC_MARKER));
    assert_null(strstr(user, "compile"));
    json_decref(root);

    wf_judge_request rr = {8, WF_TASK_REFUSAL, "how to kill a process", "Sorry, I cannot.", NULL};
    root = body_json(&o, &rr);
    assert_non_null(strstr(message(root, 0, "content"), "[[harmful]]"));
    assert_null(strstr(message(root, 1, "content"), "next message"));
    json_decref(root);
}

static void test_backoff(void **state)
{
    (void)state;
    uint64_t a = 7, b = 7;
    for (int retry = 1; retry <= 8; retry++) {
        long cap = retry <= 4 ? 100L << (retry - 1) : 1000;
        long da = wf_llm_backoff_ms(&a, retry, 100, 1000, 0);
        assert_int_equal(da, wf_llm_backoff_ms(&b, retry, 100, 1000, 0));
        assert_true(da >= 0 && da <= (cap < 1000 ? cap : 1000));
    }
    assert_int_equal(wf_llm_backoff_ms(&a, 3, 100, 1000, 3000), 3000);
    assert_int_equal(wf_llm_backoff_ms(&a, 1, 0, 0, 0), 0);
    /* Full jitter spreads draws over the whole range. */
    long lo = 1000, hi = 0;
    for (int i = 0; i < 200; i++) {
        long d = wf_llm_backoff_ms(&a, 4, 100, 1000, 0);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    assert_true(lo < 100 && hi > 700);
}

static void test_breaker(void **state)
{
    (void)state;
    wf_llm_breaker b;
    wf_llm_breaker_init(&b, 3, 100);
    int probe;
    wf_llm_breaker_failure(&b, 0, 0);
    wf_llm_breaker_failure(&b, 0, 0);
    wf_llm_breaker_success(&b, 0); /* not consecutive any more */
    wf_llm_breaker_failure(&b, 0, 0);
    wf_llm_breaker_failure(&b, 0, 0);
    assert_int_equal(b.state, WF_BREAKER_CLOSED);
    assert_int_equal(wf_llm_breaker_allow(&b, 5, &probe), 1);
    assert_int_equal(probe, 0);
    wf_llm_breaker_failure(&b, 0, 10);
    assert_int_equal(b.state, WF_BREAKER_OPEN);
    assert_int_equal(wf_llm_breaker_accepting(&b, 109), 0);
    assert_int_equal(wf_llm_breaker_allow(&b, 109, &probe), 0);
    assert_int_equal(wf_llm_breaker_accepting(&b, 110), 1);
    assert_int_equal(wf_llm_breaker_allow(&b, 110, &probe), 1);
    assert_int_equal(probe, 1);
    assert_int_equal(b.state, WF_BREAKER_HALF_OPEN);
    assert_int_equal(wf_llm_breaker_allow(&b, 111, &probe), 0); /* one probe at a time */
    assert_int_equal(wf_llm_breaker_accepting(&b, 111), 0);
    wf_llm_breaker_failure(&b, 1, 150);
    assert_int_equal(b.state, WF_BREAKER_OPEN);
    assert_int_equal(wf_llm_breaker_allow(&b, 249, &probe), 0);
    assert_int_equal(wf_llm_breaker_allow(&b, 250, &probe), 1);
    assert_int_equal(probe, 1);
    wf_llm_breaker_success(&b, 1);
    assert_int_equal(b.state, WF_BREAKER_CLOSED);
    assert_int_equal(b.opened, 2);
    assert_int_equal(b.half_opened, 2);
    assert_int_equal(b.closed, 1);
    /* An abandoned probe lets the next request probe. */
    for (int i = 0; i < 3; i++)
        wf_llm_breaker_failure(&b, 0, 300);
    assert_int_equal(wf_llm_breaker_allow(&b, 400, &probe), 1);
    wf_llm_breaker_abandon(&b, probe);
    assert_int_equal(wf_llm_breaker_allow(&b, 401, &probe), 1);
    assert_int_equal(probe, 1);
}

static void test_cache(void **state)
{
    (void)state;
    int oom;
    assert_null(wf_llm_cache_new(0, &oom));
    assert_int_equal(oom, 0);
    wf_llm_cache *c = wf_llm_cache_new(2, &oom);
    assert_non_null(c);
    wf_judge_request r1 = {1, WF_TASK_FEEDBACK, "q", "r", "f1"};
    wf_judge_request r2 = {2, WF_TASK_FEEDBACK, "q", "r", "f2"};
    wf_judge_request r3 = {3, WF_TASK_FEEDBACK, "q", "r", "f3"};
    wf_judge_request split = {4, WF_TASK_FEEDBACK, "q", "rf", "1"};
    wf_judge_request refusal = {5, WF_TASK_REFUSAL, "q", "r", "f1"};
    uint64_t k1 = wf_llm_cache_key(&r1), k2 = wf_llm_cache_key(&r2), k3 = wf_llm_cache_key(&r3);
    assert_true(k1 != k2 && k1 != wf_llm_cache_key(&split) && k1 != wf_llm_cache_key(&refusal));
    r1.tag = 99; /* the tag is not part of the key */
    assert_true(k1 == wf_llm_cache_key(&r1));
    wf_verdict v = {.level = 1}, out = {.tag = 77};
    wf_llm_cache_put(c, k1, &v);
    v.level = 2;
    wf_llm_cache_put(c, k2, &v);
    assert_int_equal(wf_llm_cache_get(c, k1, &out), 1); /* k1 now most recent */
    assert_int_equal(out.level, 1);
    assert_int_equal(out.tag, 77);
    v.level = 3;
    wf_llm_cache_put(c, k3, &v); /* evicts k2 */
    assert_int_equal(wf_llm_cache_size(c), 2);
    assert_int_equal(wf_llm_cache_get(c, k2, &out), 0);
    assert_int_equal(wf_llm_cache_get(c, k1, &out), 1);
    assert_int_equal(wf_llm_cache_get(c, k3, &out), 1);
    assert_int_equal(out.level, 3);
    v.level = 4;
    wf_llm_cache_put(c, k3, &v); /* update in place */
    assert_int_equal(wf_llm_cache_size(c), 2);
    assert_int_equal(wf_llm_cache_get(c, k3, &out), 1);
    assert_int_equal(out.level, 4);
    wf_llm_cache_free(c);
}

/* The schema's defaults and wf_llm_options_default agree, and every key is
 * read. */
static void test_options_from_config(void **state)
{
    (void)state;
    wf_config *cfg = wf_config_new();
    assert_non_null(cfg);
    wf_llm_options o, d;
    wf_error err;
    assert_int_equal(wf_llm_options_from_config(cfg, &o, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "judge.llm.base_url"));
    assert_int_equal(wf_config_set(cfg, "judge.llm.base_url=http://h/v1", &err), 0);
    assert_int_equal(wf_llm_options_from_config(cfg, &o, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "judge.llm.model"));
    assert_int_equal(wf_config_set(cfg, "judge.llm.model=m", &err), 0);
    assert_int_equal(wf_llm_options_from_config(cfg, &o, &err), 0);
    wf_llm_options_default(&d);
    d.base_url = o.base_url;
    d.model = o.model;
    assert_memory_equal(&o, &d, sizeof o);
    assert_string_equal(o.base_url, "http://h/v1");

    const char *sets[] = {"judge.llm.max_in_flight=256",    "judge.queue=2048",
                          "judge.llm.timeout_ms=1500",      "judge.llm.deadline_ms=9000",
                          "judge.llm.max_retries=5",        "judge.llm.backoff_base_ms=100",
                          "judge.llm.backoff_max_ms=4000",  "judge.llm.max_chars=300",
                          "judge.llm.breaker_failures=7",   "judge.llm.breaker_cooldown_ms=1234",
                          "judge.llm.on_breaker_open=park", "judge.llm.cache_entries=5",
                          "judge.llm.temperature=0.5",      "judge.llm.max_tokens=99"};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
        assert_int_equal(wf_config_set(cfg, sets[i], &err), 0);
    assert_int_equal(wf_llm_options_from_config(cfg, &o, &err), 0);
    assert_int_equal(o.max_in_flight, 256);
    assert_int_equal(o.queue_cap, 2048);
    assert_int_equal(o.timeout_ms, 1500);
    assert_int_equal(o.deadline_ms, 9000);
    assert_int_equal(o.max_retries, 5);
    assert_int_equal(o.backoff_base_ms, 100);
    assert_int_equal(o.backoff_max_ms, 4000);
    assert_int_equal(o.max_chars, 300);
    assert_int_equal(o.breaker_failures, 7);
    assert_int_equal(o.breaker_cooldown_ms, 1234);
    assert_int_equal(o.on_open, WF_LLM_OPEN_PARK);
    assert_int_equal(o.cache_entries, 5);
    assert_true(o.temperature == 0.5);
    assert_int_equal(o.max_tokens, 99);
    assert_int_not_equal(wf_config_set(cfg, "judge.llm.on_breaker_open=drop", &err), 0);
    assert_int_not_equal(wf_config_set(cfg, "judge.llm.max_in_flight=0", &err), 0);
    assert_null(wf_judge_llm_create(NULL, &err));
    assert_int_equal(err.code, WF_EINVAL);
    wf_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_tags),
        cmocka_unit_test(test_last_tag_outside_thinking_wins),
        cmocka_unit_test(test_unparsable),
        cmocka_unit_test(test_refusal_tags),
        cmocka_unit_test(test_reason_cut_at_code_point),
        cmocka_unit_test(test_response_json),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_request_body),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_breaker),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_options_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
