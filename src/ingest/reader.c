#include "ingest/reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* Bytes asked of zlib per read: large enough that the per-call cost
 * vanishes, small enough to stay in cache. */
#define WF_READ_CHUNK (256u * 1024u)

struct wf_line_reader {
    gzFile gz;
    char *path;
    size_t max_line;
    char *buf;
    size_t cap, start, end; /* unread bytes are buf[start..end) */
    int eof;
    uint64_t lineno, bytes;
};

wf_line_reader *wf_line_reader_open(const char *path, size_t max_line, wf_error *err)
{
    if (max_line > SIZE_MAX / 2) {
        wf_error_set(err, WF_EINVAL, "%s: line limit %zu is too large", path, max_line);
        return NULL;
    }
    wf_line_reader *r = calloc(1, sizeof *r);
    if (!r) {
        wf_error_set(err, WF_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    r->max_line = max_line;
    /* A line of max_line bytes plus "\r\n" always fits after compaction,
     * with a whole chunk of room left to read into. */
    r->cap = max_line + 2 + WF_READ_CHUNK;
    r->buf = malloc(r->cap);
    r->path = strdup(path);
    if (!r->buf || !r->path) {
        wf_line_reader_close(r);
        wf_error_set(err, WF_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : -1;
    errno = 0;
    r->gz = strcmp(path, "-") == 0 ? (fd >= 0 ? gzdopen(fd, "rb") : NULL) : gzopen(path, "rb");
    if (!r->gz) {
        wf_error_set(err, WF_EIO, "%s: cannot open: %s", path,
                     errno ? strerror(errno) : "out of memory");
        if (fd >= 0)
            close(fd);
        wf_line_reader_close(r);
        return NULL;
    }
    gzbuffer(r->gz, WF_READ_CHUNK);
    return r;
}

/* Reads into buf[end..cap); returns bytes read, 0 at end of input, or
 * WF_EIO (a truncated or corrupt gzip stream included). */
static int fill(wf_line_reader *r, wf_error *err)
{
    size_t room = r->cap - r->end;
    int n = gzread(r->gz, r->buf + r->end, (unsigned)(room < WF_READ_CHUNK ? room : WF_READ_CHUNK));
    if (n < 0) {
        int errnum;
        const char *msg = gzerror(r->gz, &errnum);
        return wf_error_set(err, WF_EIO, "%s: read failed: %s", r->path,
                            errnum == Z_ERRNO ? strerror(errno) : msg);
    }
    if (n == 0) {
        int errnum;
        const char *msg = gzerror(r->gz, &errnum);
        if (errnum != Z_OK && errnum != Z_STREAM_END)
            return wf_error_set(err, WF_EIO, "%s: read failed: %s", r->path, msg);
        r->eof = 1;
    }
    r->end += (size_t)n;
    r->bytes += (uint64_t)n;
    return n;
}

static void compact(wf_line_reader *r)
{
    if (r->start == 0)
        return;
    memmove(r->buf, r->buf + r->start, r->end - r->start);
    r->end -= r->start;
    r->start = 0;
}

/* Discards the rest of an over-long line; *len grows by what is dropped. */
static int skip_line(wf_line_reader *r, size_t *len, wf_error *err)
{
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        if (nl) {
            *len += (size_t)(nl - (r->buf + r->start));
            r->start = (size_t)(nl - r->buf) + 1;
            break;
        }
        *len += r->end - r->start;
        r->start = r->end = 0;
        if (r->eof)
            break;
        if (fill(r, err) < 0)
            return WF_EIO;
    }
    r->lineno++;
    return WF_LINE_TOO_LONG;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

/* Hands out buf[start..start+n) (its "\n", if any, already consumed). */
static int take_line(wf_line_reader *r, size_t n, const char **line, size_t *len)
{
    char *s = r->buf + r->start;
    r->lineno++;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    *line = s;
    *len = n;
    return n > r->max_line ? WF_LINE_TOO_LONG : WF_LINE_OK;
}

int wf_line_reader_next(wf_line_reader *r, const char **line, size_t *len, wf_error *err)
{
    for (;;) {
        size_t pending = r->end - r->start;
        char *nl = memchr(r->buf + r->start, '\n', pending);
        int rc = WF_LINE_EOF;
        if (nl) {
            rc = take_line(r, (size_t)(nl - (r->buf + r->start)), line, len);
            r->start = (size_t)(nl - r->buf) + 1;
        } else if (r->eof && pending > 0) {
            rc = take_line(r, pending, line, len);
            r->start = r->end;
        } else if (r->eof) {
            return WF_LINE_EOF;
        } else if (pending > r->max_line + 1) {
            *line = NULL;
            *len = 0;
            return skip_line(r, len, err);
        } else {
            compact(r);
            if (fill(r, err) < 0)
                return WF_EIO;
            continue;
        }
        if (rc == WF_LINE_TOO_LONG)
            *line = NULL;
        if (rc == WF_LINE_TOO_LONG || !is_blank(*line, *len))
            return rc;
    }
}

uint64_t wf_line_reader_lineno(const wf_line_reader *r)
{
    return r->lineno;
}

uint64_t wf_line_reader_bytes(const wf_line_reader *r)
{
    return r->bytes;
}

void wf_line_reader_close(wf_line_reader *r)
{
    if (!r)
        return;
    if (r->gz)
        gzclose(r->gz);
    free(r->buf);
    free(r->path);
    free(r);
}
