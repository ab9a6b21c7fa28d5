/* cuBLAS, opened at run time. Linking libcublas directly would make the
 * wildfeed binary fail to start on any machine without the CUDA libraries,
 * which is most machines running the linear model or the CPU path; opening it
 * on first use lets the binary start anywhere and fall back to the CPU when
 * the library or a GPU is missing (issue 7). Only the entry points wildfeed
 * calls are defined here, with cublas_api.h's own signatures, so the rest of
 * kernels/ uses cuBLAS as usual. The table of entry points and the reason
 * for a failed opening are written once, under pthread_once, and only read
 * afterwards. */
#include <cublas_v2.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define WF_STR2(x) #x
#define WF_STR(x) WF_STR2(x)

namespace
{

typedef cublasStatus_t (*create_fn)(cublasHandle_t *);
typedef cublasStatus_t (*destroy_fn)(cublasHandle_t);
typedef cublasStatus_t (*set_workspace_fn)(cublasHandle_t, void *, size_t);
typedef cublasStatus_t (*set_stream_fn)(cublasHandle_t, cudaStream_t);
typedef cublasStatus_t (*get_stream_fn)(cublasHandle_t, cudaStream_t *);
typedef const char *(*status_string_fn)(cublasStatus_t);
typedef cublasStatus_t (*gemm_fn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int,
                                  int, const void *, const void *, cudaDataType, int, const void *,
                                  cudaDataType, int, const void *, void *, cudaDataType, int,
                                  cublasComputeType_t, cublasGemmAlgo_t);
typedef cublasStatus_t (*gemm_strided_fn)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int,
                                          int, int, const void *, const void *, cudaDataType, int,
                                          long long int, const void *, cudaDataType, int,
                                          long long int, const void *, void *, cudaDataType, int,
                                          long long int, int, cublasComputeType_t,
                                          cublasGemmAlgo_t);

struct entry_points {
    create_fn create;
    destroy_fn destroy;
    set_workspace_fn set_workspace;
    set_stream_fn set_stream;
    get_stream_fn get_stream;
    status_string_fn status_string;
    gemm_fn gemm;
    gemm_strided_fn gemm_strided;
    bool ok;
};

entry_points cublas;
pthread_once_t cublas_once = PTHREAD_ONCE_INIT;
char why_not[256] = "libcublas.so." WF_STR(CUBLAS_VER_MAJOR) " could not be opened";

template <typename F> bool find(void *lib, const char *name, F *out)
{
    *out = reinterpret_cast<F>(dlsym(lib, name));
    return *out != nullptr;
}

void open_cublas()
{
    void *lib = dlopen("libcublas.so." WF_STR(CUBLAS_VER_MAJOR), RTLD_NOW | RTLD_LOCAL);
    if (!lib) { /* dlerror says which file was missing: cuBLAS or one it needs */
        const char *e = dlerror();
        snprintf(why_not, sizeof why_not, "%s", e ? e : "dlopen failed");
        return;
    }
    entry_points e = {};
    e.ok = find(lib, "cublasCreate_v2", &e.create) && find(lib, "cublasDestroy_v2", &e.destroy) &&
           find(lib, "cublasSetWorkspace_v2", &e.set_workspace) &&
           find(lib, "cublasSetStream_v2", &e.set_stream) &&
           find(lib, "cublasGetStream_v2", &e.get_stream) &&
           find(lib, "cublasGetStatusString", &e.status_string) &&
           find(lib, "cublasGemmEx", &e.gemm) &&
           find(lib, "cublasGemmStridedBatchedEx", &e.gemm_strided);
    if (e.ok) {
        cublas = e;
        return;
    }
    snprintf(why_not, sizeof why_not,
             "libcublas.so." WF_STR(
                 CUBLAS_VER_MAJOR) " lacks an entry point wildfeed needs (an older cuBLAS?)");
    dlclose(lib);
}

bool loaded()
{
    pthread_once(&cublas_once, open_cublas);
    return cublas.ok;
}

} // namespace

extern "C" {

cublasStatus_t CUBLASWINAPI cublasCreate_v2(cublasHandle_t *handle)
{
    return loaded() ? cublas.create(handle) : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t CUBLASWINAPI cublasDestroy_v2(cublasHandle_t handle)
{
    return loaded() ? cublas.destroy(handle) : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t CUBLASWINAPI cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace,
                                                  size_t bytes)
{
    return loaded() ? cublas.set_workspace(handle, workspace, bytes)
                    : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t CUBLASWINAPI cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream)
{
    return loaded() ? cublas.set_stream(handle, stream) : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t CUBLASWINAPI cublasGetStream_v2(cublasHandle_t handle, cudaStream_t *stream)
{
    return loaded() ? cublas.get_stream(handle, stream) : CUBLAS_STATUS_NOT_INITIALIZED;
}

const char *CUBLASWINAPI cublasGetStatusString(cublasStatus_t status)
{
    if (!loaded())
        return why_not;
    return cublas.status_string(status);
}

cublasStatus_t CUBLASWINAPI cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const void *alpha, const void *A, cudaDataType Atype,
                                         int lda, const void *B, cudaDataType Btype, int ldb,
                                         const void *beta, void *C, cudaDataType Ctype, int ldc,
                                         cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    if (!loaded())
        return CUBLAS_STATUS_NOT_INITIALIZED;
    return cublas.gemm(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta,
                       C, Ctype, ldc, computeType, algo);
}

cublasStatus_t CUBLASWINAPI cublasGemmStridedBatchedEx(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const void *alpha, const void *A, cudaDataType Atype, int lda, long long int strideA,
    const void *B, cudaDataType Btype, int ldb, long long int strideB, const void *beta, void *C,
    cudaDataType Ctype, int ldc, long long int strideC, int batchCount,
    cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    if (!loaded())
        return CUBLAS_STATUS_NOT_INITIALIZED;
    return cublas.gemm_strided(handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B,
                               Btype, ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount,
                               computeType, algo);
}

} // extern "C"
