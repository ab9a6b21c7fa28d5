/* The byte-level BPE tokenizer on the hand-written fixtures of
 * tests/fixtures/tokenizer (see make_fixtures.py): merges by rank, added
 * tokens, whitespace runs, CJK, emoji, NFC, byte fallback, the Llama-3 digit
 * rule, decoding, lookups, load errors and the tokenize line loop. In
 * tokenizer.json byte b has id b, so expected ids read as bytes. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/tokenizer.h"
#include "testutil.h"

static wf_tokenizer *load(const char *name)
{
    wf_tokenizer *t = NULL;
    wf_error err = {0};
    int rc = wf_tokenizer_load(wf_test_fixture(name), &t, &err);
    if (rc != 0)
        fail_msg("load %s: %s", name, err.msg);
    return t;
}

/* Encodes text (n bytes) and compares with the n_exp expected ids. */
static void expect_ids(wf_tokenizer *t, const char *text, size_t n, const int32_t *exp,
                       size_t n_exp)
{
    wf_token_ids ids = {0};
    wf_error err = {0};
    assert_int_equal(wf_tokenizer_encode(t, text, n, &ids, &err), 0);
    int same = ids.len == n_exp && memcmp(ids.ids, exp, n_exp * sizeof *exp) == 0;
    if (!same) {
        char got[512] = "";
        for (size_t i = 0; i < ids.len && strlen(got) < 480; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%d,", ids.ids[i]);
        fail_msg("text '%.*s': got [%s] (%zu ids, want %zu)", (int)n, text, got, ids.len, n_exp);
    }
    wf_token_ids_free(&ids);
}

#define EXPECT(t, text, ...)                                                                       \
    do {                                                                                           \
        const int32_t exp_[] = {__VA_ARGS__};                                                      \
        expect_ids(t, text, sizeof(text) - 1, exp_, sizeof exp_ / sizeof exp_[0]);                 \
    } while (0)

static void test_merges_by_rank(void **state)
{
    (void)state;
    wf_tokenizer *t = load("tokenizer/tokenizer.json");
    EXPECT(t, "hello world", 259, 265);
    EXPECT(t, "hello", 259);
    EXPECT(t, "aaa", 271, 'a'); /* equal ranks: leftmost pair first */
    EXPECT(t, "aaaa", 271, 271);
    EXPECT(t, "bcd", 'b', 272);       /* "c d" outranks "b c" */
    EXPECT(t, "it's", 'i', 't', 270); /* contraction is its own pre-token */
    EXPECT(t, "IT'S", 'I', 'T', '\'', 'S');
    EXPECT(t, "x\"y", 'x', '"', 'y');
    wf_tokenizer_free(t);
}

static void test_long_word(void **state)
{
    (void)state;
    wf_tokenizer *t = load("tokenizer/tokenizer.json");
    char text[1001];
    memset(text, 'a', 1000);
    text[1000] = 0;
    int32_t exp[500];
    for (int i = 0; i < 500; i++)
        exp[i] = 271;
    expect_ids(t, text, 1000, exp, 500);
    expect_ids(t, text, 1000, exp, 500);
    wf_tokenizer_free(t);
}

static void test_added_tokens(void **state)
{
    (void)state;
    wf_tokenizer *t = load("tokenizer/tokenizer.json");
    EXPECT(t, "<sep><sep><sep>", 302, 301); /* longest first */
    EXPECT(t, "<|end|>hello", 300, 259);
    EXPECT(t, "hello<|end|> world", 259, 300, 265);
    EXPECT(t, "<se", '<', 's', 'e');
    EXPECT(t, "<|end|", '<', '|', 'e', 'n', 'd', '|');
    wf_tokenizer_free(t);
}

static void test_whitespace_runs(void **state)
{
    (void)state;
    wf_tokenizer *t = load("tokenizer/tokenizer.json");
    /* A run before a word leaves its last space to the word. */
    EXPECT(t, "  hello", ' ', 260);
    EXPECT(t, "    world", 267 - 1, ' ', 265);
    /* Newlines end a run; a trailing run stays whole. */
    EXPECT(t, "a  \n\n  b   ", 'a', 266, '\n', '\n', ' ', ' ', 'b', 266, ' ');
    EXPECT(t, "\t\tx", '\t', '\t', 'x');
    EXPECT(t, "\r\n", '\r', '\n');
    EXPECT(t, "    ", 267);
    /* U+3000 is whitespace: e3 80 80. */
    EXPECT(t, "\xe3\x80\x80\xe3\x80\x80!", 0xe3, 0x80, 0x80, 0xe3, 0x80, 0x80, '!');
    wf_tokenizer_free(t);
}

static void test_cjk_emoji_numbers(void **state)
{
    (void)state;
    wf_tokenizer *t = load("tokenizer/tokenizer.json");
    EXPECT(t, "中中", 269, 269);
    EXPECT(t, " 中", ' ', 269);
    EXPECT(t, "\xf0\x9f\x98\x80", 0xf0, 0x9f, 0x98, 0x80);
    /* The emoji is the optional lead of the letter run: one pre-token. */
    EXPECT(t, "\xf0\x9f\x98\x80hello", 0xf0, 0x9f, 0x98, 0x80, 259);
    EXPECT(t, "\xf0\x9f\x98\x80 hello", 0xf0, 0x9f, 0x98, 0x80, 260);
    EXPECT(t, "123", '1', '2', '3'); /* Qwen2: one digit per pre-token */
    wf_tokenizer_free(t);
}

static void test_nfc(void **state)
{
    (void)state;
    wf_tokenizer *t = load("tokenizer/tokenizer.json");
    EXPECT(t, "e\xcc\x81x", 0xc3, 0xa9, 'x');                /* e + U+0301 -> U+00E9 */
    EXPECT(t, "\xe2\x84\xab", 0xc3, 0x85);                   /* U+212B -> U+00C5 */
    EXPECT(t, "\xe1\x84\x80\xe1\x85\xa1", 0xea, 0xb0, 0x80); /* jamo -> U+AC00 */
    /* q + U+0307 + U+0323: reordered by class, nothing to compose. */
    EXPECT(t, "q\xcc\x87\xcc\xa3", 'q', 0xcc, 0xa3, 0xcc, 0x87);
    wf_tokenizer_free(t);
}

static void test_invalid_utf8_passes_through(void **state)
{
    (void)state;
    wf_tokenizer *t = load("tokenizer/tokenizer.json");
    EXPECT(t,
           "a\xff"
           "b",
           'a', 0xff, 'b');
    EXPECT(t, "\xe4\xb8", 268); /* a truncated 中 still merges as bytes */
    wf_tokenizer_free(t);
}

static void test_fallback_unk_and_digits(void **state)
{
    (void)state;
    wf_tokenizer *t = load("tokenizer/fallback.json");
    /* ab, "\n" via <0x0A>, "!" has no token nor fallback: unk; Llama-3
     * groups digits by three. */
    EXPECT(t, "ab\n!12345 6", 42, 38, 0, 40, 41, 37, 33);
    /* ignore_merges: a pre-token in the vocabulary is taken whole, even
     * where no merge leads to it. */
    EXPECT(t, "abc", 43);
    EXPECT(t, "abd", 42, 4);
    assert_int_equal(wf_tokenizer_pad_id(t), -1);
    assert_int_equal(wf_tokenizer_vocab_size(t), 44);
    wf_tokenizer_free(t);
}

static void test_decode_and_lookups(void **state)
{
    (void)state;
    wf_tokenizer *t = load("tokenizer/tokenizer.json");
    const int32_t ids[] = {300, 259, 265, 0xe4, 0xb8, 0xad, 269};
    wf_strbuf out;
    wf_strbuf_init(&out);
    wf_error err = {0};
    assert_int_equal(wf_tokenizer_decode(t, ids, 7, &out, &err), 0);
    assert_string_equal(out.data, "<|end|>hello world中中");
    const int32_t bad[] = {259, 290};
    assert_int_equal(wf_tokenizer_decode(t, bad, 2, &out, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "290"));
    wf_strbuf_free(&out);
    assert_int_equal(wf_tokenizer_token_to_id(t, "\xc4\xa0world", 7), 265);
    assert_int_equal(wf_tokenizer_token_to_id(t, "<sep>", 5), 301);
    assert_int_equal(wf_tokenizer_token_to_id(t, "zzz", 3), -1);
    assert_int_equal(wf_tokenizer_vocab_size(t), 303);
    assert_int_equal(wf_tokenizer_pad_id(t), 300);
    wf_tokenizer_free(t);
}

/* Encodes the same text many times, failing on any difference from the
 * first result: the shared merge cache must not mix words up. */
static void *encode_repeatedly(void *arg)
{
    wf_tokenizer *t = arg;
    static const char text[] = "hello world \xe4\xb8\xad\xe4\xb8\xad aaaa bcd it's    ";
    const int32_t want[] = {259, 265, ' ', 269, 269, ' ', 271, 271,
                            ' ', 'b', 272, ' ', 'i', 't', 270, 267};
    wf_token_ids ids = {0};
    long bad = 0;
    for (int i = 0; i < 2000; i++) {
        ids.len = 0;
        if (wf_tokenizer_encode(t, text, sizeof text - 1, &ids, NULL) != 0 ||
            ids.len != sizeof want / sizeof want[0] || memcmp(ids.ids, want, sizeof want) != 0)
            bad++;
    }
    wf_token_ids_free(&ids);
    return (void *)bad;
}

static void test_concurrent_encode(void **state)
{
    (void)state;
    wf_tokenizer *t = load("tokenizer/tokenizer.json");
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, encode_repeatedly, t), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(th[i], &bad);
        assert_int_equal((long)bad, 0);
    }
    wf_tokenizer_free(t);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_pad_from_tokenizer_config(void **state)
{
    (void)state;
    size_t n;
    char *json = wf_test_read_file(wf_test_fixture("tokenizer/fallback.json"), &n);
    assert_non_null(json);
    char path[4200];
    const char *dir = wf_test_tmpdir();
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    write_file(path, json);
    free(json);
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", dir);
    write_file(cfg, "{\"pad_token\": {\"content\": \"<unk>\"}}");
    wf_tokenizer *t = NULL;
    wf_error err = {0};
    assert_int_equal(wf_tokenizer_load(path, &t, &err), 0);
    assert_int_equal(wf_tokenizer_pad_id(t), 0);
    wf_tokenizer_free(t);
}

