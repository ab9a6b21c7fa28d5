#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedback/filters.h"
#include "feedback/pii.h"

#define Q5 "please explain how this works"
#define R10 "one two three four five six seven eight nine ten"

typedef struct fx {
    wf_config *cfg;
    wf_filters *f;
} fx;

static fx *fixture_with(const char *const *sets)
{
    fx *x = calloc(1, sizeof *x);
    wf_error err = {0};
    x->cfg = wf_config_new();
    assert_non_null(x->cfg);
    for (size_t i = 0; sets && sets[i]; i++)
        if (wf_config_set(x->cfg, sets[i], &err) != 0)
            fail_msg("%s: %s", sets[i], err.msg);
    x->f = wf_filters_new(x->cfg, &err);
    assert_non_null(x->f);
    return x;
}

static int setup(void **state)
{
    *state = fixture_with(NULL);
    return 0;
}

static void fx_free(fx *x)
{
    wf_filters_free(x->f);
    wf_config_free(x->cfg);
    free(x);
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

typedef struct spec {
    const char *query, *response, *language;
    size_t n_history;
    const char *history_text;
    int refusal;
} spec;

static int check_full(const wf_filters *f, spec s, const char **lang_out)
{
    wf_msg hist[64];
    for (size_t i = 0; i < s.n_history; i++) {
        hist[i].role = i % 2 ? "assistant" : "user";
        hist[i].content = s.history_text ? s.history_text : "hi";
        hist[i].content_len = strlen(hist[i].content);
    }
    wf_candidate_parts p = {.conversation_id = "c",
                            .language = s.language ? s.language : "English",
                            .history = hist,
                            .n_history = s.n_history,
                            .query = s.query ? s.query : Q5,
                            .response = s.response ? s.response : R10,
                            .feedback = "thanks"};
    wf_candidate *c = wf_candidate_new(&p);
    assert_non_null(c);
    const char *lang = NULL;
    int r = wf_filters_check(f, c, s.refusal, &lang);
    assert_non_null(lang);
    if (lang_out)
        *lang_out = strcmp(lang, "English") == 0   ? "English"
                    : strcmp(lang, "Chinese") == 0 ? "Chinese"
                                                   : "Other";
    wf_candidate_free(c);
    return r;
}

static int check(const wf_filters *f, spec s)
{
    return check_full(f, s, NULL);
}

static int query_drop(const wf_filters *f, const char *q)
{
    return check(f, (spec){.query = q});
}

static void test_passes(void **state)
{
    fx *x = *state;
    assert_int_equal(check(x->f, (spec){0}), -1);
}

static void test_language_logged(void **state)
{
    fx *x = *state;
    const char *kept[] = {"English", "english", "ENGLISH", "en", "en-US", "zh_CN", "zh", "Chinese"};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        assert_int_equal(check(x->f, (spec){.language = kept[i]}), -1);
    const char *dropped[] = {"French", "ja", "Englishh", "Other"};
    for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
        assert_int_equal(check(x->f, (spec){.language = dropped[i]}), WF_DROP_LANGUAGE);
}

static void test_language_detected(void **state)
{
    fx *x = *state;
    const char *lang;
    assert_int_equal(check_full(x->f, (spec){.language = ""}, &lang), -1);
    assert_string_equal(lang, "English");
    spec zh = {.language = "",
               .query = "请解释一下快速排序算法",
               .response = "快速排序是一种分治算法，先选一个基准元素。"};
    assert_int_equal(check_full(x->f, zh, &lang), -1);
    assert_string_equal(lang, "Chinese");
    spec fr = {.language = "",
               .query = "Pouvez-vous expliquer comment cela fonctionne",
               .response = "Bien sûr, voici comment cela fonctionne en quelques mots simples ici"};
    assert_int_equal(check_full(x->f, fr, &lang), WF_DROP_LANGUAGE);
    assert_string_equal(lang, "Other");
}

static void test_language_config(void **state)
{
    (void)state;
    const char *codes[] = {"filter.languages=fr,en", NULL};
    fx *x = fixture_with(codes);
    assert_int_equal(check(x->f, (spec){.language = "French"}), -1);
    assert_int_equal(check(x->f, (spec){.language = "English"}), -1);
    assert_int_equal(check(x->f, (spec){.language = "Chinese"}), WF_DROP_LANGUAGE);
    fx_free(x);
    const char *all[] = {"filter.languages=[]", NULL};
    x = fixture_with(all);
    assert_int_equal(check(x->f, (spec){.language = "Klingon"}), -1);
    fx_free(x);
}

static void test_phrase_lists(void **state)
{
    fx *x = *state;
    static const struct {
        const char *q;
        int want;
    } cases[] = {
        {"Please draw me a cat sitting on a mat", WF_DROP_IMAGE_GENERATION},
        {"GENERATE AN IMAGE of a sunset over hills", WF_DROP_IMAGE_GENERATION},
        {"帮我画一只可爱的小猫咪", WF_DROP_IMAGE_GENERATION},
        {"how can I draw meaningful conclusions from data", -1},
        {"Search the web for the cheapest flights to Rome", WF_DROP_WEB_SEARCH},
        {"请联网搜索一下今天的天气情况", WF_DROP_WEB_SEARCH},
        {"Who are you and what can you do for me", WF_DROP_IDENTITY},
        {"你是谁？能介绍一下自己吗", WF_DROP_IDENTITY},
        {"Summarize the attached file in three bullet points", WF_DROP_UPLOADED_FILE},
        {"What does this screenshot show about the error", WF_DROP_UPLOADED_FILE},
        {"请帮我看看这张图里有什么问题", WF_DROP_UPLOADED_FILE},
        {"Transcribe this audio clip into plain text please", WF_DROP_AUDIO_VIDEO},
        {"how do I download youtube videos on my laptop", WF_DROP_AUDIO_VIDEO},
        {"recommend a fun videogame for kids this weekend", -1},
        {"帮我把这段视频的字幕翻译成英文", WF_DROP_AUDIO_VIDEO},
        /* several apply: the first in enum order wins */
        {"generate an image like https://x.com/a.png please", WF_DROP_IMAGE_GENERATION},
        {"who are you? read https://example.com/about first", WF_DROP_URL},
        {"who are you? mail me at a.b@example.com later", WF_DROP_IDENTITY},
        {"what is in this video, call me on 555-123-4567", WF_DROP_AUDIO_VIDEO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = query_drop(x->f, cases[i].q);
        if (got != cases[i].want)
            fail_msg("case %zu \"%s\": got %d, want %d", i, cases[i].q, got, cases[i].want);
    }
}

static void test_urls(void **state)
{
    fx *x = *state;
    assert_int_equal(query_drop(x->f, "summarize https://example.com/post for me"), WF_DROP_URL);
    assert_int_equal(query_drop(x->f, "summarize HTTP://EXAMPLE.COM for me now"), WF_DROP_URL);
    assert_int_equal(query_drop(x->f, "what is on www.example.org today then"), WF_DROP_URL);
    assert_int_equal(query_drop(x->f, "why do sites use the www. prefix at all"), -1);
    assert_int_equal(query_drop(x->f, "what does the http protocol actually do"), -1);
    const char *off[] = {"filter.drop_urls=false", NULL};
    fx *y = fixture_with(off);
    assert_int_equal(query_drop(y->f, "summarize https://example.com/post for me please"), -1);
    fx_free(y);
}

static void test_pii_filter(void **state)
{
    fx *x = *state;
    assert_int_equal(query_drop(x->f, "write to John.Doe+work@Example.co.uk about the invoice"),
                     WF_DROP_PII);
    assert_int_equal(query_drop(x->f, "my number is 13800138000 please remember it"), WF_DROP_PII);
    assert_int_equal(query_drop(x->f, "convert the unix time 1700000000 to a date"), -1);
    const char *off[] = {"filter.drop_pii=false", NULL};
    fx *y = fixture_with(off);
    assert_int_equal(query_drop(y->f, "my number is 13800138000 please remember it"), -1);
    fx_free(y);
}

static void test_email_scanner(void **state)
{
    (void)state;
    const char *yes[] = {"mail john.doe@example.com now", "x@y.io", "a_b-c%d+e@sub.mail-host.org.",
                         "联系我：zhang.san@qq.com 谢谢"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!wf_pii_has_email(yes[i], strlen(yes[i])))
            fail_msg("missed e-mail: %s", yes[i]);
    const char *no[] = {"@media screen and (max-width: 600px) {}",
                        "use @Override in java",
                        "login as user@localhost",
                        "decorate with @app.route('/')",
                        "x @ y.com",
                        "a@b.c",
                        "version@1.2.3",
                        "@",
                        "trailing@"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (wf_pii_has_email(no[i], strlen(no[i])))
            fail_msg("false e-mail: %s", no[i]);
}

static void test_phone_scanner(void **state)
{
    (void)state;
    const char *yes[] = {"call +1 (555) 123-4567 today",
                         "555-123-4567",
                         "(555) 123-4567",
                         "(555)123-4567",
                         "555.123.4567",
                         "555 123 4567",
                         "1-800-555-1234",
                         "13800138000",
                         "手机13912345678谢谢",
                         "+86 138 0013 8000",
                         "+8613800138000",
                         "+44 20 7946 0958",
                         "010-12345678",
                         "06 12 34 56 78",
                         "tel:555-123-4567.",
                         "+49 30 12345678"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!wf_pii_has_phone(yes[i], strlen(yes[i])))
            fail_msg("missed phone: %s", yes[i]);
    const char *no[] = {
        "in 1999 2000 2001 and 2002",  /* years */
        "it costs $1,234,567,890",     /* price */
        "1,234,567,890 people",        /* thousands */
        "1 000 000 000 dollars",       /* thousands with spaces */
        "pi is 3.14159265358979",      /* decimal */
        "v1.2.3.4.5.6.7.8.9.10",       /* version */
        "1.2.3.4.5.6.7.8.9.10",        /* version */
        "ping 192.168.100.200",        /* IP address */
        "timestamp 1700000000",        /* bare 10 digits */
        "id 12345678901",              /* 11 digits, not a Chinese mobile */
        "13800138000123",              /* longer run */
        "10 20 30 40 50 60",           /* list of numbers */
        "100 200 300 400",             /* list of numbers */
        "978-3-16-148410-0",           /* ISBN */
        "2023-10-05 12:30:00",         /* date and time */
        "4111 1111 1111 1111",         /* card-like groups */
        "555-1234",                    /* too few digits */
        "+1 555 123",                  /* too few digits */
        "+1234567890123456",           /* too many digits */
        "x=5551234567",                /* part of an expression */
        "0x5551234567",                /* hex literal */
        "0.86 0.73 0.92 0.94",         /* table of decimals */
        "535106705791912",             /* bare 15 digits */
        "0000000042",                  /* zero-padded id */
        "4.14.166-1 (2021-09-17)",     /* kernel version and date */
        "00 192.168.1.100   0",        /* log line */
        "1110111011101110111011101",   /* bit string */
        "0.0075-0.0125",               /* range */
        "555-123-4567-8901-2345-6789", /* too many digits */
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (wf_pii_has_phone(no[i], strlen(no[i])))
            fail_msg("false phone: %s", no[i]);
}

static void test_history_limit(void **state)
{
    fx *x = *state;
    assert_int_equal(check(x->f, (spec){.n_history = 20}), -1);
    assert_int_equal(check(x->f, (spec){.n_history = 21}), WF_DROP_HISTORY_TOO_LONG);
    assert_int_equal(check(x->f, (spec){.n_history = 0}), -1);
}

static void test_response_length(void **state)
{
    fx *x = *state;
    const char *r9 = "one two three four five six seven eight nine";
    assert_int_equal(check(x->f, (spec){.response = R10}), -1);
    assert_int_equal(check(x->f, (spec){.response = r9}), WF_DROP_RESPONSE_TOO_SHORT);
    /* punctuation alone is no word */
    assert_int_equal(check(x->f, (spec){.response = "one two three four five six seven eight nine "
                                                    "- !"}),
                     WF_DROP_RESPONSE_TOO_SHORT);
    /* refusals are exempt */
    assert_int_equal(check(x->f, (spec){.response = "I cannot help.", .refusal = 1}), -1);
    /* Chinese: 10 CJK characters */
    assert_int_equal(check(x->f, (spec){.response = "快速排序是一种分治法"}), -1);
    assert_int_equal(check(x->f, (spec){.response = "快速排序是一种分治"}),
                     WF_DROP_RESPONSE_TOO_SHORT);
    /* mixed, mostly CJK: 8 CJK + 2 words = 10 passes, 7 + 2 does not */
    assert_int_equal(check(x->f, (spec){.response = "用 numpy sort 函数排序就行了"}), -1);
    assert_int_equal(check(x->f, (spec){.response = "用 numpy sort 函数排序就行"}),
                     WF_DROP_RESPONSE_TOO_SHORT);
}

static void test_query_length(void **state)
{
    fx *x = *state;
    assert_int_equal(check(x->f, (spec){.query = "please explain how this works"}), -1);
    assert_int_equal(check(x->f, (spec){.query = "explain how this works"}),
                     WF_DROP_QUERY_TOO_SHORT);
    assert_int_equal(check(x->f, (spec){.query = "解释一下吧"}), -1);
    assert_int_equal(check(x->f, (spec){.query = "解释一下"}), WF_DROP_QUERY_TOO_SHORT);
    assert_int_equal(check(x->f, (spec){.query = ""}), WF_DROP_QUERY_TOO_SHORT);
}

static void test_thresholds_configurable(void **state)
{
    (void)state;
    const char *sets[] = {"filter.min_response_words=3", "filter.min_query_cjk_chars=2",
                          "filter.max_history_messages=1", NULL};
    fx *x = fixture_with(sets);
    assert_int_equal(check(x->f, (spec){.response = "one two three"}), -1);
    assert_int_equal(check(x->f, (spec){.response = "one two"}), WF_DROP_RESPONSE_TOO_SHORT);
    assert_int_equal(check(x->f, (spec){.query = "解释"}), -1);
    assert_int_equal(check(x->f, (spec){.query = "解"}), WF_DROP_QUERY_TOO_SHORT);
    assert_int_equal(check(x->f, (spec){.n_history = 2}), WF_DROP_HISTORY_TOO_LONG);
    fx_free(x);
    const char *phrases[] = {"filter.identity=[\"Tell Me A Secret\"]", "filter.audio_video=[]",
                             NULL};
    x = fixture_with(phrases);
    assert_int_equal(query_drop(x->f, "please tell me a secret right now"), WF_DROP_IDENTITY);
    assert_int_equal(query_drop(x->f, "who are you and what can you do"), -1);
    assert_int_equal(query_drop(x->f, "transcribe this audio clip for me"), -1);
    fx_free(x);
}

/* 5 query words + 10 response words + history words against the limit. */
static void test_text_length(void **state)
{
    (void)state;
    const char *sets[] = {"filter.max_text_words=30", NULL};
    fx *x = fixture_with(sets);
    assert_int_equal(check(x->f, (spec){.n_history = 3, .history_text = "a b c d e"}), -1);
    assert_int_equal(check(x->f, (spec){.n_history = 4, .history_text = "a b c d"}),
                     WF_DROP_TEXT_TOO_LONG);
    assert_int_equal(check(x->f, (spec){.n_history = 3, .history_text = "你好世界啊"}), -1);
    assert_int_equal(check(x->f, (spec){.n_history = 3, .history_text = "你好世界啊a"}),
                     WF_DROP_TEXT_TOO_LONG);
    fx_free(x);
}

/* The default limit of 4096 words, exactly at and one over. */
static void test_text_length_default(void **state)
{
    fx *x = *state;
    size_t words = 4096 - 5;
    char *resp = malloc(2 * (words + 1) + 1);
    for (size_t i = 0; i < words + 1; i++)
        memcpy(resp + 2 * i, "w ", 2);
    resp[2 * words] = '\0';
    assert_int_equal(check(x->f, (spec){.response = resp}), -1);
    resp[2 * words] = 'w';
    resp[2 * words + 1] = '\0';
    assert_int_equal(check(x->f, (spec){.response = resp}), WF_DROP_TEXT_TOO_LONG);
    free(resp);
}

static void test_enum_order(void **state)
{
    fx *x = *state;
    /* too much history, a short response and a short query: history first */
    assert_int_equal(check(x->f, (spec){.n_history = 22, .response = "ok", .query = "hi"}),
                     WF_DROP_HISTORY_TOO_LONG);
    assert_int_equal(check(x->f, (spec){.response = "ok", .query = "hi"}),
                     WF_DROP_RESPONSE_TOO_SHORT);
    /* a language drop comes before everything */
    assert_int_equal(check(x->f, (spec){.language = "German", .query = "who are you"}),
                     WF_DROP_LANGUAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_language_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_language_detected, setup, teardown),
        cmocka_unit_test(test_language_config),
        cmocka_unit_test_setup_teardown(test_phrase_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pii_filter, setup, teardown),
        cmocka_unit_test(test_email_scanner),
        cmocka_unit_test(test_phone_scanner),
        cmocka_unit_test_setup_teardown(test_history_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_length, setup, teardown),
        cmocka_unit_test(test_thresholds_configurable),
        cmocka_unit_test(test_text_length),
        cmocka_unit_test_setup_teardown(test_text_length_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
