/* safetensors reader: every size and offset in the header is checked against
 * the bytes actually present before any tensor is exposed. */
#include "wildfeed/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct wf_st_file {
    wf_st_tensor *t;
    size_t n;
    char **meta; /* key, value, key, value, ... */
    size_t n_meta;
    void *map; /* when opened from a path */
    size_t map_len;
    char *what;
};

static const struct {
    const char *name;
    wf_st_dtype dtype;
    size_t size;
} dtypes[] = {{"F32", WF_ST_F32, 4}, {"F16", WF_ST_F16, 2}, {"BF16", WF_ST_BF16, 2}};

void wf_st_close(wf_st_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free((char *)f->t[i].name);
    for (size_t i = 0; i < 2 * f->n_meta; i++)
        free(f->meta[i]);
    free(f->t);
    free(f->meta);
    if (f->map)
        munmap(f->map, f->map_len);
    free(f->what);
    free(f);
}

static int bad(wf_error *err, const char *what, const char *name, const char *why)
{
    if (name)
        return wf_error_set(err, WF_ECORRUPT, "%s: tensor \"%s\": %s", what, name, why);
    return wf_error_set(err, WF_ECORRUPT, "%s: %s", what, why);
}

static int parse_dtype(json_t *v, wf_st_dtype *dtype, size_t *size)
{
    const char *s = json_string_value(v);
    for (size_t i = 0; s && i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(s, dtypes[i].name) == 0) {
            *dtype = dtypes[i].dtype;
            *size = dtypes[i].size;
            return 0;
        }
    return -1;
}

/* A non-negative JSON integer (JSON reals are refused). */
static int get_u64(json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static const char *parse_shape(json_t *v, wf_st_tensor *t, size_t elem_size)
{
    if (!json_is_array(v) || json_array_size(v) > WF_ST_MAX_DIMS)
        return "shape is not an array of at most 8 sizes";
    t->ndim = (int)json_array_size(v);
    uint64_t numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (get_u64(json_array_get(v, (size_t)d), &t->shape[d]) < 0)
            return "shape holds a non-integer or negative size";
        if (t->shape[d] != 0 && numel > SIZE_MAX / elem_size / t->shape[d])
            return "shape too large";
        numel *= t->shape[d];
    }
    t->numel = (size_t)numel;
    t->nbytes = t->numel * elem_size;
    return NULL;
}

/* Fills t from one header entry; data is set to the offset for now. */
static int parse_entry(const char *what, const char *name, json_t *e, wf_st_tensor *t,
                       uint64_t *begin, wf_error *err)
{
    if (!json_is_object(e))
        return bad(err, what, name, "entry is not an object");
    size_t size;
    if (parse_dtype(json_object_get(e, "dtype"), &t->dtype, &size) < 0)
        return bad(err, what, name, "dtype is not F32, F16 or BF16");
    const char *why = parse_shape(json_object_get(e, "shape"), t, size);
    if (why)
        return bad(err, what, name, why);
    json_t *off = json_object_get(e, "data_offsets");
    uint64_t end;
    if (!json_is_array(off) || json_array_size(off) != 2 ||
        get_u64(json_array_get(off, 0), begin) < 0 || get_u64(json_array_get(off, 1), &end) < 0 ||
        end < *begin)
        return bad(err, what, name, "data_offsets is not [begin, end] with begin <= end");
    if (end - *begin != t->nbytes)
        return bad(err, what, name, "data_offsets span does not match dtype and shape");
    return 0;
}

static int parse_meta(const char *what, json_t *m, wf_st_file *f, wf_error *err)
{
    if (!json_is_object(m))
        return bad(err, what, NULL, "__metadata__ is not an object");
    f->meta = calloc(2 * json_object_size(m) + 1, sizeof *f->meta);
    if (!f->meta)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
    {
        if (!json_is_string(v))
            return bad(err, what, NULL, "__metadata__ value is not a string");
        f->meta[2 * f->n_meta] = strdup(k);
        f->meta[2 * f->n_meta + 1] = strdup(json_string_value(v));
        f->n_meta++;
        if (!f->meta[2 * f->n_meta - 2] || !f->meta[2 * f->n_meta - 1])
            return wf_error_set(err, WF_ENOMEM, "out of memory");
    }
    return 0;
}

typedef struct placed {
    uint64_t begin;
    size_t idx;
} placed;

