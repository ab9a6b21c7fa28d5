/* Line reader for JSONL inputs: a file path, "-" for stdin, gzip files
 * (detected by content, so a plain file named .gz or a gzip file without
 * the suffix both work). Reads in large blocks into one buffer allocated
 * at open; lines are handed out in place, without a copy or a malloc. */
#ifndef WF_INGEST_READER_H
#define WF_INGEST_READER_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/err.h"

typedef struct wf_line_reader wf_line_reader;

/* Results of wf_line_reader_next besides negative errors. */
enum {
    WF_LINE_EOF = 0,
    WF_LINE_OK = 1,      /* *line, *len: one line, no "\n" or "\r\n" */
    WF_LINE_TOO_LONG = 2 /* a line over max_line was skipped; *len: its length */
};

/* Opens path ("-" = stdin, which is not closed by wf_line_reader_close).
 * Lines longer than max_line bytes (terminator excluded) are skipped, never
 * buffered whole. The reader is owned by the caller. NULL on error. */
wf_line_reader *wf_line_reader_open(const char *path, size_t max_line, wf_error *err);

/* The next non-blank line. *line stays valid until the next call. Returns
 * WF_LINE_OK, WF_LINE_TOO_LONG, WF_LINE_EOF or WF_EIO (err names the path). */
int wf_line_reader_next(wf_line_reader *r, const char **line, size_t *len, wf_error *err);

/* 1-based number of the line last returned (blank lines counted). */
uint64_t wf_line_reader_lineno(const wf_line_reader *r);
/* Uncompressed bytes read so far. */
uint64_t wf_line_reader_bytes(const wf_line_reader *r);

void wf_line_reader_close(wf_line_reader *r);

#endif
