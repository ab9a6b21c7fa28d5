/* Context checks that decide whether a matched phrase is really feedback on
 * the answer: "perfect" in "that's perfect" is praise, in "write a perfect
 * cover letter" it is part of a request. They look only at the words next to
 * the phrase, inside its clause, so they cost nothing unless a cue matched. */
#include <string.h>

#include "wildfeed/text.h"

#include "rules_internal.h"

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Words that may precede a clause-opening cue ("oh great", "no, wrong"). */
static const char *const *const interjections =
    WORDS("oh", "wow", "ok", "okay", "well", "yes", "yeah", "yep", "yea", "ah", "omg", "lol",
          "haha", "hmm", "hm", "man", "dude", "hey", "no", "nope", "what", "and", "but", "so",
          "just", "still", "again", "now", "sir", "bro", "really", "honestly", "seriously",
          "alright", "please", "pls", "plz");
/* Words between a copula and its adjective ("is really not that good"). */
static const char *const *const intensifiers =
    WORDS("very", "so", "really", "absolutely", "totally", "completely", "just", "pretty", "quite",
          "simply", "truly", "all", "extremely", "super", "incredibly", "still", "also", "actually",
          "kinda", "somewhat", "fairly", "rather", "most", "definitely", "certainly", "way", "far",
          "much", "a", "bit", "little", "even", "entirely", "utterly", "that", "too", "such", "an",
          "clearly", "obviously");
static const char *const *const negators =
    WORDS("not", "never", "hardly", "barely", "no", "dont", "doesnt", "didnt", "aint");
static const char *const *const copulas =
    WORDS("is", "was", "are", "were", "looks", "look", "seems", "seem", "sounds", "sound", "feels",
          "be", "been", "isnt", "wasnt", "arent", "werent");
static const char *const *const negated_copulas = WORDS("isnt", "wasnt", "arent", "werent");
/* Contractions that carry their own subject (apostrophes removed). */
static const char *const *const subject_contractions =
    WORDS("thats", "its", "youre", "theyre", "thiss", "ur", "thatis");
/* Subjects that make "<subject> is <adjective>" a judgement of the answer. */
static const char *const *const subjects = WORDS(
    "this", "that", "it", "you", "answer", "answers", "response", "responses", "reply", "code",
    "output", "result", "results", "explanation", "solution", "translation", "summary", "one",
    "these", "those", "they", "everything", "script", "program", "function", "version", "story",
    "poem", "essay", "text", "list", "email", "letter", "example", "idea", "suggestion", "approach",
    "method", "query", "regex", "formula", "calculation", "math", "information", "info", "article",
    "paragraph", "sentence", "title", "description", "advice", "work", "job", "table", "chart",
    "joke", "song", "examples", "steps", "instructions", "lyrics", "words", "sentences", "options",
    "suggestions", "ideas", "numbers", "calculations");
/* Nouns an evaluative adjective may qualify ("great answer"). */
static const char *const *const nouns =
    WORDS("answer", "answers", "response", "responses", "reply", "job", "work", "explanation",
          "solution", "result", "results", "code", "idea", "suggestion", "suggestions", "point",
          "summary", "translation", "advice", "effort", "info", "information", "output", "stuff",
          "one", "attempt", "version", "list", "story", "poem", "essay");
/* Words that may follow an evaluative adjective without changing its sense. */
static const char *const *const joiners =
    WORDS("thanks", "thank", "thx", "ty", "now", "so", "but", "and", "lol", "haha", "though",
          "because", "since", "in", "about", "for", "as", "again", "here", "there", "indeed", "btw",
          "man", "dude", "bro", "buddy", "sir", "mate", "overall", "anyway", "actually", "really",
          "enough", "imo", "honestly", "tho", "btw", "you", "this", "that", "it", "i", "im", "we",
          "its", "thats", "lmao", "lmfao", "omg", "wow", "please", "pls", "yet", "however", "too",
          "then", "ok", "okay", "mate", "my", "friend", "try");
/* Words that make a following positive phrase hypothetical. */
static const char *const *const conditionals =
    WORDS("if", "whether", "hope", "hopefully", "until", "unless", "once", "see", "check", "test",
          "sure", "ensure", "know", "how", "why", "wonder", "would", "could", "should", "might",
          "will", "may", "when", "hopes", "wish", "think", "thought", "sometimes");
/* Words that make a following complaint hypothetical ("if it doesnt work"). */
static const char *const *const hypotheticals = WORDS("if", "whether", "unless", "case");
/* Filler around a bare command ("please try again"). */
static const char *const *const fillers =
    WORDS("please", "pls", "plz", "can", "you", "could", "would", "just", "ok", "okay", "again",
          "one", "more", "time", "it", "that", "this", "do", "the", "answer", "response", "now",
          "try", "lol", "hey", "bro", "man", "sir", "ty", "thanks", "thank");
static const char *const cjk_fillers = "请你再吧呗一下次啊了哦呀嗯";
static const char *const cjk_particles = "了啊呀吧哦喔嘛哈啦呢";

static int word_is(const char *const *list, const char *s, const wf_rules_span *w)
{
    size_t len = w->end - w->start;
    for (; *list; list++)
        if (strlen(*list) == len && memcmp(*list, s + w->start, len) == 0)
            return 1;
    return 0;
}

/* Clause boundaries: the text's ends, clause punctuation, and any non-ASCII
 * character (CJK text, full-width punctuation, emoji). Quotes, brackets and
 * other ASCII symbols are not: a quoted "wrong" is a mention, not a verdict. */
