/* Error codes and the error record every fallible function fills in.
 *
 * Convention: a function returns 0 on success or a negative wf_err code, and
 * when it is given a non-NULL wf_error it writes a message the caller can log.
 * The wf_error is owned by the caller (usually on its stack). */
#ifndef WILDFEED_ERR_H
#define WILDFEED_ERR_H

#include <stddef.h>

enum wf_err {
    WF_OK = 0,
    WF_EINVAL = -1,    /* bad argument or configuration value */
    WF_ENOMEM = -2,    /* allocation failed */
    WF_EIO = -3,       /* file or socket error */
    WF_EPARSE = -4,    /* malformed input */
    WF_ENOTFOUND = -5, /* named thing does not exist */
    WF_EAGAIN = -6,    /* bounded queue full or not ready: retry later */
    WF_ECORRUPT = -7,  /* stored data fails validation */
    WF_ESTATE = -8,    /* call not valid in the current state */
    WF_EREMOTE = -9,   /* a remote peer failed or answered garbage */
    WF_ETIMEOUT = -10, /* a deadline passed */
    WF_ECANCELED = -11 /* stopped on request (shutdown) before finishing */
};

#define WF_ERROR_MSG_MAX 256

typedef struct wf_error {
    int code;
    char msg[WF_ERROR_MSG_MAX];
} wf_error;

/* Records code and a printf-style message in err (if non-NULL); returns code
 * so callers can write `return wf_error_set(err, WF_EINVAL, "...")`. */
int wf_error_set(wf_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to WF_OK and an empty message. */
void wf_error_clear(wf_error *err);

/* Short stable name of a code ("einval", ...). */
const char *wf_err_name(int code);

#endif
