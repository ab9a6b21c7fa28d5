/* The llm judge against the stub endpoint: labels for each answer kind,
 * retry counts per failure kind, Retry-After, the deadline, refusal
 * validation, the cache, the API key and connection reuse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../stub/llm_testkit.h"
#include "testutil.h"
#include "wildfeed/log.h"
#include "wildfeed/sample.h"

typedef struct fixture {
    wf_stub *stub;
    wf_llm_options o;
    wf_judge *j;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->stub = wf_stub_start(0);
    assert_non_null(f->stub);
    kit_options(&f->o, f->stub);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->j)
        f->j->ops->destroy(f->j);
    wf_stub_stop(f->stub);
    free(f);
    return 0;
}

static wf_judge *start(fixture *f)
{
    wf_error err;
    f->j = wf_judge_llm_new(&f->o, &err);
    assert_non_null(f->j);
    return f->j;
}

static wf_llm_stats stats(fixture *f)
{
    wf_llm_stats s;
    wf_judge_llm_stats(f->j, &s);
    return s;
}

static void push(fixture *f, wf_stub_kind k, int retry_after_s, int delay_ms)
{
    wf_stub_behaviour b = {k, retry_after_s, delay_ms};
    wf_stub_push(f->stub, b);
}

static void test_labels(void **state)
{
    fixture *f = *state;
    wf_judge *j = start(f);
    assert_int_equal(wf_judge_validates_refusals(j), 1);
    char text[32];
    wf_verdict v;
    for (int level = 1; level <= 5; level++) {
        snprintf(text, sizeof text, "ok then #level=%d", level);
        assert_int_equal(kit_feedback(j, (uint64_t)level, text, &v), 1);
        assert_int_equal(v.tag, level);
        assert_int_equal(v.status, WF_VERDICT_OK);
        assert_int_equal(v.level, level);
        assert_int_equal(v.source, WF_SRC_LLM);
        assert_string_equal(v.reason, "stub verdict");
    }
    wf_llm_stats s = stats(f);
    assert_int_equal(s.requests, 5);
    assert_int_equal(s.retries, 0);
    assert_int_equal(s.verdicts_ok, 5);
    assert_int_equal(s.tokens_in, 500);
    assert_int_equal(s.tokens_out, 50);
    assert_int_equal(wf_judge_in_flight(j), 0);
    /* One connection carried all five requests. */
    assert_int_equal(wf_stub_connections(f->stub), 1);
}

static void test_chatty_answer(void **state)
{
    fixture *f = *state;
    wf_judge *j = start(f);
    push(f, WF_STUB_CHATTY, 0, 0);
    wf_verdict v;
    assert_int_equal(kit_feedback(j, 1, "#level=2", &v), 1);
    assert_int_equal(v.status, WF_VERDICT_OK);
    assert_int_equal(v.level, 2);
    assert_string_equal(v.reason, "The user's message decides it. Hope this helps!");
    assert_int_equal(stats(f).failures[WF_LLM_FAIL_UNPARSABLE], 0);
}

static void test_garbage_and_empty(void **state)
{
    fixture *f = *state;
    wf_judge *j = start(f);
    wf_verdict v;
    /* One unparsable answer is retried once... */
    push(f, WF_STUB_GARBAGE, 0, 0);
    assert_int_equal(kit_feedback(j, 1, "#level=4", &v), 1);
    assert_int_equal(v.status, WF_VERDICT_OK);
    assert_int_equal(v.level, 4);
    /* ...a second one fails the candidate. */
    push(f, WF_STUB_GARBAGE, 0, 0);
    push(f, WF_STUB_EMPTY, 0, 0);
    assert_int_equal(kit_feedback(j, 2, "#level=4", &v), 1);
    assert_int_equal(v.tag, 2);
    assert_int_equal(v.status, WF_VERDICT_FAILED);
    assert_string_equal(v.reason, "llm: unparsable after 1 retries");
    push(f, WF_STUB_EMPTY, 0, 0);
    push(f, WF_STUB_EMPTY, 0, 0);
    assert_int_equal(kit_feedback(j, 3, "#level=4", &v), 1);
    assert_int_equal(v.status, WF_VERDICT_FAILED);
    wf_llm_stats s = stats(f);
    assert_int_equal(s.requests, 6);
    assert_int_equal(s.retries, 3);
    assert_int_equal(s.failures[WF_LLM_FAIL_UNPARSABLE], 5);
    assert_int_equal(s.verdicts_ok, 1);
    assert_int_equal(s.verdicts_failed, 2);
    assert_int_equal(wf_stub_requests(f->stub), 6);
}

