/* safetensors files: an 8-byte little-endian header length, a JSON header
 * {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"key": "string"}}, then the tensor bytes.
 *
 * The reader validates everything before handing out a tensor: header length,
 * JSON, dtypes (F32, F16, BF16), shapes, and that the data offsets are in
 * bounds, non-overlapping and cover the data section exactly. A corrupt file
 * is an error naming it, never an out-of-bounds read. The writer writes F32
 * tensors sorted by name, with deterministic bytes, atomically. */
#ifndef WILDFEED_SAFETENSORS_H
#define WILDFEED_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/err.h"

#define WF_ST_MAX_DIMS 8
/* Headers beyond this are refused as corrupt (real ones are kilobytes). */
#define WF_ST_MAX_HEADER (100u << 20)

typedef enum wf_st_dtype { WF_ST_F32 = 0, WF_ST_F16, WF_ST_BF16 } wf_st_dtype;

typedef struct wf_st_tensor {
    const char *name; /* owned by the file */
    wf_st_dtype dtype;
    int ndim;
    uint64_t shape[WF_ST_MAX_DIMS];
    size_t numel;
    const uint8_t *data; /* little-endian elements, maybe unaligned; in the file */
    size_t nbytes;
} wf_st_tensor;

/* An opened file: its bytes (mapped or borrowed) and the parsed header.
 * Owned by the caller of wf_st_open / wf_st_parse (wf_st_close). */
typedef struct wf_st_file wf_st_file;

/* Maps and validates the file at path. */
int wf_st_open(const char *path, wf_st_file **out, wf_error *err);
/* Validates buf[0..len) (borrowed: it must outlive the result); what names
 * the data in error messages. */
int wf_st_parse(const void *buf, size_t len, const char *what, wf_st_file **out, wf_error *err);
void wf_st_close(wf_st_file *f);

size_t wf_st_count(const wf_st_file *f);
/* Tensors in data order (ascending offsets). */
const wf_st_tensor *wf_st_at(const wf_st_file *f, size_t i);
/* NULL when absent. */
const wf_st_tensor *wf_st_find(const wf_st_file *f, const char *name);
/* A __metadata__ value; NULL when absent. */
const char *wf_st_meta(const wf_st_file *f, const char *key);
/* The path it was opened from ("safetensors data" when parsed from memory). */
const char *wf_st_what(const wf_st_file *f);

float wf_f16_to_f32(uint16_t h);
float wf_bf16_to_f32(uint16_t b);
/* Converts t's numel elements, whatever its dtype, into out. */
void wf_st_to_f32(const wf_st_tensor *t, float *out);
/* Loads the tensor name into out[0..numel), checking it has exactly the
 * given shape; errors name the file and the tensor. */
int wf_st_read_f32(const wf_st_file *f, const char *name, const uint64_t *shape, int ndim,
                   float *out, wf_error *err);

typedef struct wf_st_out {
    const char *name;
    int ndim;
    uint64_t shape[WF_ST_MAX_DIMS];
    const float *data; /* numel floats, borrowed */
} wf_st_out;

typedef struct wf_st_kv {
    const char *key, *value;
} wf_st_kv;

/* Writes the tensors (any order given; written sorted by name, names unique)
 * and the metadata as F32 safetensors at path: a temporary file in the same
 * folder, fsync, rename. Same input, same bytes. */
int wf_st_write(const char *path, const wf_st_out *t, size_t n, const wf_st_kv *meta, size_t n_meta,
                wf_error *err);

#endif
