/* The linear model's features and scoring: token counts per namespace,
 * case folding, CJK characters, dense features, template splitting, and
 * logits against hand-computed values for both heads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_linear/features.h"
#include "model_linear/linear_internal.h"
#include "testutil.h"

#define BITS 12
#define MAXF 64

/* Records what the extractor emits. */
typedef struct rec {
    wf_lin_sink base;
    uint32_t idx[2][MAXF];
    size_t n[2], count[2];
    int ns;
    float dense[WF_LIN_DENSE];
    int n_dense;
} rec;

static void r_chunk(wf_lin_sink *s, const uint32_t *idx, size_t n)
{
    rec *r = (rec *)s;
    for (size_t i = 0; i < n; i++)
        if (r->n[r->ns] < MAXF)
            r->idx[r->ns][r->n[r->ns]++] = idx[i];
}

static void r_end(wf_lin_sink *s, size_t count)
{
    rec *r = (rec *)s;
    r->count[r->ns++] = count;
}

static void r_dense(wf_lin_sink *s, uint32_t idx, float v)
{
    rec *r = (rec *)s;
    assert_int_equal(idx, (1u << BITS) + (uint32_t)r->n_dense);
    r->dense[r->n_dense++] = v;
}

static void extract(const char *q, const char *resp, rec *r)
{
    memset(r, 0, sizeof *r);
    r->base = (wf_lin_sink){r_chunk, r_end, r_dense};
    wf_lin_extract(BITS, q, strlen(q), resp, strlen(resp), &r->base);
    assert_int_equal(r->ns, 2);
    assert_int_equal(r->n_dense, WF_LIN_DENSE);
    for (int ns = 0; ns < 2; ns++)
        for (size_t i = 0; i < r->n[ns]; i++)
            assert_true(r->idx[ns][i] < (1u << BITS));
}

static void test_counts_words_and_bigrams(void **state)
{
    (void)state;
    rec r;
    /* 2 words: 2 unigrams + 1 bigram; 4 words: 4 + 3. */
    extract("Hello, world!", "this is the answer", &r);
    assert_int_equal(r.count[0], 3);
    assert_int_equal(r.count[1], 7);
    extract("", "", &r);
    assert_int_equal(r.count[0], 0);
    assert_int_equal(r.count[1], 0);
    /* Four CJK characters: 4 unigrams + 3 bigrams; the mixed text adds the
     * word "ok" before them as a fifth token. */
    extract("\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c",
            "ok \xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c", &r);
    assert_int_equal(r.count[0], 7);
    assert_int_equal(r.count[1], 9);
}

static void test_case_folding_and_namespaces(void **state)
{
    (void)state;
    rec a, b;
    extract("HELLO World", "Caf\xc3\x89 ok", &a);
    extract("hello world", "caf\xc3\xa9 ok", &b);
    assert_memory_equal(a.idx, b.idx, sizeof a.idx);
    /* The same words in the other namespace hash elsewhere. */
    extract("caf\xc3\xa9 ok", "hello world", &b);
    assert_int_not_equal(a.idx[0][0], b.idx[1][0]);
    assert_int_equal(a.idx[0][0] == b.idx[1][0] && a.idx[0][1] == b.idx[1][1], 0);
    /* Word order changes the bigram only. */
    extract("world hello", "", &b);
    assert_int_equal(b.count[0], 3);
    assert_int_equal(a.idx[0][0], b.idx[0][1]);
    assert_int_equal(a.idx[0][1], b.idx[0][0]);
    assert_int_not_equal(a.idx[0][2], b.idx[0][2]);
}

