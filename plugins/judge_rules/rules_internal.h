/* Internals of the rules judge: the cue lexicon, the scanner that finds cues
 * in a feedback message, and the context checks that keep precision high.
 *
 * The classifier works in three steps: normalise a bounded head of the
 * feedback (lower case, no apostrophes, single spaces), scan it once for
 * lexicon cues at word starts (English) and character starts (CJK) with
 * longest match, then decide a level from the cues that survive their
 * context checks (rules.c). */
#ifndef WF_JUDGE_RULES_INTERNAL_H
#define WF_JUDGE_RULES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* What a lexicon phrase signals. Cues decide levels; markers only shape the
 * decision (a contrast word, a follow-up question, a concrete fix). */
typedef enum wf_rules_cat {
    WF_CUE_COVER = 0, /* neutral phrase that hides shorter cues ("no problem") */
    WF_CUE_DECLINE,   /* "no thanks": polite refusal of an offer */
    WF_CUE_MILD,      /* "not bad": mild positive at most */
    WF_CUE_GRAT,      /* gratitude */
    WF_CUE_PRAISE,    /* praise; F_STRONG for unambiguous praise */
    WF_CUE_SOLVED,    /* the problem is solved */
    WF_CUE_INTEREST,  /* curiosity/delight that needs a follow-up to count */
    WF_CUE_REJECT,    /* rejection, criticism, frustration */
    WF_CUE_CORRECT,   /* points at a concrete mistake or broken output */
    WF_CUE_RETRY,     /* "try again" */
    WF_CUE_SELF,      /* the user blames themself ("my mistake"): a restatement follows */
    WF_MARK_DETAIL,   /* supplies the fix ("should be"): turns a rejection into a correction */
    WF_MARK_CONTRAST, /* "but", "但是" */
    WF_MARK_BUILD,    /* builds on the answer ("what if", "那如果") */
    WF_MARK_REQ       /* opens a request or question ("can you", "帮我") */
} wf_rules_cat;

static inline int wf_rules_is_positive(int cat)
{
    return cat == WF_CUE_GRAT || cat == WF_CUE_PRAISE || cat == WF_CUE_SOLVED ||
           cat == WF_CUE_INTEREST || cat == WF_CUE_MILD;
}

enum {
    WF_F_EVAL = 1 << 0,   /* evaluative adjective: needs clause start, "<subject> is" or a noun */
    WF_F_START = 1 << 1,  /* only at the start of a clause */
    WF_F_CEND = 1 << 2,   /* CJK: must end its clause (or be followed by a particle) */
    WF_F_STRONG = 1 << 3, /* unambiguous: the verdict is confident */
    WF_F_SARC = 1 << 4,   /* praise that turns sarcastic before a complaint */
    WF_F_CODE = 1 << 5,   /* counts only when the response contains code */
    WF_F_BARE = 1 << 6,   /* the whole message must be this cue and filler words */
    WF_F_ASKED = 1 << 7   /* "i asked for": a following "not"/"instead" makes it explicit */
};

typedef struct wf_rules_cue {
    const char *text; /* lower case, apostrophes removed, single spaces */
    uint8_t len;
    uint8_t cat;    /* wf_rules_cat */
    uint16_t flags; /* WF_F_* */
    const char *reason;
} wf_rules_cue;

/* The lexicon in two tables, each in byte order: phrases that start with an
 * ASCII byte (English, two bytes at least) and the others (Chinese, emoji). */
const wf_rules_cue *wf_rules_lexicon_en(size_t *n);
const wf_rules_cue *wf_rules_lexicon_intl(size_t *n);

/* The phrases of the lexicon that occur at s[pos] (s[0..n) is the whole
 * normalised text) and end on a word boundary, longest first; at most max are
 * written to out. pos must be a word or character start. Returns how many. */
size_t wf_rules_lexicon_match(const char *s, size_t n, size_t pos, const wf_rules_cue **out,
                              size_t max);

/* Length of the UTF-8 sequence led by byte c (1 for invalid leads). */
size_t wf_rules_char_len(unsigned char c);

static inline int wf_rules_is_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* --- context checks (context.c) ----------------------------------------- */

typedef struct wf_rules_span {
    size_t start, end;
} wf_rules_span;

