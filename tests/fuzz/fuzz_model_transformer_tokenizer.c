/* Arbitrary bytes through the tokenizer of tests/fixtures/tokenizer: ids stay
 * inside the vocabulary and decoding gives back exactly the input with each
 * stretch between added tokens in NFC (invalid UTF-8 bytes unchanged), since
 * the fixture has every byte. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/tokenizer.h"
#include "model_transformer/tokenizer_unicode.h"

/* The fixture, found beside this source file unless WF_FIXTURES is set. */
static wf_tokenizer *fixture(void)
{
    static wf_tokenizer *tok; /* loaded once per fuzzing process */
    if (tok)
        return tok;
    char path[4096];
    const char *dir = getenv("WF_FIXTURES");
    if (dir) {
        snprintf(path, sizeof path, "%s/tokenizer/tokenizer.json", dir);
    } else {
        const char *slash = strrchr(__FILE__, '/');
        int n = slash ? (int)(slash - __FILE__) : 0;
        snprintf(path, sizeof path, "%.*s/../fixtures/tokenizer/tokenizer.json", n, __FILE__);
    }
    wf_error err = {0};
    if (wf_tokenizer_load(path, &tok, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
    return tok;
}

/* Appends the NFC form of data to out. */
static void nfc_bytes(const uint8_t *data, size_t size, wf_strbuf *out)
{
    wf_tok_cps cps = {0}, scratch = {0};
    if (wf_tok_utf8_decode((const char *)data, size, &cps) < 0 || wf_tok_nfc(&cps, &scratch) < 0)
        abort();
    for (size_t i = 0; i < cps.len; i++) {
        unsigned char b[4];
        wf_strbuf_append(out, (const char *)b, wf_tok_utf8_put(cps.cp[i], b));
    }
    free(cps.cp);
    free(scratch.cp);
}

/* The fixture's added tokens, longest first: text between them is
 * normalised on its own, as the reference does. */
static const char *const added[] = {"<sep><sep>", "<|end|>", "<sep>"};

static void expected_bytes(const uint8_t *data, size_t size, wf_strbuf *out)
{
    size_t plain = 0;
    for (size_t i = 0; i < size;) {
        size_t len = 0;
        for (size_t k = 0; k < 3 && !len; k++)
            if (strlen(added[k]) <= size - i && memcmp(data + i, added[k], strlen(added[k])) == 0)
                len = strlen(added[k]);
        if (!len) {
            i++;
            continue;
        }
        nfc_bytes(data + plain, i - plain, out);
        wf_strbuf_append(out, (const char *)data + i, len);
        i += len;
        plain = i;
    }
    nfc_bytes(data + plain, size - plain, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wf_tokenizer *tok = fixture();
    char *text = malloc(size ? size : 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    wf_token_ids ids = {0};
    wf_error err = {0};
    if (wf_tokenizer_encode(tok, text, size, &ids, &err) < 0)
        abort();
    for (size_t i = 0; i < ids.len; i++)
        if (ids.ids[i] < 0 || (size_t)ids.ids[i] >= wf_tokenizer_vocab_size(tok))
            abort();
    wf_strbuf got, want;
    wf_strbuf_init(&got);
    wf_strbuf_init(&want);
    if (wf_tokenizer_decode(tok, ids.ids, ids.len, &got, &err) < 0)
        abort();
    expected_bytes(data, size, &want);
    if (got.len != want.len || (got.len && memcmp(got.data, want.data, got.len) != 0))
        abort();
    wf_strbuf_free(&got);
    wf_strbuf_free(&want);
    wf_token_ids_free(&ids);
    free(text);
    return 0;
}
