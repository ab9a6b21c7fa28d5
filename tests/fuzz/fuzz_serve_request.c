/* The scoring endpoints' body handlers: any bytes either parse into inputs
 * that satisfy the batch's invariants (bounded count, every string present
 * and NUL-terminated, histories inside the message array) and render into
 * JSON that jansson reads back with one result per input, or are refused
 * with a code the server maps to 400 or 413 and an empty batch. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/request.h"

#define MAX_ITEMS 8

static void check_refused(int rc, const wf_serve_batch *b)
{
    if ((rc != WF_EPARSE && rc != WF_EINVAL) || b->root || b->in || b->msgs || b->n)
        abort();
}

static size_t check_inputs(const wf_serve_batch *b, int parts)
{
    size_t msgs = 0;
    if (b->n > MAX_ITEMS)
        abort();
    for (size_t i = 0; i < b->n; i++) {
        const wf_model_input *in = &b->in[i];
        if (parts ? (!in->query || !in->response || in->text) : (!in->text || in->query))
            abort();
        for (size_t j = 0; j < in->n_history; j++) {
            const wf_msg *m = &in->history[j];
            if (m != &b->msgs[msgs + j] || !m->role || strlen(m->content) != m->content_len)
                abort();
        }
        msgs += in->n_history;
        (void)strlen(parts ? in->query : in->text);
    }
    return msgs;
}

/* Renders constant logits for the batch and reads the answer back. */
static void check_render(const wf_serve_batch *b, int parts)
{
    float *z = calloc(b->n ? b->n * WF_LOGITS : 1, sizeof *z);
    wf_strbuf out;
    wf_strbuf_init(&out);
    if (!z || (parts ? wf_serve_render_score(&out, "v", z, b->n)
                     : wf_serve_render_rewards(&out, z, b->n)) != 0)
        abort();
    json_t *root = json_loads(out.data, 0, NULL);
    json_t *arr = json_object_get(root, parts ? "results" : "rewards");
    if (!json_is_array(arr) || json_array_size(arr) != b->n)
        abort();
    json_decref(root);
    wf_strbuf_free(&out);
    free(z);
}

static void run(const uint8_t *data, size_t size, int parts)
{
    wf_serve_batch b;
    wf_error e = {0};
    int rc = parts ? wf_serve_parse_score((const char *)data, size, MAX_ITEMS, &b, &e)
                   : wf_serve_parse_rewards((const char *)data, size, MAX_ITEMS, &b, &e);
    if (rc < 0) {
        check_refused(rc, &b);
        if (!e.msg[0])
            abort();
        return;
    }
    check_inputs(&b, parts);
    check_render(&b, parts);
    wf_serve_batch_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, 0);
    run(data, size, 1);
    return 0;
}
