/* Reading answers back. The verdict is the LAST well-formed tag outside
 * <think> blocks: models that reason in plain text before answering may quote
 * tags while weighing them ("not [[1]], since..."), and the format puts the
 * decision after the reasoning. */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llm_internal.h"
#include "wildfeed/sample.h"

void wf_llm_answer_free(wf_llm_answer *a)
{
    free(a->content);
    a->content = NULL;
}

static long usage_field(json_t *usage, const char *name)
{
    json_t *v = json_object_get(usage, name);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

int wf_llm_parse_response(const char *body, size_t n, wf_llm_answer *out)
{
    out->content = NULL;
    out->tokens_in = out->tokens_out = -1;
    json_t *root = json_loadb(body, n, 0, NULL);
    if (!root)
        return WF_EPARSE;
    json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    json_t *content = json_object_get(msg, "content");
    int rc = WF_EPARSE;
    if (json_is_string(content) || json_is_null(content) || (msg && !content)) {
        rc = 0;
        if (json_is_string(content))
            out->content = strdup(json_string_value(content));
    }
    json_t *usage = json_object_get(root, "usage");
    if (json_is_object(usage)) {
        out->tokens_in = usage_field(usage, "prompt_tokens");
        out->tokens_out = usage_field(usage, "completion_tokens");
    }
    json_decref(root);
    return rc;
}

/* Copies text without <think>...</think> blocks; an unclosed block runs to
 * the end (the model was cut off while thinking). */
static char *strip_thinking(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    const char *p = text;
    while (*p) {
        const char *open = strstr(p, "<think>");
        if (!open) {
            size_t rest = strlen(p);
            memcpy(out + o, p, rest);
            o += rest;
            break;
        }
        memcpy(out + o, p, (size_t)(open - p));
        o += (size_t)(open - p);
        const char *close = strstr(open, "</think>");
        if (!close)
            break;
        p = close + strlen("</think>");
    }
    out[o] = '\0';
    return out;
}

static const char *const refusal_tags[] = {"none", "harmful", "false"};

/* Value of the tag at p ("[[...]]"), or -1: a level 1..5, or a
 * wf_refusal_kind. *end is set past the tag. */
static int tag_value(const char *p, wf_judge_task task, const char **end)
{
    const char *close = strstr(p + 2, "]]");
    if (!close)
        return -1;
    const char *s = p + 2;
    size_t len = (size_t)(close - s);
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    *end = close + 2;
    if (task == WF_TASK_FEEDBACK)
        return len == 1 && s[0] >= '1' && s[0] <= '5' ? s[0] - '0' : -1;
    for (int k = 0; k < 3; k++)
        if (strlen(refusal_tags[k]) == len && strncasecmp(s, refusal_tags[k], len) == 0)
            return k;
    return -1;
}

/* The reason: the text after the tag, whitespace squeezed, cut at a UTF-8
 * boundary to fit. */
static void copy_reason(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    int space = 0;
    while (isspace((unsigned char)*s))
        s++;
    for (; *s && o + 1 < cap; s++) {
        if (isspace((unsigned char)*s)) {
            space = 1;
            continue;
        }
        if (space && o + 2 < cap)
            dst[o++] = ' ';
        space = 0;
        dst[o++] = *s;
    }
    while (o > 0 && ((unsigned char)dst[o - 1] & 0xC0) == 0x80 && *s)
        o--; /* a cut code point: drop its continuation bytes... */
    if (o > 0 && ((unsigned char)dst[o - 1] & 0xC0) == 0xC0 && *s)
        o--; /* ...and its lead byte */
    dst[o] = '\0';
}

int wf_llm_parse_verdict(const char *text, wf_judge_task task, wf_verdict *v)
{
    if (!text)
        return WF_EPARSE;
    char *clean = strip_thinking(text);
    if (!clean)
        return WF_ENOMEM;
    int found = -1;
    const char *after = NULL;
    for (const char *p = strstr(clean, "[["); p; p = strstr(p + 1, "[[")) {
        const char *end;
        int val = tag_value(p, task, &end);
        if (val >= 0) {
            found = val;
            after = end;
        }
    }
    if (found < 0) {
        free(clean);
        return WF_EPARSE;
    }
    v->task = task;
    v->status = WF_VERDICT_OK;
    v->source = WF_SRC_LLM;
    v->confident = 1;
    if (task == WF_TASK_FEEDBACK)
        v->level = found;
    else
        v->refusal = (wf_refusal_kind)found;
    copy_reason(v->reason, sizeof v->reason, after);
    free(clean);
    return 0;
}