static void test_500_exhausts_retries(void **state)
{
    fixture *f = *state;
    f->o.max_retries = 2;
    wf_judge *j = start(f);
    wf_verdict v;
    assert_int_equal(kit_feedback(j, 9, "#stub=500", &v), 1);
    assert_int_equal(v.status, WF_VERDICT_FAILED);
    assert_string_equal(v.reason, "llm: http_5xx after 2 retries");
    wf_llm_stats s = stats(f);
    assert_int_equal(s.requests, 3);
    assert_int_equal(s.retries, 2);
    assert_int_equal(s.failures[WF_LLM_FAIL_HTTP_5XX], 3);
    assert_int_equal(wf_stub_count(f->stub, WF_STUB_500), 3);
}

static void test_429_honours_retry_after(void **state)
{
    fixture *f = *state;
    wf_judge *j = start(f);
    push(f, WF_STUB_429, 1, 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wf_verdict v;
    assert_int_equal(kit_feedback(j, 1, "#level=5", &v), 1);
    long elapsed = kit_ms_since(&t0);
    assert_int_equal(v.status, WF_VERDICT_OK);
    assert_int_equal(v.level, 5);
    assert_true(elapsed >= 1000);
    assert_true(elapsed < 3000);
    wf_llm_stats s = stats(f);
    assert_int_equal(s.retries, 1);
    assert_int_equal(s.failures[WF_LLM_FAIL_HTTP_429], 1);
    assert_int_equal(wf_stub_requests(f->stub), 2);
}

static void test_timeout_and_reset_are_retried(void **state)
{
    fixture *f = *state;
    wf_judge *j = start(f);
    push(f, WF_STUB_SLOW, 0, 2000); /* the client gives up after 300 ms */
    push(f, WF_STUB_RESET, 0, 0);
    push(f, WF_STUB_RESET, 0, 0);
    wf_verdict v;
    assert_int_equal(kit_feedback(j, 1, "#level=1", &v), 1);
    assert_int_equal(v.status, WF_VERDICT_OK);
    assert_int_equal(v.level, 1);
    wf_llm_stats s = stats(f);
    assert_int_equal(s.requests, 4);
    assert_int_equal(s.retries, 3);
    assert_int_equal(s.failures[WF_LLM_FAIL_TIMEOUT], 1);
    assert_int_equal(s.failures[WF_LLM_FAIL_CONNECT], 2);
}

static void test_deadline(void **state)
{
    fixture *f = *state;
    f->o.deadline_ms = 400;
    f->o.max_retries = 100;
    f->o.backoff_base_ms = 150;
    f->o.backoff_max_ms = 150;
    wf_judge *j = start(f);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wf_verdict v;
    assert_int_equal(kit_feedback(j, 1, "#stub=500", &v), 1);
    assert_int_equal(v.status, WF_VERDICT_FAILED);
    assert_non_null(strstr(v.reason, "deadline"));
    assert_true(kit_ms_since(&t0) < 1000);
    wf_llm_stats s = stats(f);
    assert_int_equal(s.failures[WF_LLM_FAIL_DEADLINE], 1);
    assert_true(s.requests >= 2);
    assert_int_equal(s.requests, s.failures[WF_LLM_FAIL_HTTP_5XX]);
}

static void test_refusal_validation(void **state)
{
    fixture *f = *state;
    wf_judge *j = start(f);
    const char *markers[] = {"#refusal=none", "#refusal=harmful", "#refusal=false"};
    const wf_refusal_kind want[] = {WF_REFUSAL_NONE, WF_REFUSAL_CORRECT, WF_REFUSAL_FALSE};
    for (int i = 0; i < 3; i++) {
        wf_verdict v;
        assert_int_equal(kit_judge(j, (uint64_t)i, WF_TASK_REFUSAL, markers[i],
                                   "I'm sorry, but I cannot help with that.", NULL, &v),
                         1);
        assert_int_equal(v.status, WF_VERDICT_OK);
        assert_int_equal(v.task, WF_TASK_REFUSAL);
        assert_int_equal(v.refusal, want[i]);
    }
    char *body = wf_stub_last_body(f->stub);
    assert_non_null(strstr(body, "[[harmful]]")); /* the refusal prompt */
    free(body);
}

static void test_cache_hits(void **state)
{
    fixture *f = *state;
    f->o.cache_entries = 16;
    wf_judge *j = start(f);
    wf_verdict v;
    assert_int_equal(kit_feedback(j, 1, "#level=5 thanks", &v), 1);
    assert_int_equal(kit_feedback(j, 2, "#level=5 thanks", &v), 1);
    assert_int_equal(v.tag, 2);
    assert_int_equal(v.level, 5);
    assert_int_equal(v.source, WF_SRC_LLM);
    assert_int_equal(kit_feedback(j, 3, "#level=4 nice", &v), 1);
    assert_int_equal(v.level, 4);
    /* Same texts, other task: not a hit. */
    assert_int_equal(kit_judge(j, 4, WF_TASK_REFUSAL, "How do I sort a list in Python?",
                               "Use sorted(xs) or xs.sort().", "#level=5 thanks", &v),
                     1);
    assert_int_equal(v.refusal, WF_REFUSAL_NONE);
    wf_llm_stats s = stats(f);
    assert_int_equal(s.cache_hits, 1);
    assert_int_equal(s.requests, 3);
    assert_int_equal(wf_stub_requests(f->stub), 3);
}

static void test_truncation_reaches_endpoint(void **state)
{
    fixture *f = *state;
    f->o.max_chars = 20;
    wf_judge *j = start(f);
    wf_verdict v;
    assert_int_equal(kit_feedback(j, 1, "#level=2 this is wrong because TAILTEXT", &v), 1);
    char *body = wf_stub_last_body(f->stub);
    assert_non_null(strstr(body, "#level=2 this is wro\xe2\x80\xa6[truncated]"));
    assert_null(strstr(body, "TAILTEXT"));
    free(body);
    assert_int_equal(v.level, 2);
}

static void test_queue_bound(void **state)
{
    fixture *f = *state;
    f->o.queue_cap = 2;
    wf_judge *j = start(f);
    wf_judge_request r = {1, WF_TASK_FEEDBACK, "q", "r", "#level=3"};
    wf_error err;
    assert_int_equal(wf_judge_submit(j, &r, &err), 0);
    r.tag = 2;
    assert_int_equal(wf_judge_submit(j, &r, &err), 0);
    r.tag = 3;
    assert_int_equal(wf_judge_submit(j, &r, &err), WF_EAGAIN);
    assert_int_equal(wf_judge_in_flight(j), 2);
    wf_verdict v[2];
    size_t got = 0;
    for (int i = 0; i < 100 && got < 2; i++)
        got += wf_judge_poll(j, v + got, 2 - got, 100);
    assert_int_equal(got, 2);
    assert_int_equal(v[0].tag + v[1].tag, 3);
    assert_int_equal(wf_judge_submit(j, &r, &err), 0);
}

static char *slurp(FILE *fp)
{
    fflush(fp);
    long n = ftell(fp);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(fp);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    return buf;
}

/* The key from the environment and from a file reaches the endpoint and
 * never the log, even at debug level and with failing requests. */
static void test_api_key(void **state)
{
    fixture *f = *state;
    static const char key[] = "sk-test-S3CR3T-9f8e7d";
    FILE *log = tmpfile();
    assert_non_null(log);
    wf_log_setup(WF_LOG_DEBUG, WF_LOG_LOGFMT, log);
    setenv("WF_TEST_LLM_KEY", key, 1);
    const char *dir = wf_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/key", dir);
    FILE *kf = fopen(path, "w");
    fprintf(kf, "  %s  \n", key);
    fclose(kf);

    wf_config *cfg = wf_config_new();
    wf_error err;
    char set[600];
    snprintf(set, sizeof set, "judge.llm.base_url=%s", wf_stub_base_url(f->stub));
    assert_int_equal(wf_config_set(cfg, set, &err), 0);
    assert_int_equal(wf_config_set(cfg, "judge.llm.model=stub-model", &err), 0);
    assert_int_equal(wf_config_set(cfg, "judge.llm.max_retries=1", &err), 0);
    assert_int_equal(wf_config_set(cfg, "judge.llm.backoff_base_ms=1", &err), 0);
    assert_int_equal(wf_config_set(cfg, "judge.llm.api_key_env=WF_TEST_LLM_KEY", &err), 0);
    wf_stub_expect_key(f->stub, key);
    for (int round = 0; round < 2; round++) {
        if (round == 1) { /* from the file this time */
            snprintf(set, sizeof set, "judge.llm.api_key_file=%s", path);
            assert_int_equal(wf_config_set(cfg, set, &err), 0);
            assert_int_equal(wf_config_set(cfg, "judge.llm.api_key_env=", &err), 0);
        }
        wf_judge *j = wf_judge_llm_create(cfg, &err);
        assert_non_null(j);
        wf_verdict v;
        assert_int_equal(kit_feedback(j, 1, "#level=5", &v), 1);
        assert_int_equal(v.level, 5);
        assert_int_equal(kit_feedback(j, 2, "#stub=500", &v), 1);
        assert_int_equal(v.status, WF_VERDICT_FAILED);
        j->ops->destroy(j);
    }
    assert_int_equal(wf_stub_requests(f->stub), 6);
    assert_int_equal(wf_stub_auth_mismatches(f->stub), 0);

    assert_int_equal(wf_config_set(cfg, "judge.llm.api_key_env=WF_TEST_LLM_UNSET", &err), 0);
    unsetenv("WF_TEST_LLM_UNSET");
    assert_int_equal(wf_config_set(cfg, "judge.llm.api_key_file=", &err), 0);
    assert_null(wf_judge_llm_create(cfg, &err));
    assert_int_equal(err.code, WF_EINVAL);
    assert_null(strstr(err.msg, key));
    wf_config_free(cfg);

    /* A password inside the URL is not logged either. */
    char url[128];
    snprintf(url, sizeof url, "http://user:S3CR3T@127.0.0.1:%u/v1",
             (unsigned)wf_stub_port(f->stub));
    f->o.base_url = url;
    wf_judge *j = wf_judge_llm_new(&f->o, &err);
    assert_non_null(j);
    j->ops->destroy(j);

    wf_log_setup(WF_LOG_INFO, WF_LOG_LOGFMT, stderr);
    char *text = slurp(log);
    fclose(log);
    assert_non_null(strstr(text, "llm judge started"));
    assert_non_null(strstr(text, "llm attempt failed"));
    assert_non_null(strstr(text, "url=http://***@127.0.0.1:"));
    assert_null(strstr(text, "S3CR3T"));
    free(text);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chatty_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_500_exhausts_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_honours_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_and_reset_are_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusal_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_hits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation_reaches_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
