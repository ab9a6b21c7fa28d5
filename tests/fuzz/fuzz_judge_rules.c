/* Fuzzes wf_rules_classify. The input is "<response>\0<feedback>" (no NUL:
 * all feedback, empty response). Every verdict must be a level 1..5 with a
 * reason, and the classifier must not read outside its inputs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/judge_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t resp_len = nul ? (size_t)(nul - data) : 0;
    size_t fb_off = nul ? resp_len + 1 : 0;
    char *response = malloc(resp_len + 1);
    char *feedback = malloc(size - fb_off + 1);
    if (!response || !feedback) {
        free(response);
        free(feedback);
        return 0;
    }
    memcpy(response, data, resp_len);
    response[resp_len] = '\0';
    memcpy(feedback, data + fb_off, size - fb_off);
    feedback[size - fb_off] = '\0';

    wf_rules_result r;
    wf_rules_classify("query", response, feedback, &r);
    if (r.level < 1 || r.level > 5 || !r.reason || (r.confident != 0 && r.confident != 1))
        abort();
    if (r.level == 3 && r.confident)
        abort(); /* neutral is never a confident verdict */

    free(response);
    free(feedback);
    return 0;
}
