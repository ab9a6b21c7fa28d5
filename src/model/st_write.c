/* safetensors writer: F32 tensors sorted by name, metadata sorted by key,
 * header padded with spaces to 8 bytes, so equal inputs give equal bytes.
 * The file appears atomically (temporary file, fsync, rename). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wildfeed/safetensors.h"
#include "wildfeed/strbuf.h"

static size_t numel_of(const wf_st_out *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    return n;
}

static int by_tensor_name(const void *a, const void *b)
{
    return strcmp((*(const wf_st_out *const *)a)->name, (*(const wf_st_out *const *)b)->name);
}

static int by_key(const void *a, const void *b)
{
    return strcmp((*(const wf_st_kv *const *)a)->key, (*(const wf_st_kv *const *)b)->key);
}

static void put_meta(wf_strbuf *h, const wf_st_kv *meta, size_t n_meta, const wf_st_kv **sorted)
{
    for (size_t i = 0; i < n_meta; i++)
        sorted[i] = &meta[i];
    qsort(sorted, n_meta, sizeof *sorted, by_key);
    wf_strbuf_puts(h, "\"__metadata__\":{");
    for (size_t i = 0; i < n_meta; i++) {
        if (i)
            wf_strbuf_putc(h, ',');
        wf_strbuf_json_string(h, sorted[i]->key, strlen(sorted[i]->key));
        wf_strbuf_putc(h, ':');
        wf_strbuf_json_string(h, sorted[i]->value, strlen(sorted[i]->value));
    }
    wf_strbuf_putc(h, '}');
}

static void put_tensor(wf_strbuf *h, const wf_st_out *t, size_t *offset)
{
    size_t bytes = 4 * numel_of(t);
    wf_strbuf_putc(h, ',');
    wf_strbuf_json_string(h, t->name, strlen(t->name));
    wf_strbuf_puts(h, ":{\"dtype\":\"F32\",\"shape\":[");
    for (int d = 0; d < t->ndim; d++)
        wf_strbuf_printf(h, d ? ",%llu" : "%llu", (unsigned long long)t->shape[d]);
    wf_strbuf_printf(h, "],\"data_offsets\":[%zu,%zu]}", *offset, *offset + bytes);
    *offset += bytes;
}

static int write_floats(FILE *f, const float *x, size_t n)
{
    uint8_t buf[4096];
    size_t fill = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        for (int b = 0; b < 4; b++)
            buf[fill++] = (uint8_t)(u >> (8 * b));
        if (fill == sizeof buf || i + 1 == n) {
            if (fwrite(buf, 1, fill, f) != fill)
                return -1;
            fill = 0;
        }
    }
    return 0;
}

static int write_body(FILE *f, const wf_strbuf *h, const wf_st_out *const *sorted, size_t n)
{
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)((uint64_t)h->len >> (8 * i));
    if (fwrite(len, 1, 8, f) != 8 || fwrite(h->data, 1, h->len, f) != h->len)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (write_floats(f, sorted[i]->data, numel_of(sorted[i])) < 0)
            return -1;
    return 0;
}

static int write_atomically(const char *path, const wf_strbuf *h, const wf_st_out *const *sorted,
                            size_t n, wf_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    int rc = 0;
    if (!f) {
        rc = wf_error_set(err, WF_EIO, "%s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
    } else {
        int failed = write_body(f, h, sorted, n) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0;
        failed |= fclose(f) != 0;
        if (failed || rename(tmp, path) != 0)
            rc = wf_error_set(err, WF_EIO, "%s: %s", path, strerror(errno));
    }
    if (rc && fd >= 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int wf_st_write(const char *path, const wf_st_out *t, size_t n, const wf_st_kv *meta, size_t n_meta,
                wf_error *err)
{
    const wf_st_out **sorted = malloc((n + 1) * sizeof *sorted);
    const wf_st_kv **msorted = malloc((n_meta + 1) * sizeof *msorted);
    if (!sorted || !msorted) {
        free(sorted);
        free(msorted);
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = &t[i];
    qsort(sorted, n, sizeof *sorted, by_tensor_name);
    int rc = 0;
    for (size_t i = 0; i + 1 < n && !rc; i++)
        if (strcmp(sorted[i]->name, sorted[i + 1]->name) == 0)
            rc = wf_error_set(err, WF_EINVAL, "%s: tensor \"%s\" given twice", path,
                              sorted[i]->name);
    wf_strbuf h;
    wf_strbuf_init(&h);
    wf_strbuf_putc(&h, '{');
    put_meta(&h, meta, n_meta, msorted);
    size_t offset = 0;
    for (size_t i = 0; i < n; i++)
        put_tensor(&h, sorted[i], &offset);
    wf_strbuf_putc(&h, '}');
    while (h.len % 8)
        wf_strbuf_putc(&h, ' ');
    if (!rc && h.oom)
        rc = wf_error_set(err, WF_ENOMEM, "out of memory");
    if (!rc)
        rc = write_atomically(path, &h, sorted, n, err);
    wf_strbuf_free(&h);
    free(sorted);
    free(msorted);
    return rc;
}
