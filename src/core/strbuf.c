#include "wildfeed/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wf_strbuf_init(wf_strbuf *b)
{
    memset(b, 0, sizeof *b);
}

void wf_strbuf_free(wf_strbuf *b)
{
    free(b->data);
    wf_strbuf_init(b);
}

void wf_strbuf_reset(wf_strbuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int reserve(wf_strbuf *b, size_t extra)
{
    if (b->oom)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void wf_strbuf_append(wf_strbuf *b, const char *s, size_t n)
{
    if (reserve(b, n) < 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void wf_strbuf_puts(wf_strbuf *b, const char *s)
{
    wf_strbuf_append(b, s, strlen(s));
}

void wf_strbuf_putc(wf_strbuf *b, char c)
{
    wf_strbuf_append(b, &c, 1);
}

void wf_strbuf_printf(wf_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void wf_strbuf_json_string(wf_strbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (reserve(b, n + 2) < 0)
        return;
    wf_strbuf_putc(b, '"');
    size_t run = 0; /* bytes copied verbatim in one append */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        wf_strbuf_append(b, s + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0};
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            wf_strbuf_append(b, esc, 6);
            continue;
        }
        wf_strbuf_append(b, esc, 2);
    }
    wf_strbuf_append(b, s + run, n - run);
    wf_strbuf_putc(b, '"');
}

char *wf_strbuf_take(wf_strbuf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    wf_strbuf_init(b);
    return p;
}
