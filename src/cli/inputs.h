/* Input-file handling shared by `extract` and `judge`: -i FILE (repeatable,
 * or followed by several names), "-" for stdin, .gz files, and every file
 * opened before any work starts so an unreadable one fails fast. */
#ifndef WF_CLI_INPUTS_H
#define WF_CLI_INPUTS_H

#include <stddef.h>

#include "ingest/reader.h"
#include "wildfeed/config.h"

typedef struct wf_inputs {
    wf_line_reader **readers;
    const char **names;
    size_t n;
} wf_inputs;

/* Opens every path; prints "wildfeed: <error>" and returns -1 on failure. */
int wf_inputs_open(wf_inputs *in, const char **paths, size_t n, size_t max_line);
void wf_inputs_close(wf_inputs *in);

#endif
