/* Model input rendering: a template split once into literal spans and
 * placeholders, so rendering is a few appends and substituted text is never
 * scanned for placeholders again. */
#include "feedback/template.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/text.h"

/* The released WildReward model's input layout
 * (shared/formats/wildreward-input.md); it must stay byte for byte. */
static const char default_template[] =
    "# Task Description\n"
    "You are an expert conversation evaluator. Your task is to judge the **User's Satisfaction** "
    "with the Assistant's response based on the conversation context.\n"
    "Please rate the response on a scale of 1 to 5 integers.\n"
    "\n"
    "# Scoring Criteria\n"
    "[1] CLEARLY NEGATIVE / REJECTION\n"
    "[2] CORRECTION / ERROR POINTER (Negative)\n"
    "[3] NEUTRAL\n"
    "[4] POSITIVE ENGAGEMENT\n"
    "[5] CLEAR SATISFACTION\n"
    "\n"
    "# Input Data\n"
    "## Context (History)\n"
    "{history}\n"
    "\n"
    "## User Query\n"
    "{query}\n"
    "\n"
    "## Assistant Response\n"
    "{response}\n"
    "\n"
    "# Output\n"
    "Based on the criteria above, please output ONLY the integer score (1, 2, 3, 4, or 5).\n";

/* A custom template bigger than this is surely a wrong path. */
#define TEMPLATE_MAX_BYTES (1u << 20)

typedef enum seg_kind { SEG_TEXT, SEG_HISTORY, SEG_QUERY, SEG_RESPONSE } seg_kind;

typedef struct segment {
    seg_kind kind;
    size_t off, len; /* SEG_TEXT: span of t->text */
} segment;

struct wf_template {
    char *text;
    segment *segs;
    size_t n_segs;
};

static const struct {
    const char *name;
    seg_kind kind;
} placeholders[] = {
    {"{history}", SEG_HISTORY},
    {"{query}", SEG_QUERY},
    {"{response}", SEG_RESPONSE},
};

static int placeholder_at(const char *s, size_t left, size_t *len)
{
    for (size_t i = 0; i < sizeof placeholders / sizeof placeholders[0]; i++) {
        size_t n = strlen(placeholders[i].name);
        if (n <= left && memcmp(s, placeholders[i].name, n) == 0) {
            *len = n;
            return (int)placeholders[i].kind;
        }
    }
    return -1;
}

static void add_seg(wf_template *t, seg_kind kind, size_t off, size_t len)
{
    if (kind == SEG_TEXT && len == 0)
        return;
    t->segs[t->n_segs++] = (segment){kind, off, len};
}

/* Splits t->text into segments. A text of n bytes has at most n / 7 + 1
 * placeholders ("{query}" is the shortest), each followed by one literal. */
static int compile(wf_template *t)
{
    size_t n = strlen(t->text);
    t->segs = malloc((2 * (n / 7) + 1) * sizeof *t->segs);
    if (!t->segs)
        return WF_ENOMEM;
    size_t lit = 0;
    for (size_t i = 0; i < n;) {
        size_t len;
        int kind = t->text[i] == '{' ? placeholder_at(t->text + i, n - i, &len) : -1;
        if (kind < 0) {
            i++;
            continue;
        }
        add_seg(t, SEG_TEXT, lit, i - lit);
        add_seg(t, (seg_kind)kind, 0, 0);
        i += len;
        lit = i;
    }
    add_seg(t, SEG_TEXT, lit, n - lit);
    return 0;
}

