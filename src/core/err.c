#include "wildfeed/err.h"

#include <stdarg.h>
#include <stdio.h>

int wf_error_set(wf_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void wf_error_clear(wf_error *err)
{
    if (err) {
        err->code = WF_OK;
        err->msg[0] = '\0';
    }
}

const char *wf_err_name(int code)
{
    switch (code) {
    case WF_OK: return "ok";
    case WF_EINVAL: return "einval";
    case WF_ENOMEM: return "enomem";
    case WF_EIO: return "eio";
    case WF_EPARSE: return "eparse";
    case WF_ENOTFOUND: return "enotfound";
    case WF_EAGAIN: return "eagain";
    case WF_ECORRUPT: return "ecorrupt";
    case WF_ESTATE: return "estate";
    case WF_EREMOTE: return "eremote";
    case WF_ETIMEOUT: return "etimeout";
    case WF_ECANCELED: return "ecanceled";
    default: return "unknown";
    }
}
