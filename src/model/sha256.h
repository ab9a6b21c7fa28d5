/* SHA-256 (FIPS 180-4), for the checksums of model files: the registry
 * records them in meta.json and the loader verifies them before a backend
 * reads a weight file. A wf_sha256 context is the caller's (on its stack). */
#ifndef WF_MODEL_SHA256_H
#define WF_MODEL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/err.h"

#define WF_SHA256_BYTES 32
#define WF_SHA256_HEX 65 /* 64 hex digits and a NUL */

typedef struct wf_sha256 {
    uint32_t h[8];
    uint64_t bytes; /* message length so far */
    uint8_t block[64];
    size_t fill; /* bytes waiting in block */
} wf_sha256;

void wf_sha256_init(wf_sha256 *c);
void wf_sha256_update(wf_sha256 *c, const void *data, size_t n);
void wf_sha256_final(wf_sha256 *c, uint8_t out[WF_SHA256_BYTES]);

/* One-shot digest of a buffer, as lower-case hex. */
void wf_sha256_hex(const void *data, size_t n, char hex[WF_SHA256_HEX]);
/* Digest of a whole file, as lower-case hex; WF_EIO naming the file. */
int wf_sha256_file(const char *path, char hex[WF_SHA256_HEX], wf_error *err);

#endif
