/* One left-to-right pass over the normalised head of a feedback message:
 * at every English word start and every CJK character the longest lexicon
 * phrase that passes its context check is taken, and the text it covers is
 * skipped, so "no thanks" hides "thanks" and "对不对" hides "不对". */
#include <string.h>

#include "wildfeed/text.h"

#include "rules_internal.h"

enum { SKIP = 0, TAKE_HIT, TAKE_SILENT };

/* Lower-cased text to the scanner's form: no apostrophes (so "don't" and
 * "dont" read alike), whitespace runs as one space, line breaks kept as
 * clause breaks. */
static size_t normalise(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap;) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\'' || c == '`') {
            i++;
        } else if (c == 0xE2 && i + 2 < n && (unsigned char)in[i + 1] == 0x80 &&
                   ((unsigned char)in[i + 2] == 0x98 || (unsigned char)in[i + 2] == 0x99)) {
            i += 3; /* ‘ ’ */
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            char ws = c == '\n' ? '\n' : ' ';
            if (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\n')) {
                if (ws == '\n')
                    out[o - 1] = '\n';
            } else if (o > 0) {
                out[o++] = ws;
            }
            i++;
        } else {
            size_t len = wf_rules_char_len(c);
            if (len > n - i)
                len = n - i;
            if (o + len > cap)
                break;
            memcpy(out + o, in + i, len);
            o += len;
            i += len;
        }
    }
    out[o] = '\0';
    return o;
}

/* Clause punctuation: ASCII, or the full-width forms Chinese uses. */
static size_t clause_break(const char *s, size_t n, size_t i, int *question)
{
    unsigned char c = (unsigned char)s[i];
    *question = 0;
    if (c == '.' || c == '!' || c == ';' || c == ':' || c == ',' || c == '\n' || c == '?') {
        *question = c == '?';
        return 1;
    }
    if (c < 0x80)
        return 0;
    static const char *const wide[] = {"。", "！", "？", "；", "：", "，", "、", "…", "～"};
    for (size_t k = 0; k < sizeof wide / sizeof wide[0]; k++) {
        size_t len = strlen(wide[k]);
        if (len <= n - i && s[i + 1] == wide[k][1] && memcmp(s + i, wide[k], len) == 0) {
            *question = k == 2;
            return len;
        }
    }
    return 0;
}

/* A CJK phrase opens its clause when punctuation, a space or nothing is
 * before it. */
static int cjk_at_start(const char *s, size_t pos)
{
    return pos == 0 || (unsigned char)s[pos - 1] < 0x80;
}

static int opens_clause(const wf_rules_scan *sc, size_t pos)
{
    if ((unsigned char)sc->text[pos] >= 0x80)
        return cjk_at_start(sc->text, pos);
    return wf_rules_at_clause_start(sc->text, pos);
}

/* Directly after a positive cue ("thanks now write ..."). */
static int follows_positive(const wf_rules_scan *sc, size_t pos)
{
    if (sc->n_hits == 0 || !wf_rules_is_positive(sc->hits[sc->n_hits - 1].cat))
        return 0;
    for (size_t i = sc->hits[sc->n_hits - 1].end; i < pos; i++)
        if (sc->text[i] != ' ')
            return 0;
    return 1;
}

int wf_rules_scan_has_code(wf_rules_scan *sc)
{
    if (sc->has_code < 0)
        sc->has_code = wf_rules_has_code(sc->response);
    return sc->has_code;
}

static int take_marker(wf_rules_scan *sc, const wf_rules_cue *c, size_t pos)
{
    wf_rules_clause *cl = &sc->clauses[sc->n_clauses - 1];
    switch (c->cat) {
    case WF_MARK_DETAIL: sc->detail = 1; break;
    case WF_MARK_CONTRAST:
        if (sc->n_contrasts < WF_RULES_MAX_CONTRASTS)
            sc->contrasts[sc->n_contrasts++] = (uint16_t)pos;
        break;
    case WF_MARK_BUILD: cl->build = cl->request = 1; break;
    default:
        if (!opens_clause(sc, pos) && !follows_positive(sc, pos))
            return SKIP;
        cl->request = 1;
    }
    return TAKE_SILENT;
}

/* "i asked for Python, not C++": a "not", "instead" or "rather than" later
 * in the same sentence makes the restated request an explicit correction. */
static int names_the_alternative(const wf_rules_scan *sc, size_t from)
{
    size_t to = from;
    while (to < sc->n && sc->text[to] != '.' && sc->text[to] != '\n' && sc->text[to] != '?' &&
           sc->text[to] != '!')
        to++;
    static const char *const alts[] = {" not ", ",not ", "instead", "rather than", " no "};
    for (size_t k = 0; k < sizeof alts / sizeof alts[0]; k++)
        if (memmem(sc->text + from, to - from, alts[k], strlen(alts[k])))
            return 1;
    return 0;
}

static void add_hit(wf_rules_scan *sc, const wf_rules_cue *c, size_t pos, int cat,
                    const char *reason, int strong)
{
    if (sc->n_hits == WF_RULES_MAX_HITS)
        return;
    wf_rules_hit *h = &sc->hits[sc->n_hits++];
    h->cue = c;
    h->cat = (uint8_t)cat;
    h->strong = (uint8_t)strong;
    h->clause = (uint8_t)(sc->n_clauses - 1);
    h->start = (uint16_t)pos;
    h->end = (uint16_t)(pos + c->len);
    h->reason = reason;
}

