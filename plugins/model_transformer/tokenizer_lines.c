/* JSON lines in, id arrays out: the body of `wildfeed tokenize`. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/tokenizer.h"

static int encode_line(wf_tokenizer *tok, const char *line, size_t n, size_t lineno,
                       wf_token_ids *ids, wf_strbuf *buf, wf_error *err)
{
    json_t *s = json_loadb(line, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!json_is_string(s)) {
        json_decref(s);
        return wf_error_set(err, WF_EPARSE, "line %zu: not a JSON string", lineno);
    }
    ids->len = 0;
    int rc = wf_tokenizer_encode(tok, json_string_value(s), json_string_length(s), ids, err);
    json_decref(s);
    if (rc < 0)
        return rc;
    wf_strbuf_reset(buf);
    wf_strbuf_putc(buf, '[');
    for (size_t i = 0; i < ids->len; i++)
        wf_strbuf_printf(buf, i ? ",%d" : "%d", ids->ids[i]);
    wf_strbuf_puts(buf, "]\n");
    if (buf->oom)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    return 0;
}

int wf_tokenizer_encode_lines(wf_tokenizer *tok, FILE *in, FILE *out, wf_error *err)
{
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    wf_token_ids ids = {0};
    wf_strbuf buf;
    wf_strbuf_init(&buf);
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        rc = encode_line(tok, line, (size_t)n, lineno, &ids, &buf, err);
        if (rc == 0 && fwrite(buf.data, 1, buf.len, out) != buf.len)
            rc = wf_error_set(err, WF_EIO, "write failed");
    }
    free(line);
    wf_token_ids_free(&ids);
    wf_strbuf_free(&buf);
    return rc;
}
