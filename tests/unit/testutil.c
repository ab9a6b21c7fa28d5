#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

const char *wf_test_fixture(const char *name)
{
    static char path[4096];
    const char *dir = getenv("WF_FIXTURES");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/fixtures", name);
    return path;
}

char *wf_test_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (cap - len < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[len] = '\0';
    if (n)
        *n = len;
    return buf;
}

const char *wf_test_tmpdir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/wftest.XXXXXX");
    return mkdtemp(dir);
}
