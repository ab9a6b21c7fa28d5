#include "testutil.h"

#include <string.h>

#include "wildfeed/text.h"

static int valid(const char *s)
{
    return wf_utf8_valid(s, strlen(s));
}

static void test_valid_accepts_well_formed(void **state)
{
    (void)state;
    assert_int_equal(wf_utf8_valid("", 0), 1);
    assert_int_equal(valid("plain ascii text that is longer than eight bytes"), 1);
    assert_int_equal(valid("caf\xc3\xa9"), 1);              /* é */
    assert_int_equal(valid("\xe4\xbd\xa0\xe5\xa5\xbd"), 1); /* 你好 */
    assert_int_equal(valid("\xf0\x9f\x98\x80"), 1);         /* U+1F600 */
    assert_int_equal(valid("\xc2\x80"), 1);                 /* U+0080, smallest 2-byte */
    assert_int_equal(valid("\xe0\xa0\x80"), 1);             /* U+0800, smallest 3-byte */
    assert_int_equal(valid("\xed\x9f\xbf"), 1);             /* U+D7FF, below surrogates */
    assert_int_equal(valid("\xee\x80\x80"), 1);             /* U+E000, above surrogates */
    assert_int_equal(valid("\xf0\x90\x80\x80"), 1);         /* U+10000 */
    assert_int_equal(valid("\xf4\x8f\xbf\xbf"), 1);         /* U+10FFFF */
    assert_int_equal(valid("0123456\xc3\xa9"
                           "0123456789abcdef"),
                     1); /* multibyte across a word */
    /* An embedded NUL is a valid code point when the length includes it. */
    assert_int_equal(wf_utf8_valid("a\0b", 3), 1);
}

static void test_valid_rejects_malformed(void **state)
{
    (void)state;
    assert_int_equal(valid("\x80"), 0);             /* lone continuation byte */
    assert_int_equal(valid("abcdefgh\xbf"), 0);     /* continuation after the fast path */
    assert_int_equal(valid("\xc0\xaf"), 0);         /* overlong '/' */
    assert_int_equal(valid("\xc1\xbf"), 0);         /* overlong 2-byte */
    assert_int_equal(valid("\xe0\x80\xaf"), 0);     /* overlong 3-byte */
    assert_int_equal(valid("\xe0\x9f\xbf"), 0);     /* overlong U+07FF */
    assert_int_equal(valid("\xf0\x80\x80\xaf"), 0); /* overlong 4-byte */
    assert_int_equal(valid("\xf0\x8f\xbf\xbf"), 0); /* overlong U+FFFF */
    assert_int_equal(valid("\xed\xa0\x80"), 0);     /* U+D800 surrogate */
    assert_int_equal(valid("\xed\xbf\xbf"), 0);     /* U+DFFF surrogate */
    assert_int_equal(valid("\xf4\x90\x80\x80"), 0); /* U+110000 */
    assert_int_equal(valid("\xf5\x80\x80\x80"), 0); /* lead byte F5 */
    assert_int_equal(valid("\xff"), 0);
    assert_int_equal(valid("\xfe"), 0);
    assert_int_equal(valid("\xc3"), 0);         /* truncated 2-byte */
    assert_int_equal(valid("\xe4\xbd"), 0);     /* truncated 3-byte */
    assert_int_equal(valid("\xf0\x9f\x98"), 0); /* truncated 4-byte */
    assert_int_equal(valid("\xe4\x41\xbd"), 0); /* ASCII inside a sequence */
    assert_int_equal(valid("\xc3\xc3\xa9"), 0); /* lead byte where continuation expected */
    /* The length bounds the scan: a valid sequence cut by n is truncated. */
    assert_int_equal(wf_utf8_valid("\xe4\xbd\xa0", 2), 0);
    assert_int_equal(wf_utf8_valid("ab\xff", 2), 1);
}

static void test_valid_long_mixed_input(void **state)
{
    (void)state;
    char buf[300];
    size_t n = 0;
    while (n + 3 <= sizeof buf) {
        memcpy(buf + n, (n / 3) % 5 ? "abc" : "\xe4\xbd\xa0", 3);
        n += 3;
    }
    assert_int_equal(wf_utf8_valid(buf, n), 1);
    for (size_t pos = 0; pos < n; pos += 37) {
        char saved = buf[pos];
        buf[pos] = (char)0xff;
        assert_int_equal(wf_utf8_valid(buf, n), 0);
        buf[pos] = saved;
    }
}

static void test_decode(void **state)
{
    (void)state;
    size_t len;
    assert_int_equal(wf_utf8_decode("A", 1, &len), 'A');
    assert_int_equal(len, 1);
    assert_int_equal(wf_utf8_decode("\xc3\xa9", 2, &len), 0xE9);
    assert_int_equal(len, 2);
    assert_int_equal(wf_utf8_decode("\xe4\xbd\xa0", 3, &len), 0x4F60);
    assert_int_equal(len, 3);
    assert_int_equal(wf_utf8_decode("\xf0\x9f\x98\x80", 4, &len), 0x1F600);
    assert_int_equal(len, 4);
    assert_int_equal(wf_utf8_decode("\xf4\x8f\xbf\xbf", 4, &len), 0x10FFFF);
    assert_int_equal(len, 4);
    /* Invalid input decodes as U+FFFD and consumes one byte. */
    assert_int_equal(wf_utf8_decode("\xc0\xaf", 2, &len), 0xFFFD);
    assert_int_equal(len, 1);
    assert_int_equal(wf_utf8_decode("\xed\xa0\x80", 3, &len), 0xFFFD);
    assert_int_equal(len, 1);
    assert_int_equal(wf_utf8_decode("\xe4\xbd\xa0", 2, &len), 0xFFFD);
    assert_int_equal(len, 1);
    assert_int_equal(wf_utf8_decode("\x80", 1, &len), 0xFFFD);
    assert_int_equal(len, 1);
    assert_int_equal(wf_utf8_decode("", 0, &len), 0xFFFD);
    assert_int_equal(len, 0);
}

