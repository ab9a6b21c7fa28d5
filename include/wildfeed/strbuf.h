/* Growable byte buffer, always NUL-terminated. The struct is owned by its
 * user; wf_strbuf_free releases the bytes. A failed allocation sets oom and
 * later appends are ignored, so callers check once at the end. */
#ifndef WILDFEED_STRBUF_H
#define WILDFEED_STRBUF_H

#include <stddef.h>

typedef struct wf_strbuf {
    char *data;
    size_t len;
    size_t cap;
    int oom;
} wf_strbuf;

void wf_strbuf_init(wf_strbuf *b);
void wf_strbuf_free(wf_strbuf *b);
void wf_strbuf_reset(wf_strbuf *b); /* len = 0, keeps capacity */
void wf_strbuf_append(wf_strbuf *b, const char *s, size_t n);
void wf_strbuf_puts(wf_strbuf *b, const char *s);
void wf_strbuf_putc(wf_strbuf *b, char c);
void wf_strbuf_printf(wf_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
void wf_strbuf_json_string(wf_strbuf *b, const char *s, size_t n);
/* Moves the bytes out (caller owns them, free()); b is reset to empty. */
char *wf_strbuf_take(wf_strbuf *b);

#endif