/* Loads a variant of fallback.json with `from` replaced by `to`. */
static int load_variant(const char *from, const char *to, wf_error *err)
{
    size_t n;
    char *json = wf_test_read_file(wf_test_fixture("tokenizer/fallback.json"), &n);
    assert_non_null(json);
    char *at = strstr(json, from);
    if (!at)
        fail_msg("fixture lacks '%s'", from);
    char *edited = malloc(n + strlen(to) + 1);
    size_t head = (size_t)(at - json);
    memcpy(edited, json, head);
    strcpy(edited + head, to);
    strcat(edited, at + strlen(from));
    char path[4200];
    snprintf(path, sizeof path, "%s/variant.json", wf_test_tmpdir());
    write_file(path, edited);
    free(json);
    free(edited);
    wf_tokenizer *t = (wf_tokenizer *)1;
    int rc = wf_tokenizer_load(path, &t, err);
    if (rc == 0)
        wf_tokenizer_free(t);
    else
        assert_null(t);
    return rc;
}

static void test_load_errors(void **state)
{
    (void)state;
    wf_error err = {0};
    assert_int_equal(load_variant("\\\\p{N}{1,3}", "\\\\d+", &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "pattern"));
    assert_int_equal(load_variant("\"4 5\"", "\"4 x5\"", &err), WF_EPARSE);
    assert_non_null(strstr(err.msg, "merge 2"));
    assert_int_equal(load_variant("\"BPE\"", "\"WordPiece\"", &err), WF_EINVAL);
    assert_int_equal(
        load_variant("\"normalizer\": null", "\"normalizer\": {\"type\": \"NFKC\"}", &err),
        WF_EINVAL);
    assert_int_equal(
        load_variant("\"add_prefix_space\": false", "\"add_prefix_space\": true", &err), WF_EINVAL);
    assert_int_equal(load_variant("\"vocab\": {", "\"vocab\": [", &err), WF_EPARSE);
    wf_tokenizer *t = (wf_tokenizer *)1;
    assert_int_equal(wf_tokenizer_load("/nonexistent/tokenizer.json", &t, &err), WF_EPARSE);
    assert_null(t);
}