static char *read_template_file(const char *path, wf_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        wf_error_set(err, WF_EIO, "sample.template_file: %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(TEMPLATE_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, TEMPLATE_MAX_BYTES + 1, f) : 0;
    int failed = buf && ferror(f);
    fclose(f);
    if (!buf) {
        wf_error_set(err, WF_ENOMEM, "out of memory reading %s", path);
        return NULL;
    }
    const char *why = failed                   ? "read error"
                      : n > TEMPLATE_MAX_BYTES ? "larger than 1 MiB"
                      : memchr(buf, '\0', n)   ? "contains a NUL byte"
                      : !wf_utf8_valid(buf, n) ? "not valid UTF-8"
                                               : NULL;
    if (why) {
        wf_error_set(err, failed ? WF_EIO : WF_EINVAL, "sample.template_file: %s: %s", path, why);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

wf_template *wf_template_load(const char *path, wf_error *err)
{
    wf_template *t = calloc(1, sizeof *t);
    if (!t) {
        wf_error_set(err, WF_ENOMEM, "out of memory");
        return NULL;
    }
    if (path && *path)
        t->text = read_template_file(path, err);
    else if (!(t->text = strdup(default_template)))
        wf_error_set(err, WF_ENOMEM, "out of memory");
    if (t->text && compile(t) < 0)
        wf_error_set(err, WF_ENOMEM, "out of memory");
    if (!t->text || !t->segs) {
        wf_template_free(t);
        return NULL;
    }
    return t;
}

void wf_template_free(wf_template *t)
{
    if (!t)
        return;
    free(t->text);
    free(t->segs);
    free(t);
}

/* The code points Python's str.isspace() accepts, which str.strip() removes. */
static int is_py_space(uint32_t cp)
{
    if (cp < 0x80)
        return cp == ' ' || (cp >= '\t' && cp <= '\r') || (cp >= 0x1C && cp <= 0x1F);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Length of the whitespace code point that ends s[0..n), or 0. A UTF-8
 * sequence is 1 to 3 bytes here (no whitespace lies above U+FFFF). */
static size_t space_before(const char *s, size_t n)
{
    for (size_t len = 1; len <= 3 && len <= n; len++) {
        if (((unsigned char)s[n - len] & 0xC0) == 0x80)
            continue; /* a continuation byte: the sequence starts earlier */
        size_t got;
        uint32_t cp = wf_utf8_decode(s + n - len, len, &got);
        return got == len && is_py_space(cp) ? len : 0;
    }
    return 0;
}

static int history_is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t len;
        if (!is_py_space(wf_utf8_decode(s + i, n - i, &len)))
            return 0;
        i += len;
    }
    return 1;
}

static void render_history(const wf_msg *history, size_t n_history, wf_strbuf *out)
{
    size_t start = out->len;
    for (size_t i = 0; i < n_history; i++) {
        const char *role = history[i].role && *history[i].role ? history[i].role : "User";
        wf_strbuf_puts(out, role);
        wf_strbuf_append(out, ": ", 2);
        wf_strbuf_append(out, history[i].content, history[i].content_len);
        wf_strbuf_putc(out, '\n');
    }
    if (out->oom || (out->len > start && !history_is_blank(out->data + start, out->len - start)))
        return;
    out->len = start;
    wf_strbuf_puts(out, "No previous context.");
}

/* Strips out->data[start..len) in place, as str.strip() would. */
static void strip_from(wf_strbuf *out, size_t start)
{
    size_t end = out->len, len, skip;
    while (end > start && (skip = space_before(out->data + start, end - start)) > 0)
        end -= skip;
    size_t first = start;
    while (first < end && is_py_space(wf_utf8_decode(out->data + first, end - first, &len)))
        first += len;
    memmove(out->data + start, out->data + first, end - first);
    out->len = start + (end - first);
    out->data[out->len] = '\0';
}

void wf_template_render(const wf_template *t, const wf_msg *history, size_t n_history,
                        const char *query, const char *response, wf_strbuf *out)
{
    size_t start = out->len;
    for (size_t i = 0; i < t->n_segs; i++) {
        const segment *sg = &t->segs[i];
        switch (sg->kind) {
        case SEG_TEXT: wf_strbuf_append(out, t->text + sg->off, sg->len); break;
        case SEG_HISTORY: render_history(history, n_history, out); break;
        case SEG_QUERY: wf_strbuf_puts(out, query); break;
        case SEG_RESPONSE: wf_strbuf_puts(out, response); break;
        }
    }
    if (!out->oom && out->data)
        strip_from(out, start);
}
