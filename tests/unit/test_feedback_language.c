#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "feedback/language.h"

static const char *detect(const char *s)
{
    return wf_language_detect(s, strlen(s));
}

static void test_table(void **state)
{
    (void)state;
    static const struct {
        const char *text, *lang;
    } cases[] = {
        {"Can you write a poem about the sea?", "English"},
        {"Write a Python function that sorts a list", "English"},
        {"thanks", "English"},
        {"I don\xe2\x80\x99t think that's right", "English"},
        {"请帮我写一个Python函数，计算斐波那契数列", "Chinese"},
        {"這個答案不對，請再試一次", "Chinese"},
        {"what does 你好 mean in English?", "English"},
        {"解释一下 std::vector<int>::iterator 的用法", "Chinese"},
        {"これは何ですか？日本語で説明してください。", "Japanese"},
        {"東京の天気を教えて", "Japanese"},
        {"안녕하세요, 오늘 날씨 어때요?", "Korean"},
        {"Привет, как дела? Напиши стихотворение.", "Russian"},
        {"مرحبا، كيف حالك اليوم؟", "Arabic"},
        {"Bonjour, pouvez-vous m'aider avec mon devoir de français?", "Other"},
        {"Hola, ¿puedes ayudarme con la tarea de matemáticas?", "Other"},
        {"Kannst du mir bitte bei meinen Hausaufgaben helfen?", "Other"},
        {"Il a mangé une pomme et il a bu du lait ce matin avec son frère", "Other"},
        {"Ik was in de stad en het is daar mooi, maar de trein was te laat", "Other"},
        {"Non so se ho tempo domani, ma in ogni caso ti chiamo in serata", "Other"},
        {"import numpy as np\nfor i in range(10):\n    print(np.sqrt(i))  # print the roots",
         "English"},
        {"12345 + 678 = ?", "Other"},
        {"", "Other"},
        {"   \n\t", "Other"},
        {"\xf0\x9f\x98\x80\xf0\x9f\x98\x80", "Other"}, /* emoji only */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = detect(cases[i].text);
        if (strcmp(got, cases[i].lang) != 0)
            fail_msg("case %zu \"%s\": got %s, want %s", i, cases[i].text, got, cases[i].lang);
    }
}

/* English evidence is one function word in ten Latin words: exactly at the
 * threshold is English, just under is not. */
static void test_english_threshold(void **state)
{
    (void)state;
    assert_string_equal(detect("the q1 q2 q3 q4 q5 q6 q7 q8 q9"), "English");   /* 1 of 10 */
    assert_string_equal(detect("the q1 q2 q3 q4 q5 q6 q7 q8 q9 q10"), "Other"); /* 1 of 11 */
    assert_string_equal(detect("THE q1 q2 q3 q4 q5 q6 q7 q8 q9"), "English");   /* case */
    assert_string_equal(detect("theory q1 q2 q3 q4 q5 q6 q7 q8 q9"), "Other");  /* whole words */
    /* words shared with other languages are no evidence */
    assert_string_equal(detect("a in no me was on do so as at"), "Other");
}

/* Scripts are weighed 3 Latin letters per Han character. */
static void test_script_weights(void **state)
{
    (void)state;
    /* 2 Han (weight 6) against 5 Latin letters in one English word */
    assert_string_equal(detect("中文 about"), "Chinese");
    /* 2 Han (6) against 7 Latin letters */
    assert_string_equal(detect("中文 the word"), "English");
    /* a kana share of 10% of the CJK characters makes it Japanese */
    assert_string_equal(detect("の中中中中中中中中中"), "Japanese");  /* 1 of 10 */
    assert_string_equal(detect("の中中中中中中中中中中"), "Chinese"); /* 1 of 11 */
}

/* Only the first 2 KiB are read. */
static void test_prefix_only(void **state)
{
    (void)state;
    size_t n = 2048 + 3000;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < 2048; i += 4)
        memcpy(s + i, "the ", 4);
    for (size_t i = 2048; i < n; i += 3)
        memcpy(s + i, "中", 3);
    s[n] = '\0';
    assert_string_equal(wf_language_detect(s, n), "English");
    assert_string_equal(wf_language_detect(s + 2048, n - 2048), "Chinese");
    free(s);
}

/* Truncated or invalid UTF-8 is tolerated (a 2 KiB cut may split a
 * character). */
static void test_invalid_utf8(void **state)
{
    (void)state;
    assert_string_equal(wf_language_detect("你好世界\xe4\xbd", 14), "Chinese");
    assert_string_equal(detect("\xff\xfe hello there"), "English");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),          cmocka_unit_test(test_english_threshold),
        cmocka_unit_test(test_script_weights), cmocka_unit_test(test_prefix_only),
        cmocka_unit_test(test_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