static int is_boundary(unsigned char c)
{
    return c >= 0x80 || c == '.' || c == '!' || c == '?' || c == ';' || c == ':' || c == ',' ||
           c == '\n';
}

int wf_rules_prev_word(const char *s, size_t pos, wf_rules_span *w)
{
    while (pos > 0 && s[pos - 1] == ' ')
        pos--;
    if (pos == 0 || is_boundary((unsigned char)s[pos - 1]))
        return 0;
    if (!wf_rules_is_word((unsigned char)s[pos - 1]))
        return -1;
    w->end = pos;
    while (pos > 0 && (wf_rules_is_word((unsigned char)s[pos - 1]) || s[pos - 1] == '-'))
        pos--;
    w->start = pos;
    return 1;
}

int wf_rules_next_word(const char *s, size_t n, size_t pos, wf_rules_span *w)
{
    while (pos < n && s[pos] == ' ')
        pos++;
    if (pos == n || is_boundary((unsigned char)s[pos]))
        return 0;
    if (!wf_rules_is_word((unsigned char)s[pos]))
        return -1;
    w->start = pos;
    while (pos < n && (wf_rules_is_word((unsigned char)s[pos]) || s[pos] == '-'))
        pos++;
    w->end = pos;
    return 1;
}

int wf_rules_at_clause_start(const char *s, size_t start)
{
    wf_rules_span w;
    for (int steps = 0; steps < 4; steps++) {
        int got = wf_rules_prev_word(s, start, &w);
        if (got <= 0)
            return got == 0;
        if (!word_is(interjections, s, &w))
            return 0;
        start = w.start;
    }
    return 0;
}

/* "your <anything> is wrong": whatever the assistant produced. */
static int owned_by_you(const char *s, const wf_rules_span *subj)
{
    wf_rules_span w;
    return wf_rules_prev_word(s, subj->start, &w) > 0 && w.end - w.start == 4 &&
           memcmp(s + w.start, "your", 4) == 0;
}

/* Walks back from an adjective over intensifiers and negators to a clause
 * start (allowed only when opens_ok), a "<subject> <copula>" pair or a
 * subject contraction. */
static int judges_answer(const char *s, size_t start, int opens_ok, int *negated)
{
    wf_rules_span w, subj;
    for (int steps = 0; steps < 6; steps++) {
        int got = wf_rules_prev_word(s, start, &w);
        if (got <= 0)
            return got == 0 && opens_ok;
        if (word_is(negators, s, &w))
            *negated = 1;
        else if (word_is(subject_contractions, s, &w))
            return 1;
        else if (word_is(copulas, s, &w)) {
            if (word_is(negated_copulas, s, &w))
                *negated = 1;
            return wf_rules_prev_word(s, w.start, &subj) > 0 &&
                   (word_is(subjects, s, &subj) || owned_by_you(s, &subj));
        } else if (!word_is(intensifiers, s, &w) && !word_is(interjections, s, &w))
            return 0;
        start = w.start;
    }
    return 0;
}

void wf_rules_check_eval(const char *s, size_t n, size_t start, size_t end, int opens_ok,
                         wf_rules_eval *out)
{
    out->negated = 0;
    out->ok = judges_answer(s, start, opens_ok, &out->negated);
    wf_rules_span next;
    int got = out->ok ? wf_rules_next_word(s, n, end, &next) : 0;
    if (got < 0)
        out->ok = 0;
    else if (got > 0)
        out->ok = word_is(nouns, s, &next) || word_is(joiners, s, &next);
}

static int preceded_by(const char *const *list, const char *s, size_t start)
{
    wf_rules_span w;
    for (int steps = 0; steps < 5 && wf_rules_prev_word(s, start, &w) > 0; steps++) {
        if (word_is(list, s, &w))
            return 1;
        start = w.start;
    }
    return 0;
}

int wf_rules_conditional(const char *s, size_t start)
{
    return preceded_by(conditionals, s, start);
}

int wf_rules_hypothetical(const char *s, size_t start)
{
    return preceded_by(hypotheticals, s, start);
}

static int cjk_in(const char *set, const char *s, size_t len)
{
    for (const char *p = set; *p; p += 3)
        if (len == 3 && memcmp(p, s, 3) == 0)
            return 1;
    return 0;
}

int wf_rules_cjk_clause_end(const char *s, size_t n, size_t end)
{
    if (end >= n)
        return 1;
    unsigned char c = (unsigned char)s[end];
    if (c < 0x80)
        return !wf_rules_is_word(c);
    size_t len;
    uint32_t cp = wf_utf8_decode(s + end, n - end, &len);
    if (!wf_is_cjk(cp))
        return 1;
    return cjk_in(cjk_particles, s + end, len);
}

int wf_rules_only_filler(const char *s, size_t n, size_t start, size_t end)
{
    for (size_t i = 0; i < n;) {
        if (i >= start && i < end) {
            i = end;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        wf_rules_span w;
        if (wf_rules_is_word(c) && wf_rules_next_word(s, n, i, &w) > 0) {
            if (!word_is(fillers, s, &w))
                return 0;
            i = w.end;
        } else if (c >= 0x80) {
            size_t len;
            uint32_t cp = wf_utf8_decode(s + i, n - i, &len);
            if (wf_is_cjk(cp) && !cjk_in(cjk_fillers, s + i, len))
                return 0;
            i += len;
        } else {
            i++;
        }
    }
    return 1;
}
