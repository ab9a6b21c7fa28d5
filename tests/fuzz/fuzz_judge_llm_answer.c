/* Fuzz target for what a remote judge sends back: the chat-completions body
 * and the verdict tag inside its text, for both tasks. Hostile answers must
 * give a clean error or a verdict with a level in range, never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "judge_llm/llm_internal.h"

static void check_verdict(const char *text, wf_judge_task task)
{
    wf_verdict v;
    memset(&v, 0, sizeof v);
    if (wf_llm_parse_verdict(text, task, &v) == 0 && task == WF_TASK_FEEDBACK &&
        (v.level < 1 || v.level > 5))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    wf_llm_answer a;
    memset(&a, 0, sizeof a);
    if (wf_llm_parse_response(text, size, &a) == 0)
        wf_llm_answer_free(&a);
    check_verdict(text, WF_TASK_FEEDBACK);
    check_verdict(text, WF_TASK_REFUSAL);
    free(text);
    return 0;
}
