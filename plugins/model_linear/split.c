/* Recovers the parts of a text rendered with the default template
 * (shared/formats/wildreward-input.md), for /get_reward clients that send
 * only rendered texts. The section headers are searched in template order,
 * and the response runs to the last "# Output" header, so a response that
 * quotes a header is still read whole. */
#include <string.h>

#include "model_linear/features.h"

static const char query_head[] = "\n## User Query\n";
static const char response_head[] = "\n\n## Assistant Response\n";
static const char output_head[] = "\n\n# Output\n";

static const char *find(const char *s, size_t n, const char *what)
{
    return memmem(s, n, what, strlen(what));
}

static const char *find_last(const char *s, size_t n, const char *what)
{
    const char *last = NULL;
    for (const char *p; (p = find(s, n, what)) != NULL;) {
        last = p;
        n -= (size_t)(p + 1 - s);
        s = p + 1;
    }
    return last;
}

void wf_lin_split_text(const char *text, size_t len, const char **query, size_t *qlen,
                       const char **response, size_t *rlen)
{
    const char *end = text + len;
    const char *q = find(text, len, query_head);
    /* The response header is looked for after the whole query header: in
     * a crafted text the two can overlap ("\n## User Query\n\n## Assistant
     * Response\n"), and a search from q would end the query before it
     * starts. */
    const char *body = q ? q + strlen(query_head) : NULL;
    const char *r = body ? find(body, (size_t)(end - body), response_head) : NULL;
    if (!r) {
        *query = text + len;
        *qlen = 0;
        *response = text;
        *rlen = len;
        return;
    }
    *query = q + strlen(query_head);
    *qlen = (size_t)(r - *query);
    *response = r + strlen(response_head);
    const char *o = find_last(*response, (size_t)(end - *response), output_head);
    *rlen = (size_t)((o ? o : end) - *response);
}
