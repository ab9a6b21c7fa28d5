/* Fuzz target for the hand-written text scanners of the sample stage: PII,
 * language guess, similarity, refusal detection, filters and the template's
 * strip. Checks their invariants on arbitrary bytes (valid UTF-8 or not). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feedback/filters.h"
#include "feedback/language.h"
#include "feedback/pii.h"
#include "feedback/refusal.h"
#include "feedback/similarity.h"
#include "feedback/template.h"

static int is_strip_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static void check_render(const char *text)
{
    wf_template *t = wf_template_load(NULL, NULL);
    if (!t)
        return;
    wf_msg h = {"", text, strlen(text)};
    wf_strbuf b;
    wf_strbuf_init(&b);
    wf_template_render(t, &h, 1, text, text, &b);
    /* the default layout starts and ends with text, whatever is inside */
    if (b.len && (is_strip_space((unsigned char)b.data[0]) ||
                  is_strip_space((unsigned char)b.data[b.len - 1])))
        abort();
    wf_strbuf_free(&b);
    wf_template_free(t);
}

static void check_filters(const char *text)
{
    wf_config *cfg = wf_config_new();
    wf_filters *f = cfg ? wf_filters_new(cfg, NULL) : NULL;
    wf_refusal_detector *d = cfg ? wf_refusal_detector_new(cfg, NULL) : NULL;
    if (f && d) {
        wf_msg h = {"user", text, strlen(text)};
        wf_candidate_parts p = {.conversation_id = "c",
                                .history = &h,
                                .n_history = 1,
                                .query = text,
                                .response = text,
                                .feedback = text};
        wf_candidate *c = wf_candidate_new(&p);
        const char *lang = NULL;
        int r = c ? wf_filters_check(f, c, wf_refusal_detect(d, text, strlen(text)), &lang) : -1;
        if (r < -1 || r >= WF_DROP_COUNT || (c && !lang))
            abort();
        wf_candidate_free(c);
    }
    wf_refusal_detector_free(d);
    wf_filters_free(f);
    wf_config_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    (void)wf_pii_has_email(s, size);
    (void)wf_pii_has_phone(s, size);
    const char *lang = wf_language_detect(s, size);
    if (!lang || !*lang)
        abort();

    size_t half = size / 2;
    for (int n = 1; n <= 4; n++) {
        double x = wf_text_similarity(s, half, s + half, size - half, n);
        double y = wf_text_similarity(s + half, size - half, s, half, n);
        if (!(x >= 0.0 && x <= 1.0) || x != y)
            abort();
    }

    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check_render(text);
    check_filters(text);
    free(text);
    return 0;
}
