/* Device discovery and the error helpers every driver file uses: a failed
 * CUDA or cuBLAS call becomes a wf_err with a message naming the call and
 * where it was made, never an abort, so a whole check run reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.cuh"

/* The call's text, cut so that the runtime's reason still fits. */
static void call_text(const char *call, char *buf, size_t cap)
{
    size_t n = strcspn(call, "(");
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, call, n);
    buf[n] = '\0';
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* WF_CUDA_SYNC=1: every checked call waits for the device, so that an
 * asynchronous fault is reported by the call that caused it rather than by
 * the next synchronisation (for checks and debugging; slow). */
static bool sync_each_call(void)
{
    static const bool on = [] {
        const char *s = getenv("WF_CUDA_SYNC");
        return s && s[0] == '1';
    }();
    return on;
}

int wf_cu_check(cudaError_t e, const char *call, const char *file, int line, wf_error *err)
{
    if (e == cudaSuccess && sync_each_call())
        e = cudaDeviceSynchronize();
    if (e == cudaSuccess)
        return 0;
    /* The runtime also keeps the error as this thread's last one, which the
     * next launch check on this thread would report as its own. A sticky
     * error is still returned by every later call. */
    (void)cudaGetLastError();
    char what[64];
    call_text(call, what, sizeof what);
    int code = e == cudaErrorMemoryAllocation ? WF_ENOMEM : WF_EIO;
    return wf_error_set(err, code, "CUDA: %s at %s:%d: %s (%s)", what, base_name(file), line,
                        cudaGetErrorString(e), cudaGetErrorName(e));
}

int wf_cublas_check(cublasStatus_t s, const char *call, const char *file, int line, wf_error *err)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return sync_each_call() ? wf_cu_check(cudaDeviceSynchronize(), call, file, line, err) : 0;
    char what[64];
    call_text(call, what, sizeof what);
    int code = s == CUBLAS_STATUS_ALLOC_FAILED ? WF_ENOMEM : WF_EIO;
    return wf_error_set(err, code, "cuBLAS: %s at %s:%d: %s", what, base_name(file), line,
                        cublasGetStatusString(s));
}

extern "C" int wf_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        /* No driver or no device: not an error for the caller, who takes
         * the CPU path; clear the runtime's last error so it does not leak
         * into a later check. */
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

extern "C" int wf_cuda_device_lost(int dev)
{
    if (dev < 0 || dev >= wf_cuda_device_count())
        return 0;
    cudaError_t e = cudaSetDevice(dev);
    if (e == cudaSuccess)
        e = cudaDeviceSynchronize();
    (void)cudaGetLastError();
    return e != cudaSuccess;
}

extern "C" void wf_cuda_device_name(int dev, char *buf, size_t cap)
{
    if (!cap)
        return;
    buf[0] = '\0';
    cudaDeviceProp prop;
    if (dev < 0 || dev >= wf_cuda_device_count() ||
        cudaGetDeviceProperties(&prop, dev) != cudaSuccess) {
        (void)cudaGetLastError();
        return;
    }
    snprintf(buf, cap, "%s", prop.name);
}
