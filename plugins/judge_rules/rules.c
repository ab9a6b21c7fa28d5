/* The decision of the rules judge (DESIGN §1 levels, §5). Precision first:
 * only explicit cues move a verdict off 3, negative evidence outranks
 * positive evidence ("thanks, but you forgot X" is a correction), and
 * gratitude that merely opens a new request is politeness, not satisfaction. */
#include <string.h>

#include "wildfeed/judge_rules.h"
#include "wildfeed/text.h"

#include "rules_internal.h"

#define HEAD_MAX 2048 /* bytes of feedback searched for pasted errors... */
#define TAIL_MAX 1024 /* ...plus its last bytes, where a traceback ends */
/* Gratitude in a longer message usually opens pasted material or a new
 * task; only short thank-you messages count as satisfaction. */
#define GRAT_MAX_LEN 240
/* A clause of three English words (six CJK characters) outside any cue is
 * content of its own: after "thanks" it is a new request. */
#define MORE_WEIGHT 6

typedef struct verdict_parts {
    const wf_rules_hit *correct, *reject, *retry, *self;
    const wf_rules_hit *grat, *praise, *strong_praise, *solved, *interest, *mild, *decline;
    int request, build;
    int more; /* a clause without positive cues says something else */
} verdict_parts;

static void set(wf_rules_result *out, int level, int confident, const char *reason)
{
    out->level = level;
    out->confident = confident;
    out->reason = reason;
}

static int has_positive(const wf_rules_scan *sc, size_t clause)
{
    for (size_t i = 0; i < sc->n_hits; i++)
        if (sc->hits[i].clause == clause && wf_rules_is_positive(sc->hits[i].cat))
            return 1;
    return 0;
}

static void collect(const wf_rules_scan *sc, verdict_parts *p)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < sc->n_hits; i++) {
        const wf_rules_hit *h = &sc->hits[i];
        /* Praise inside a question ("is this perfect?") is not given. */
        int in_question = sc->clauses[h->clause].question;
        const wf_rules_hit **slot = NULL;
        switch (h->cat) {
        /* A weak complaint in a question ("is your answer incorrect?") is
         * asked about, not asserted. */
        case WF_CUE_CORRECT: slot = in_question && !h->strong ? NULL : &p->correct; break;
        case WF_CUE_REJECT: slot = in_question && !h->strong ? NULL : &p->reject; break;
        case WF_CUE_RETRY: slot = &p->retry; break;
        case WF_CUE_SELF: slot = &p->self; break;
        case WF_CUE_DECLINE: slot = &p->decline; break;
        case WF_CUE_MILD: slot = in_question ? NULL : &p->mild; break;
        case WF_CUE_GRAT: slot = in_question ? NULL : &p->grat; break;
        case WF_CUE_SOLVED: slot = in_question ? NULL : &p->solved; break;
        case WF_CUE_INTEREST: slot = in_question ? NULL : &p->interest; break;
        case WF_CUE_PRAISE:
            if (!in_question)
                slot = h->strong ? &p->strong_praise : &p->praise;
            break;
        }
        if (slot && !*slot)
            *slot = h;
    }
    for (size_t c = 0; c < sc->n_clauses; c++) {
        p->request |= sc->clauses[c].request | sc->clauses[c].question;
        p->build |= sc->clauses[c].build;
        p->more |= sc->clauses[c].weight >= MORE_WEIGHT && !has_positive(sc, c);
    }
}

static int contrast_between(const wf_rules_scan *sc, size_t from, size_t to)
{
    for (size_t i = 0; i < sc->n_contrasts; i++)
        if (sc->contrasts[i] >= from && sc->contrasts[i] < to)
            return 1;
    return 0;
}

/* "great, another error": sarcasm-prone praise right before a complaint,
 * with no "but" between, is frustration. */
static int sarcastic(const wf_rules_scan *sc)
{
    for (size_t i = 0; i < sc->n_hits; i++) {
        const wf_rules_hit *pos = &sc->hits[i];
        if (!(pos->cue->flags & WF_F_SARC) || pos->cat == WF_CUE_REJECT)
            continue;
        for (size_t j = i + 1; j < sc->n_hits; j++) {
            const wf_rules_hit *neg = &sc->hits[j];
            if ((neg->cat == WF_CUE_CORRECT || neg->cat == WF_CUE_REJECT) &&
                neg->clause <= pos->clause + 1 && !contrast_between(sc, pos->end, neg->start))
                return 1;
        }
    }
    return 0;
}