static void test_dense(void **state)
{
    (void)state;
    rec r;
    extract("why? how?", "I cannot help with that.\n```\ncode\n```\nok?", &r);
    assert_float_equal(r.dense[0], log1p(2.0) / 5.0, 1e-6); /* query tokens */
    assert_float_equal(r.dense[1], log1p(7.0) / 5.0, 1e-6); /* response tokens */
    assert_float_equal(r.dense[2], log(8.0 / 3.0) / 3.0, 1e-6);
    assert_float_equal(r.dense[3], 1.0, 0);    /* code fence */
    assert_float_equal(r.dense[4], 1.0, 0);    /* refusal marker */
    assert_float_equal(r.dense[5], 0.2, 1e-6); /* one '?' of 5 */
    assert_float_equal(r.dense[6], 0.4, 1e-6);
    assert_float_equal(r.dense[7], log1p(4.0) / 4.0, 1e-6); /* newlines */
    extract("q", "Sure, here it is.", &r);
    assert_float_equal(r.dense[3], 0.0, 0);
    assert_float_equal(r.dense[4], 0.0, 0);
    extract("q", "\xe6\x8a\xb1\xe6\xad\x89\xef\xbc\x8c\xe4\xb8\x8d\xe8\xa1\x8c\xef\xbc\x9f", &r);
    assert_float_equal(r.dense[4], 1.0, 0);    /* 抱歉 */
    assert_float_equal(r.dense[5], 0.2, 1e-6); /* full-width ？ */
}

static void test_split_text(void **state)
{
    (void)state;
    const char *t = "# Input Data\n## Context (History)\nNo previous context.\n\n"
                    "## User Query\n2+2?\n\n## Assistant Response\n4.\n\n# Output\n"
                    "Based on the criteria above";
    const char *q, *r;
    size_t ql, rl;
    wf_lin_split_text(t, strlen(t), &q, &ql, &r, &rl);
    assert_int_equal(ql, 4);
    assert_memory_equal(q, "2+2?", 4);
    assert_int_equal(rl, 2);
    assert_memory_equal(r, "4.", 2);
    /* A response quoting the output header is read to the last one. */
    const char *t2 = "x\n## User Query\n\n\n## Assistant Response\nA\n\n# Output\nB\n\n# Output\nz";
    wf_lin_split_text(t2, strlen(t2), &q, &ql, &r, &rl);
    assert_int_equal(ql, 0);
    assert_int_equal(rl, strlen("A\n\n# Output\nB"));
    /* No sections: the whole text is the response. */
    wf_lin_split_text("just text", 9, &q, &ql, &r, &rl);
    assert_int_equal(ql, 0);
    assert_int_equal(rl, 9);
    /* Headers overlapping on one newline are no sections either (the query
     * used to come out at SIZE_MAX bytes). */
    const char *t3 = "\n## User Query\n\n## Assistant Response\nabc";
    wf_lin_split_text(t3, strlen(t3), &q, &ql, &r, &rl);
    assert_int_equal(ql, 0);
    assert_ptr_equal(r, t3);
    assert_int_equal(rl, strlen(t3));
}

/* All hashed weights 1: a namespace of n features adds n / sqrt(n). */
static void test_hand_computed_logits(void **state)
{
    (void)state;
    for (int head = WF_HEAD_CORAL; head <= WF_HEAD_INDEPENDENT; head++) {
        wf_lin *l = wf_lin_new((wf_head_kind)head, BITS);
        for (int k = 0; k < l->n_vec; k++)
            for (size_t i = 0; i < ((size_t)1 << BITS); i++)
                l->w[(size_t)k * l->dim + i] = (float)(k + 1);
        l->w[(1u << BITS) + 3] = 2.0f; /* code fence, vector 0 */
        l->b[0] = 1.0f;
        l->b[1] = 0.0f;
        l->b[2] = -1.0f;
        wf_model *m = wf_lin_wrap(l, (wf_head_kind)head);
        wf_model_input in = {.query = "hello world", .response = "see ``` this"};
        float z[WF_LOGITS];
        wf_error err = {0};
        assert_int_equal(wf_model_score(m, &in, 1, z, &err), 0);
        double s = sqrt(3.0) + sqrt(3.0); /* 3 features each side */
        for (int k = 0; k < WF_LOGITS; k++) {
            double mult = head == WF_HEAD_CORAL ? 1.0 : k + 1.0;
            double code = k == 0 || head == WF_HEAD_CORAL ? 2.0 : 0.0;
            assert_float_equal(z[k], mult * s + code + (1.0 - k), 1e-5);
        }
        if (head == WF_HEAD_CORAL)
            assert_float_equal(wf_reward(z),
                               1.0 + 1 / (1 + exp(-(s + 3))) + 1 / (1 + exp(-(s + 2))) +
                                   1 / (1 + exp(-(s + 1))),
                               1e-5);
        wf_model_free(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_words_and_bigrams),
        cmocka_unit_test(test_case_folding_and_namespaces),
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_split_text),
        cmocka_unit_test(test_hand_computed_logits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
