#include "cli/inputs.h"

#include <stdio.h>
#include <stdlib.h>

int wf_inputs_open(wf_inputs *in, const char **paths, size_t n, size_t max_line)
{
    in->n = 0;
    in->names = paths;
    in->readers = calloc(n ? n : 1, sizeof *in->readers);
    if (!in->readers) {
        fprintf(stderr, "wildfeed: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        wf_error err;
        in->readers[i] = wf_line_reader_open(paths[i], max_line, &err);
        if (!in->readers[i]) {
            fprintf(stderr, "wildfeed: %s\n", err.msg);
            wf_inputs_close(in);
            return -1;
        }
        in->n++;
    }
    return 0;
}

void wf_inputs_close(wf_inputs *in)
{
    for (size_t i = 0; i < in->n; i++)
        wf_line_reader_close(in->readers[i]);
    free(in->readers);
    in->readers = NULL;
    in->n = 0;
}