static void test_is_cjk(void **state)
{
    (void)state;
    static const uint32_t yes[] = {0x4E00,  0x9FFF,  0x4F60,  0x3400, 0x4DBF, 0x20000,
                                   0x2A6DF, 0x2B740, 0x30000, 0xF900, 0x3041, 0x3093,
                                   0x30A2,  0x30FC,  0x31F0,  0xFF71, 0x3005, 0x3007};
    static const uint32_t no[] = {0x3004, 0x3008, 0x3040, 0x30A0, 'a',    0xE9,   0x3000,  0x3001,
                                  0x3002, 0x300C, 0x30FB, 0xFF0C, 0xFF01, 0xFF21, 0xFF65,  0xAC00,
                                  0xD7A3, 0x1100, 0x2E80, 0x2F00, 0x4DC0, 0xA000, 0x1F600, 0x40000};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(wf_is_cjk(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(wf_is_cjk(no[i]));
}

static wf_text_stats stats(const char *s)
{
    wf_text_stats st;
    wf_text_stats_compute(s, strlen(s), &st);
    return st;
}

static void test_stats_english(void **state)
{
    (void)state;
    wf_text_stats st = stats("  Hello, world!\tThis is\na test. ");
    assert_int_equal(st.words, 6);
    assert_int_equal(st.cjk_chars, 0);
    assert_int_equal(st.chars, 32);
    assert_int_equal(st.latin_letters, 21);

    st = stats("");
    assert_int_equal(st.words, 0);
    assert_int_equal(st.chars, 0);

    /* Punctuation-only runs are not words; punctuation inside a run is. */
    st = stats("well - it's ... e-mail --> ok");
    assert_int_equal(st.words, 4);
    assert_int_equal(st.chars, 29);
    assert_int_equal(st.latin_letters, 14);

    st = stats("Ça coûte 3 €"); /* the euro sign is a symbol but not punctuation here */
    assert_int_equal(st.words, 4);
    assert_int_equal(st.chars, 12);
    assert_int_equal(st.latin_letters, 7);
}

static void test_stats_chinese_and_mixed(void **state)
{
    (void)state;
    wf_text_stats st = stats("你好，世界。");
    assert_int_equal(st.words, 0);
    assert_int_equal(st.cjk_chars, 4);
    assert_int_equal(st.chars, 6);
    assert_int_equal(st.latin_letters, 0);

    /* CJK characters end a run of Latin text. */
    st = stats("用Python写一个sort函数 please");
    assert_int_equal(st.words, 3);
    assert_int_equal(st.cjk_chars, 6);
    assert_int_equal(st.chars, 23);
    assert_int_equal(st.latin_letters, 16);

    st = stats("ひらがなとカタカナ・テスト");
    assert_int_equal(st.words, 0);
    assert_int_equal(st.cjk_chars, 12);
    assert_int_equal(st.chars, 13);

    /* Ideographic space and no-break space separate words. */
    st = stats("one\xe3\x80\x80two\xc2\xa0three");
    assert_int_equal(st.words, 3);
    assert_int_equal(st.chars, 13);

    /* Korean is spaced, so Hangul syllables form words. */
    st = stats("안녕하세요 세계");
    assert_int_equal(st.words, 2);
    assert_int_equal(st.cjk_chars, 0);
}

static void test_stats_invalid_bytes(void **state)
{
    (void)state;
    wf_text_stats st = stats("ab\xff\xfe cd");
    assert_int_equal(st.words, 2);
    assert_int_equal(st.chars, 7);
    assert_int_equal(st.latin_letters, 4);
}

static void check_lower(const char *in, const char *want)
{
    char out[128];
    size_t n = strlen(in);
    assert_true(n < sizeof out);
    memset(out, 'x', sizeof out);
    wf_text_lower(in, n, out);
    assert_string_equal(out, want);
    assert_int_equal(strlen(out), n);
}

static void test_lower(void **state)
{
    (void)state;
    check_lower("", "");
    check_lower("Hello WORLD 123 [Z]@", "hello world 123 [z]@");
    check_lower("ÀÉÎÕÜ ÇÑ Þ ß ×", "àéîõü çñ þ ß ×");
    check_lower("ĀĂĄĆ ŁŃŇ ŒŠŸ ŹŻŽ", "āăąć łńň œšÿ źżž");
    check_lower("āłž ı ĸ ſ", "āłž ı ĸ ſ");
    check_lower("İ", "İ"); /* folding would change the length */
    check_lower("ΑΒΓ Привет 你好", "ΑΒΓ Привет 你好");
    check_lower("A\xff\xc3"
                "B",
                "a\xff\xc3"
                "b");
    check_lower("\xc3\x89\xe4\xbd", "\xc3\xa9\xe4\xbd");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_accepts_well_formed),
        cmocka_unit_test(test_valid_rejects_malformed),
        cmocka_unit_test(test_valid_long_mixed_input),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_is_cjk),
        cmocka_unit_test(test_stats_english),
        cmocka_unit_test(test_stats_chinese_and_mixed),
        cmocka_unit_test(test_stats_invalid_bytes),
        cmocka_unit_test(test_lower),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
