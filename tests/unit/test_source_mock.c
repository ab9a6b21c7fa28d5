/* The mock-cluster helpers: lines of a file produced as keyed messages, and
 * a topic read back in partition and offset order. */
#include "source_harness.h"

/* The key is the text of "conversation_id":"..." in the line. */
static int conversation_key(void *ctx, const char *line, size_t len, const char **key,
                            size_t *key_len)
{
    (void)ctx;
    static const char field[] = "\"conversation_id\":\"";
    const char *p = memmem(line, len, field, sizeof field - 1);
    if (!p)
        return WF_EPARSE;
    p += sizeof field - 1;
    const char *end = memchr(p, '"', len - (size_t)(p - line));
    if (!end)
        return WF_EPARSE;
    *key = p;
    *key_len = (size_t)(end - p);
    return 0;
}

static void test_produce_lines_and_read_back(void **state)
{
    (void)state;
    wf_kafka_mock *m = h_mock(1, "ev", 3);
    wf_error err = {0};
    size_t count = 0;
    assert_int_equal(wf_kafka_mock_produce_lines(m, "ev", wf_test_fixture("source/events.jsonl"),
                                                 conversation_key, NULL, &count, &err),
                     0);
    assert_int_equal(count, 5); /* the blank line is skipped */
    wf_kafka_record *recs = NULL;
    size_t n = 0;
    assert_int_equal(wf_kafka_mock_read_topic(m, "ev", 10000, &recs, &n, &err), 0);
    assert_int_equal(n, 5);
    int c1 = 0, last_partition = -1;
    int64_t last_offset = -1;
    for (size_t i = 0; i < n; i++) {
        const wf_kafka_record *r = &recs[i];
        assert_non_null(r->key);
        assert_non_null(strstr(r->value, r->key)); /* key taken from the line */
        assert_int_equal(r->nheaders, 0);
        assert_true(r->partition > last_partition ||
                    (r->partition == last_partition && r->offset > last_offset));
        last_partition = r->partition;
        last_offset = r->offset;
        if (strcmp(r->key, "c1") == 0) {
            /* One conversation, one partition, in file order. */
            static const char *const turns[] = {"\"turn\":0", "\"turn\":1", "\"turn\":2"};
            assert_non_null(strstr(r->value, turns[c1]));
            c1++;
        }
    }
    assert_int_equal(c1, 3);
    wf_kafka_records_free(recs, n);
    wf_kafka_mock_stop(m);
}

static void test_missing_file_and_key(void **state)
{
    (void)state;
    wf_kafka_mock *m = h_mock(1, "ev", 1);
    wf_error err = {0};
    size_t count = 7;
    assert_int_equal(
        wf_kafka_mock_produce_lines(m, "ev", "/nonexistent/x.jsonl", NULL, NULL, &count, &err),
        WF_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.jsonl"));
    char path[512];
    snprintf(path, sizeof path, "%s/nokey.jsonl", wf_test_tmpdir());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"conversation_id\":\"c9\"}\n{\"turn\":1}\n", f);
    fclose(f);
    assert_int_equal(
        wf_kafka_mock_produce_lines(m, "ev", path, conversation_key, NULL, &count, &err),
        WF_EPARSE);
    assert_int_equal(count, 1);
    assert_non_null(strstr(err.msg, "line 2"));
    remove(path);
    wf_kafka_mock_stop(m);
}

int main(void)
{
    h_quiet_logs();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_produce_lines_and_read_back),
        cmocka_unit_test(test_missing_file_and_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