static int by_begin(const void *a, const void *b)
{
    const placed *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorts the tensors by offset and checks they tile data[0..len) exactly. */
static int place(const char *what, wf_st_file *f, placed *pl, const uint8_t *data, size_t len,
                 wf_error *err)
{
    qsort(pl, f->n, sizeof *pl, by_begin);
    wf_st_tensor *sorted = malloc((f->n + 1) * sizeof *sorted);
    if (!sorted)
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    uint64_t at = 0;
    int rc = 0;
    for (size_t i = 0; i < f->n; i++) {
        sorted[i] = f->t[pl[i].idx];
        if (pl[i].begin != at && !rc)
            rc = bad(err, what, sorted[i].name,
                     pl[i].begin < at ? "data overlaps another tensor" : "gap before the data");
        at = pl[i].begin + sorted[i].nbytes;
        if (at > len && !rc)
            rc = bad(err, what, sorted[i].name, "data_offsets beyond the end of the file");
        sorted[i].data = rc ? NULL : data + pl[i].begin;
    }
    if (!rc && at != len)
        rc = bad(err, what, NULL, "data section longer than its tensors");
    free(f->t);
    f->t = sorted;
    return rc;
}

static int parse_header(const char *what, json_t *h, wf_st_file *f, const uint8_t *data, size_t len,
                        wf_error *err)
{
    if (!json_is_object(h))
        return bad(err, what, NULL, "header is not a JSON object");
    size_t cap = json_object_size(h) + 1;
    f->t = calloc(cap, sizeof *f->t);
    placed *pl = calloc(cap, sizeof *pl);
    if (!f->t || !pl) {
        free(pl);
        return wf_error_set(err, WF_ENOMEM, "out of memory");
    }
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(h, k, v)
    {
        if (strcmp(k, "__metadata__") == 0) {
            rc = parse_meta(what, v, f, err);
        } else {
            wf_st_tensor *t = &f->t[f->n];
            rc = parse_entry(what, k, v, t, &pl[f->n].begin, err);
            if (!rc && !(t->name = strdup(k)))
                rc = wf_error_set(err, WF_ENOMEM, "out of memory");
            pl[f->n].idx = f->n;
            f->n += !rc;
        }
        if (rc)
            break;
    }
    if (!rc)
        rc = place(what, f, pl, data, len, err);
    free(pl);
    return rc;
}

int wf_st_parse(const void *buf, size_t len, const char *what, wf_st_file **out, wf_error *err)
{
    *out = NULL;
    const uint8_t *p = buf;
    if (len < 8)
        return bad(err, what, NULL, "shorter than the 8-byte header length");
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | p[i];
    if (hlen == 0 || hlen > WF_ST_MAX_HEADER || hlen > len - 8)
        return bad(err, what, NULL, "header length out of range");
    json_error_t jerr;
    json_t *h = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!h)
        return wf_error_set(err, WF_ECORRUPT, "%s: header is not JSON: %s", what, jerr.text);
    wf_st_file *f = calloc(1, sizeof *f);
    int rc = f ? 0 : wf_error_set(err, WF_ENOMEM, "out of memory");
    if (!rc)
        rc = parse_header(what, h, f, p + 8 + hlen, len - 8 - (size_t)hlen, err);
    json_decref(h);
    if (rc) {
        wf_st_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

int wf_st_open(const char *path, wf_st_file **out, wf_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wf_error_set(err, WF_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    void *map = NULL;
    int rc = fstat(fd, &st) < 0 ? wf_error_set(err, WF_EIO, "%s: %s", path, strerror(errno)) : 0;
    size_t len = rc ? 0 : (size_t)st.st_size;
    if (!rc && len < 8)
        rc = bad(err, path, NULL, "shorter than the 8-byte header length");
    if (!rc && (map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
        map = NULL;
        rc = wf_error_set(err, WF_EIO, "%s: mmap: %s", path, strerror(errno));
    }
    close(fd);
    if (!rc)
        rc = wf_st_parse(map, len, path, out, err);
    if (!rc && !((*out)->what = strdup(path)))
        rc = wf_error_set(err, WF_ENOMEM, "out of memory");
    if (rc) {
        wf_st_close(*out);
        *out = NULL;
        if (map)
            munmap(map, len);
        return rc;
    }
    (*out)->map = map;
    (*out)->map_len = len;
    return 0;
}

size_t wf_st_count(const wf_st_file *f)
{
    return f->n;
}

const wf_st_tensor *wf_st_at(const wf_st_file *f, size_t i)
{
    return i < f->n ? &f->t[i] : NULL;
}

const wf_st_tensor *wf_st_find(const wf_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    return NULL;
}

const char *wf_st_meta(const wf_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[2 * i], key) == 0)
            return f->meta[2 * i + 1];
    return NULL;
}

const char *wf_st_what(const wf_st_file *f)
{
    return f->what ? f->what : "safetensors data";
}