static int decide_negative(const wf_rules_scan *sc, const verdict_parts *p, int error_output,
                           wf_rules_result *out)
{
    if (sarcastic(sc)) {
        set(out, 1, 0, "sarcasm");
        return 1;
    }
    /* "my mistake, I meant 2019" corrects the question, not the answer. */
    int self_fix = p->correct && p->self && (p->correct->cue->flags & WF_F_ASKED);
    if (p->correct && !self_fix) {
        set(out, 2, p->correct->strong, p->correct->reason);
        return 1;
    }
    if (error_output) {
        set(out, 2, 1, "error_output_after_code");
        return 1;
    }
    if (p->reject) {
        if (sc->detail)
            set(out, 2, 0, "explicit_correction:rejection_with_fix");
        else
            set(out, 1, p->reject->strong, p->reject->reason);
        return 1;
    }
    if (p->retry) {
        /* "try again" says only "not this one": the mildest negative, left
         * unconfident so a cascade asks the LLM judge. */
        set(out, 2, 0, p->retry->reason);
        return 1;
    }
    return 0;
}

static const wf_rules_hit *first_positive(const verdict_parts *p)
{
    const wf_rules_hit *all[] = {p->grat, p->praise, p->strong_praise, p->solved, p->interest};
    const wf_rules_hit *first = NULL;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i] && (!first || all[i]->start < first->start))
            first = all[i];
    return first;
}

/* Weak praise ("nice") or interest ("interesting") counts alone or with a
 * follow-up that builds on the answer; returns 0 to let gratitude decide. */
static int decide_weak(const verdict_parts *p, int more, wf_rules_result *out)
{
    if (p->build)
        set(out, 4, 0, "engagement");
    else if (more)
        set(out, 3, 0, "positive_with_new_request");
    else if (p->praise)
        set(out, 5, 0, "praise");
    else if (!p->grat)
        set(out, 3, 0, "interest_without_follow_up");
    else
        return 0; /* "interesting, thank you" */
    return 1;
}

static void decide_positive(const wf_rules_scan *sc, const verdict_parts *p, wf_rules_result *out)
{
    const wf_rules_hit *first = first_positive(p);
    if (!first) {
        set(out, 3, 0, p->decline ? "decline" : p->mild ? "mild_positive" : "no_cue");
        return;
    }
    if (p->decline) {
        set(out, 3, 0, "decline");
        return;
    }
    if (contrast_between(sc, first->end, sc->n)) {
        set(out, 3, 0, "contrast_after_positive");
        return;
    }
    if (p->solved) {
        set(out, 5, 1, "problem_solved");
        return;
    }
    int more = p->request || p->more;
    if (p->strong_praise) {
        if (p->request || p->build)
            set(out, 4, 0, "engagement");
        else
            set(out, 5, !p->more, "praise");
        return;
    }
    if ((p->praise || p->interest) && decide_weak(p, more, out))
        return;
    if (more)
        set(out, 3, 0, "gratitude_with_new_request");
    else if (sc->feedback_len > GRAT_MAX_LEN)
        set(out, 3, 0, "gratitude_in_long_message");
    else
        set(out, 5, 1, "gratitude");
}

/* Whether the feedback carries compiler or runtime output, in its head or in
 * its last bytes (where a long log ends with the error). */
static int pasted_error(const char *head, size_t head_n, const char *feedback, size_t len)
{
    if (wf_rules_has_error_output(head, head_n))
        return 1;
    if (len <= HEAD_MAX)
        return 0;
    size_t from = len - TAIL_MAX;
    while (from < len && ((unsigned char)feedback[from] & 0xC0) == 0x80)
        from++;
    char tail[TAIL_MAX + 1];
    wf_text_lower(feedback + from, len - from, tail);
    return wf_rules_has_error_output(tail, len - from);
}

static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

static size_t trimmed_len(const char *s, size_t n)
{
    size_t a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\n' || s[a] == '\t' || s[a] == '\r'))
        a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    return n - a;
}

void wf_rules_classify(const char *query, const char *response, const char *feedback,
                       wf_rules_result *out)
{
    (void)query; /* the cues are all in the feedback; the response tells code apart */
    if (!feedback)
        feedback = "";
    size_t len = strlen(feedback);
    size_t head_n = utf8_cut(feedback, len, HEAD_MAX);
    char head[HEAD_MAX + 1];
    wf_text_lower(feedback, head_n, head);

    wf_rules_scan sc;
    sc.response = response ? response : "";
    sc.has_code = -1;
    sc.feedback_len = trimmed_len(feedback, len);
    wf_rules_scan_text(&sc, head, head_n);

    verdict_parts p;
    collect(&sc, &p);
    /* Error output counts only after code: then it is that code's output. */
    int error_output = pasted_error(head, head_n, feedback, len) && wf_rules_scan_has_code(&sc);
    if (!decide_negative(&sc, &p, error_output, out))
        decide_positive(&sc, &p, out);
}
