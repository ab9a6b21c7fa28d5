/* The temporary store behind `wildfeed extract` (extract_sink.h). Durability
 * is not wanted here (the files are removed at the end), so the store runs
 * without fsync, in large batches. */
#include "cli/extract_sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXTRACT_BATCH 4096

static int put_sample(void *ctx, wf_sample *smp, wf_error *err)
{
    wf_extract_sink *s = ctx;
    wf_store_put_result res = WF_STORE_KEPT;
    int rc = wf_store_in_batch(s->store) ? 0 : wf_store_begin(s->store, err);
    if (rc == 0)
        rc = wf_store_put_sample(s->store, smp, &res, err);
    wf_sample_free(smp);
    if (rc < 0)
        return rc;
    s->puts[res]++;
    return wf_store_batch_full(s->store) ? wf_store_commit(s->store, err) : 0;
}

static const char *const SUFFIXES[WF_EXTRACT_FILES] = {"", "-wal", "-shm", "-journal"};

int wf_extract_sink_open(wf_extract_sink *s, wf_error *err)
{
    memset(s, 0, sizeof *s);
    const char *tmp = getenv("TMPDIR");
    tmp = tmp && *tmp ? tmp : "/tmp";
    int n = snprintf(s->dir, sizeof s->dir, "%s/wildfeed-extract.XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof s->dir || !mkdtemp(s->dir)) {
        s->dir[0] = '\0';
        return wf_error_set(
            err, WF_EIO, "cannot make a temporary directory under %s (TMPDIR): %s", tmp,
            n < 0 || (size_t)n >= sizeof s->dir ? "path too long" : strerror(errno));
    }
    for (int i = 0; i < WF_EXTRACT_FILES; i++)
        snprintf(s->files[i], sizeof s->files[i], "%s/samples.db%s", s->dir, SUFFIXES[i]);
    wf_store_options o;
    wf_store_options_default(&o, s->files[0]);
    o.synchronous = WF_STORE_SYNC_OFF;
    o.batch_max = EXTRACT_BATCH;
    int rc = wf_store_open(&o, &s->store, err);
    if (rc < 0)
        wf_extract_sink_close(s);
    return rc;
}

wf_sample_sink wf_extract_sink_of(wf_extract_sink *s)
{
    return (wf_sample_sink){put_sample, s};
}

int wf_extract_sink_write(wf_extract_sink *s, FILE *out, size_t *n_written, wf_error *err)
{
    int rc = wf_store_in_batch(s->store) ? wf_store_commit(s->store, err) : 0;
    return rc < 0 ? rc : wf_store_export(s->store, out, WF_STORE_ALL, n_written, err);
}

void wf_extract_sink_remove(const wf_extract_sink *s)
{
    if (!s->dir[0])
        return;
    for (int i = 0; i < WF_EXTRACT_FILES; i++)
        unlink(s->files[i]);
    rmdir(s->dir);
}

void wf_extract_sink_close(wf_extract_sink *s)
{
    wf_store_close(s->store);
    s->store = NULL;
    wf_extract_sink_remove(s);
    s->dir[0] = '\0';
}