/* The English word just before pos (1); 0 when a clause boundary
 * (punctuation, non-ASCII text or the start) comes first; -1 when another
 * symbol (a quote, a bracket) does. */
int wf_rules_prev_word(const char *s, size_t pos, wf_rules_span *w);
/* The English word just after pos; 0 and -1 as for wf_rules_prev_word. */
int wf_rules_next_word(const char *s, size_t n, size_t pos, wf_rules_span *w);

typedef struct wf_rules_eval {
    int ok;      /* the phrase is used evaluatively */
    int negated; /* under "not", "isnt", "never" */
} wf_rules_eval;

/* Whether an evaluative adjective at [start, end) judges the answer: it
 * opens its clause (after interjections; only when opens_ok), or follows
 * "<this|it|answer...> is" or a contraction like "thats", and is followed by
 * a clause end, a noun such as "answer", or a joining word. */
void wf_rules_check_eval(const char *s, size_t n, size_t start, size_t end, int opens_ok,
                         wf_rules_eval *out);
/* 1 when the phrase at start opens its clause, after interjections. */
int wf_rules_at_clause_start(const char *s, size_t start);
/* 1 when a positive phrase at start is hypothetical ("if it works",
 * "hope this helps"). */
int wf_rules_conditional(const char *s, size_t start);
/* 1 when a complaint at start is hypothetical ("if it doesnt work"). */
int wf_rules_hypothetical(const char *s, size_t start);
/* 1 when a CJK phrase ending at end closes its clause (or a particle follows). */
int wf_rules_cjk_clause_end(const char *s, size_t n, size_t end);
/* 1 when every English word and CJK character of s outside [start, end) is
 * filler ("please", "again", "请"): the message is a bare command. */
int wf_rules_only_filler(const char *s, size_t n, size_t start, size_t end);

/* --- scanning (scan.c) ---------------------------------------------------- */

/* Only this much of the feedback's head is searched for cues: feedback
 * speaks first; what follows is usually pasted material. */
#define WF_RULES_CUE_MAX 384
#define WF_RULES_MAX_HITS 32
#define WF_RULES_MAX_CLAUSES 32
#define WF_RULES_MAX_CONTRASTS 8

typedef struct wf_rules_hit {
    const wf_rules_cue *cue;
    uint8_t cat;    /* the cue's category, or REJECT for negated praise */
    uint8_t strong; /* decides with confidence */
    uint8_t clause; /* index of the clause it sits in */
    uint16_t start, end;
    const char *reason; /* static */
} wf_rules_hit;

typedef struct wf_rules_clause {
    uint8_t question; /* ends in "?" or "吗" */
    uint8_t request;  /* opens with a request ("can you", "帮我") */
    uint8_t build;    /* builds on the answer ("what if") */
    uint8_t weight;   /* words outside any phrase, x2 (a CJK character counts 1) */
} wf_rules_clause;

typedef struct wf_rules_scan {
    char text[WF_RULES_CUE_MAX + 1]; /* normalised head of the feedback */
    size_t n;
    size_t feedback_len; /* length of the whole feedback, trimmed */
    const char *response;
    int has_code; /* -1 until asked */
    wf_rules_hit hits[WF_RULES_MAX_HITS];
    size_t n_hits;
    wf_rules_clause clauses[WF_RULES_MAX_CLAUSES];
    size_t n_clauses;
    uint16_t contrasts[WF_RULES_MAX_CONTRASTS]; /* offsets of "but", "但是" */
    size_t n_contrasts;
    int detail; /* a concrete fix was supplied ("should be", "应该是") */
} wf_rules_scan;

/* Normalises lowered[0..n) (lower case already) into sc->text and records
 * every cue, marker and clause. */
void wf_rules_scan_text(wf_rules_scan *sc, const char *lowered, size_t n);
/* Whether the response has code, computed once per scan. */
int wf_rules_scan_has_code(wf_rules_scan *sc);

/* --- code and pasted errors (errors.c) ----------------------------------- */

/* 1 when the response contains code (fences or strong code tokens). */
int wf_rules_has_code(const char *response);
/* 1 when the lower-cased text s[0..n) contains compiler or runtime error output. */
int wf_rules_has_error_output(const char *s, size_t n);

#endif
