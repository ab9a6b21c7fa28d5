/* Fuzz target for the evaluation inputs read line by line: preference pairs
 * (both formats) and WildFB samples. A hostile line must give a clean
 * WF_EPARSE or a record whose strings are whole and consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "train/examples.h"
#include "wildfeed/eval.h"

/* Every string is whole and no longer than the line it came from. */
static void check_input(const wf_model_input *in, size_t size)
{
    if (in->text || !in->query || !in->response || strlen(in->query) > size ||
        strlen(in->response) > size)
        abort();
    for (size_t i = 0; i < in->n_history; i++) {
        const wf_msg *m = &in->history[i];
        if (strlen(m->role) > size || m->content_len > size || strlen(m->content) > m->content_len)
            abort();
    }
}

static void fuzz_pref(const char *line, size_t len)
{
    wf_pref_set *s = wf_pref_new();
    if (!s)
        return;
    int rc = wf_pref_add_line(s, line, len, NULL);
    if (rc != 0 && rc != WF_EPARSE && rc != WF_ENOMEM)
        abort();
    if (wf_pref_count(s) != (rc == 0))
        abort();
    if (rc == 0) {
        wf_model_input c, r;
        wf_pref_get(s, 0, &c, &r);
        check_input(&c, len);
        check_input(&r, len);
        if (c.history != r.history || c.n_history != r.n_history || c.query != r.query)
            abort();
    }
    wf_pref_free(s);
}

static void fuzz_example(const char *line, size_t len)
{
    wf_examples ex;
    wf_examples_init(&ex);
    int rc = wf_examples_add_jsonl(&ex, line, len, NULL);
    if (rc != 0 && rc != WF_EPARSE && rc != WF_ENOMEM)
        abort();
    if (ex.n != (rc == 0))
        abort();
    if (rc == 0) {
        check_input(&ex.items[0].in, len);
        if (ex.items[0].label < 1 || ex.items[0].label > WF_LABELS)
            abort();
    }
    wf_examples_free(&ex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_pref((const char *)data, size);
    fuzz_example((const char *)data, size);
    return 0;
}