static void test_encode_lines(void **state)
{
    (void)state;
    wf_tokenizer *t = load("tokenizer/tokenizer.json");
    char in_text[] = "\"hello world\"\n\"\"\n\"<sep>\\u4e2d\\n\"\n";
    FILE *in = fmemopen(in_text, strlen(in_text), "r");
    char *out_text = NULL;
    size_t out_len = 0;
    FILE *out = open_memstream(&out_text, &out_len);
    wf_error err = {0};
    assert_int_equal(wf_tokenizer_encode_lines(t, in, out, &err), 0);
    fclose(out);
    fclose(in);
    assert_string_equal(out_text, "[259,265]\n[]\n[301,269,10]\n");
    free(out_text);

    char bad[] = "\"ok\"\n{\"not\": \"a string\"}\n";
    in = fmemopen(bad, strlen(bad), "r");
    out = open_memstream(&out_text, &out_len);
    assert_int_equal(wf_tokenizer_encode_lines(t, in, out, &err), WF_EPARSE);
    fclose(out);
    fclose(in);
    assert_string_equal(out_text, "[111,107]\n");
    assert_string_equal(err.msg, "line 2: not a JSON string");
    free(out_text);
    wf_tokenizer_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merges_by_rank),
        cmocka_unit_test(test_long_word),
        cmocka_unit_test(test_added_tokens),
        cmocka_unit_test(test_whitespace_runs),
        cmocka_unit_test(test_cjk_emoji_numbers),
        cmocka_unit_test(test_nfc),
        cmocka_unit_test(test_invalid_utf8_passes_through),
        cmocka_unit_test(test_fallback_unk_and_digits),
        cmocka_unit_test(test_decode_and_lookups),
        cmocka_unit_test(test_concurrent_encode),
        cmocka_unit_test(test_pad_from_tokenizer_config),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_encode_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
