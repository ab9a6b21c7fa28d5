/* wf-transformer-fixture BASE_DIR TOKENIZER_JSON STORE N: the inputs of
 * tests/cli/transformer_train.sh. Writes a tiny random Qwen3 model
 * (config.json, model.safetensors) and a copy of TOKENIZER_JSON into the
 * existing BASE_DIR, and N labelled samples into the store STORE (every
 * fifth in the eval split), whose responses carry their label in a word so
 * that training has something to learn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_model_transformer_tiny.h"
#include "wildfeed/sample.h"
#include "wildfeed/store.h"

static int put(wf_store *st, int i, wf_error *err)
{
    static const char *const words[] = {"wrong bad", "unclear meh", "fine okay", "great thanks"};
    static const int annotation[] = {1, 2, 4, 5};
    char conv[32], response[64];
    snprintf(conv, sizeof conv, "conv%03d", i);
    snprintf(response, sizeof response, "reply %d: %s", i, words[i % 4]);
    wf_candidate_parts p = {.conversation_id = conv,
                            .response_turn = 1,
                            .user_id = i % 3 ? "u1" : "u2",
                            .language = "English",
                            .model = "m1",
                            .created_at = 1764133200 + i,
                            .query = "How do I do it?",
                            .response = response,
                            .feedback = "ok"};
    wf_sample s = {.cand = wf_candidate_new(&p),
                   .annotation = annotation[i % 4],
                   .label = i % 4 + 1,
                   .eval = i % 5 == 0,
                   .text = strdup("rendered")};
    snprintf(s.reason, sizeof s.reason, "fixture");
    wf_store_put_result res;
    int rc = s.cand && s.text ? wf_store_put_sample(st, &s, &res, err) : WF_ENOMEM;
    wf_candidate_free(s.cand);
    free(s.text);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fputs("usage: wf-transformer-fixture BASE_DIR TOKENIZER_JSON STORE N\n", stderr);
        return 2;
    }
    wf_error err = {0};
    if (tiny_write_fixture_base(argv[1], argv[2]) != 0) {
        fprintf(stderr, "cannot write the base model into %s\n", argv[1]);
        return 1;
    }
    wf_store_options o;
    wf_store_options_default(&o, argv[3]);
    wf_store *st = NULL;
    int rc = wf_store_open(&o, &st, &err);
    for (int i = 0; rc == 0 && i < atoi(argv[4]); i++)
        rc = put(st, i, &err);
    wf_store_close(st);
    if (rc != 0)
        fprintf(stderr, "store %s: %s\n", argv[3], err.msg);
    return rc == 0 ? 0 : 1;
}
