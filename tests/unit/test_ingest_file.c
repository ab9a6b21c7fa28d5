/* A JSONL fixture with every shape and every bad reason, read line by line
 * as the extract command does: every line is accounted for, and a bad line
 * never stops the run. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/reader.h"
#include "wildfeed/event.h"

static void mixed_file(void **state)
{
    (void)state;
    wf_error err;
    wf_config *cfg = wf_config_new();
    assert_int_equal(wf_config_set(cfg, "input.max_record_bytes=256", &err), 0);
    wf_parser *p = wf_parser_new(cfg, &err);
    assert_non_null(p);
    wf_line_reader *r = wf_line_reader_open(wf_test_fixture("ingest/mixed.jsonl"), 256, &err);
    assert_non_null(r);
    char got[1024] = "";
    size_t used = 0, turns = 0, messages = 0;
    const char *line;
    size_t len;
    int rc;
    while ((rc = wf_line_reader_next(r, &line, &len, &err)) > 0) {
        const char *what = "too_large";
        wf_event ev;
        wf_bad_reason reason;
        if (rc == WF_LINE_OK && wf_event_parse(p, line, len, &ev, &reason, &err) == 0) {
            what = wf_shape_name(ev.shape);
            turns += (size_t)ev.turn + (size_t)ev.target_turn;
            messages += ev.n_messages;
            wf_event_clear(&ev);
        } else if (rc == WF_LINE_OK) {
            what = wf_bad_reason_name(reason);
        }
        used += (size_t)snprintf(got + used, sizeof got - used, "%llu:%s ",
                                 (unsigned long long)wf_line_reader_lineno(r), what);
    }
    assert_int_equal(rc, WF_LINE_EOF);
    assert_string_equal(got, "1:message 2:message 4:conversation 5:conversation 6:conversation "
                             "7:feedback 8:feedback 9:not_json 10:missing_field 11:bad_type "
                             "12:bad_utf8 13:unknown_shape 14:bad_value 15:too_large 16:sample ");
    assert_int_equal(turns, 0 + 1 + 1 + 1 + 2);
    assert_int_equal(messages, 3 + 2 + 2 + 2);
    wf_line_reader_close(r);
    wf_parser_free(p);
    wf_config_free(cfg);
}

/* The bundled demo sample: 60 snapshots in English and Chinese from 20
 * users, each alternating user and assistant for 2 to 4 exchanges. */
static void demo_sample(void **state)
{
    (void)state;
    const char *src = getenv("WF_SOURCE");
    char path[4096];
    snprintf(path, sizeof path, "%s/data/demo/conversations.jsonl", src ? src : ".");
    wf_error err;
    wf_config *cfg = wf_config_new();
    wf_parser *p = wf_parser_new(cfg, &err);
    wf_line_reader *r = wf_line_reader_open(path, 1 << 20, &err);
    assert_non_null(r);
    size_t n = 0, english = 0, chinese = 0, followups = 0;
    unsigned users = 0; /* bit i: user u<i+1> seen */
    const char *line;
    size_t len;
    while (wf_line_reader_next(r, &line, &len, &err) == WF_LINE_OK) {
        wf_event ev;
        wf_bad_reason reason;
        if (wf_event_parse(p, line, len, &ev, &reason, &err) != 0)
            fail_msg("line %zu: %s", n + 1, err.msg);
        char id[16];
        snprintf(id, sizeof id, "demo-%03zu", ++n);
        assert_string_equal(ev.conversation_id, id);
        assert_string_equal(ev.model, "demo-model");
        english += strcmp(ev.language, "English") == 0;
        chinese += strcmp(ev.language, "Chinese") == 0;
        int u = atoi(ev.user_id + 1);
        assert_true(ev.user_id[0] == 'u' && u >= 1 && u <= 20);
        users |= 1u << (u - 1);
        assert_true(ev.n_messages >= 4 && ev.n_messages <= 8 && ev.n_messages % 2 == 0);
        for (size_t i = 0; i < ev.n_messages; i++)
            assert_string_equal(ev.messages[i].role, i % 2 ? "assistant" : "user");
        followups += ev.n_messages / 2 - 1;
        wf_event_clear(&ev);
    }
    assert_int_equal(n, 60);
    assert_int_equal(english, 45);
    assert_int_equal(chinese, 15);
    assert_int_equal(users, (1u << 20) - 1);
    assert_int_equal(followups, 66);
    wf_line_reader_close(r);
    wf_parser_free(p);
    wf_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(mixed_file), cmocka_unit_test(demo_sample)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