/* Context checks of the cue's flags; SKIP lets a shorter phrase try. */
static int passes_flags(wf_rules_scan *sc, const wf_rules_cue *c, size_t pos)
{
    if ((c->flags & WF_F_START) && !opens_clause(sc, pos))
        return 0;
    if ((c->flags & WF_F_CEND) && !wf_rules_cjk_clause_end(sc->text, sc->n, pos + c->len))
        return 0;
    if ((c->flags & WF_F_BARE) &&
        (sc->feedback_len > 64 || !wf_rules_only_filler(sc->text, sc->n, pos, pos + c->len)))
        return 0;
    if ((c->flags & WF_F_CODE) && !wf_rules_scan_has_code(sc))
        return 0;
    return 1;
}

static int take_cue(wf_rules_scan *sc, const wf_rules_cue *c, size_t pos)
{
    if (c->cat == WF_CUE_COVER)
        return TAKE_SILENT;
    if (c->cat >= WF_MARK_DETAIL)
        return take_marker(sc, c, pos);
    if (!passes_flags(sc, c, pos))
        return SKIP;
    int cat = c->cat, strong = (c->flags & WF_F_STRONG) != 0;
    const char *reason = c->reason;
    if (wf_rules_is_positive(cat) ? wf_rules_conditional(sc->text, pos)
                                  : wf_rules_hypothetical(sc->text, pos))
        return TAKE_SILENT; /* "hope this helps", "if it doesnt work" */
    if (c->flags & WF_F_EVAL) {
        wf_rules_eval ev;
        wf_rules_check_eval(sc->text, sc->n, pos, pos + c->len, sc->n_clauses <= 2, &ev);
        if (!ev.ok)
            return SKIP;
        if (ev.negated && !wf_rules_is_positive(cat))
            return TAKE_SILENT; /* "not wrong" */
        if (ev.negated) {
            cat = WF_CUE_REJECT;
            reason = "rejection:negated_praise";
            strong = 0;
        }
    }
    if ((c->flags & WF_F_ASKED) && names_the_alternative(sc, pos + c->len)) {
        reason = "explicit_correction:asked_for_not";
        strong = 1;
    }
    add_hit(sc, c, pos, cat, reason, strong);
    return TAKE_HIT;
}

/* Tries the phrases at pos, longest first; returns the bytes consumed. */
static size_t match_at(wf_rules_scan *sc, size_t pos)
{
    const wf_rules_cue *cands[8];
    size_t k = wf_rules_lexicon_match(sc->text, sc->n, pos, cands, 8);
    for (size_t i = 0; i < k; i++)
        if (take_cue(sc, cands[i], pos) != SKIP)
            return cands[i]->len;
    return 0;
}

/* "吗"/"呢" closing a clause make it a question. */
static int cjk_question_particle(const char *s, size_t n, size_t pos)
{
    return pos + 3 <= n && (memcmp(s + pos, "吗", 3) == 0 || memcmp(s + pos, "呢", 3) == 0) &&
           wf_rules_cjk_clause_end(s, n, pos + 3);
}

static void next_clause(wf_rules_scan *sc, int *has_content)
{
    if (*has_content && sc->n_clauses < WF_RULES_MAX_CLAUSES) {
        memset(&sc->clauses[sc->n_clauses], 0, sizeof sc->clauses[0]);
        sc->n_clauses++;
    }
    *has_content = 0;
}

/* Length of a quotation mark at s[i] ("", “”, 「」), 0 when there is none. */
static size_t quote_mark(const char *s, size_t n, size_t i)
{
    if (s[i] == '"')
        return 1;
    static const char *const marks[] = {"“", "”", "「", "」"};
    for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++)
        if (n - i >= 3 && memcmp(s + i, marks[k], 3) == 0)
            return 3;
    return 0;
}

void wf_rules_scan_text(wf_rules_scan *sc, const char *lowered, size_t n)
{
    sc->n = normalise(lowered, n, sc->text, WF_RULES_CUE_MAX);
    sc->n_hits = sc->n_contrasts = 0;
    sc->detail = 0;
    sc->n_clauses = 1;
    memset(&sc->clauses[0], 0, sizeof sc->clauses[0]);
    int content = 0, question, quoted = 0;
    const char *s = sc->text;
    for (size_t i = 0; i < sc->n;) {
        unsigned char c = (unsigned char)s[i];
        /* Quoted text is a mention ("the opposite of "wrong""), not a verdict. */
        size_t q = quote_mark(s, sc->n, i);
        if (q || quoted) {
            quoted ^= q != 0;
            i += q ? q : wf_rules_char_len(c) <= sc->n - i ? wf_rules_char_len(c) : sc->n - i;
            continue;
        }
        size_t brk = clause_break(s, sc->n, i, &question);
        if (brk) {
            sc->clauses[sc->n_clauses - 1].question |= (uint8_t)question;
            next_clause(sc, &content);
            i += brk;
            continue;
        }
        if (c == ' ' || (c < 0x80 && !wf_rules_is_word(c))) {
            i++;
            continue;
        }
        content = 1;
        int mid_word = c < 0x80 && i > 0 && wf_rules_is_word((unsigned char)s[i - 1]);
        size_t used = mid_word ? 0 : match_at(sc, i);
        wf_rules_clause *cl = &sc->clauses[sc->n_clauses - 1];
        if (used) {
            i += used;
        } else if (c < 0x80) {
            while (i < sc->n && wf_rules_is_word((unsigned char)s[i]))
                i++;
            cl->weight = (uint8_t)(cl->weight < 253 ? cl->weight + 2 : 255);
        } else {
            cl->weight = (uint8_t)(cl->weight < 254 ? cl->weight + 1 : 255);
            if (cjk_question_particle(s, sc->n, i))
                sc->clauses[sc->n_clauses - 1].question = 1;
            size_t len = wf_rules_char_len(c);
            i += len <= sc->n - i ? len : sc->n - i;
        }
    }
}
