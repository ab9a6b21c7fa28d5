/* Differential: the ingest JSON parser against jansson with the flags it
 * replaced. Both must accept or both refuse, and accepted documents must
 * hold the same values, except for the differences json.h documents
 * (numbers outside int64/double, nesting over WF_JSON_MAX_DEPTH, a NUL
 * byte after a number or literal). Every
 * accepted document is also checked against the tape's invariants. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/json.h"
#include "json_same.h"

#define JANSSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY)

/* jansson skips one raw NUL byte right after a number or a literal
 * ("[1\0]", "true\0"), which RFC 8259 does not allow and json.c refuses. */
static int nul_after_scalar(const uint8_t *data, size_t pos)
{
    if (pos == 0 || data[pos] != '\0')
        return 0;
    uint8_t c = data[pos - 1];
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wf_json_doc *doc;
    wf_json_error je;
    int rc = wf_json_parse((const char *)data, size, &doc, &je);
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, JANSSON_FLAGS, &jerr);
    if (rc == 0) {
        if (wf_test_check_tape(doc->nodes, doc->nodes + doc->n_nodes) != doc->nodes + doc->n_nodes)
            abort();
        if (j ? !wf_test_json_same(doc->nodes, j)
              : json_error_code(&jerr) != json_error_numeric_overflow)
            abort();
        free(doc);
    } else {
        if (rc != WF_EPARSE || doc || !je.text[0] || je.pos > size)
            abort();
        if (j && strncmp(je.text, "nesting deeper", 14) != 0 && !nul_after_scalar(data, je.pos))
            abort();
    }
    json_decref(j);
    return 0;
}
