/* Where `wildfeed extract` puts its samples: a temporary store with the
 * daemon's rules for a sample put again under the same id (a replay is
 * kept once; explicit feedback replaces an implicit label, never the other
 * way round), written out at the end as `wildfeed export` writes a store,
 * in id order. So an extract holds each sample once, as the daemon's store
 * would after reading the same records, and stays bounded in memory. */
#ifndef WF_CLI_EXTRACT_SINK_H
#define WF_CLI_EXTRACT_SINK_H

#include <stdio.h>

#include "wildfeed/pipeline.h"
#include "wildfeed/store.h"

/* The store's file and SQLite's files beside it. */
#define WF_EXTRACT_FILES 4

typedef struct wf_extract_sink {
    char dir[4096];                          /* the temporary directory holding the store */
    char files[WF_EXTRACT_FILES][4096 + 32]; /* the files the store may make there */
    wf_store *store;                         /* owned */
    size_t puts[3];                          /* by wf_store_put_result: kept, inserted, replaced */
} wf_extract_sink;

/* Creates the store in a new directory under $TMPDIR (default /tmp). */
int wf_extract_sink_open(wf_extract_sink *s, wf_error *err);
/* The pipeline's sink into s (borrowed: s outlives the pipeline). */
wf_sample_sink wf_extract_sink_of(wf_extract_sink *s);
/* Commits what is pending and writes every sample to out as WildFB JSONL;
 * *n_written gets the line count. */
int wf_extract_sink_write(wf_extract_sink *s, FILE *out, size_t *n_written, wf_error *err);
/* Closes the store and removes its files and directory. */
void wf_extract_sink_close(wf_extract_sink *s);
/* Removes the files and the directory, the store left open: the last
 * thing a process that is about to end does (async-signal-safe). */
void wf_extract_sink_remove(const wf_extract_sink *s);

#endif
