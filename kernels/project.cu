/* The LoRA branch of a projection, forward and backward, as lora.c computes
 * it on the CPU: y += s (drop(x) A^T) B^T with A [rank, in] and B [out,
 * rank] read from the adapter's bf16 mirror, and its gradients into the
 * flat fp32 gradient at the adapter's own offsets. Under dropout the
 * input side runs in k_lora.cu's kernels, which draw the mask of (seed,
 * layer, proj, token) again in the backward rather than store it. */
extern "C" {
#include "model_transformer/dropout.h"
}

#include "driver.cuh"

static const wf_cu_lora *lora_of(const wf_cu_pass *p, int layer, wf_tf_proj proj)
{
    const wf_cu_lora *lo = &p->ca->lora[layer][proj];
    return lo->on ? lo : NULL;
}

/* The mask of (layer, proj) for p's rows. */
static wf_k_drop drop_of(const wf_cu_pass *p, int layer, wf_tf_proj proj)
{
    wf_k_drop d = {wf_tf_dropout_key(p->seed, layer, (int)proj),
                   wf_tf_dropout_threshold(p->dropout), p->row0};
    return d;
}

int wf_cu_lora_forward(const wf_cu_pass *p, int layer, wf_tf_proj proj, const wf_bf16 *x,
                       wf_bf16 *u, void *y, cudaDataType_t ytype, size_t ldy, wf_error *err)
{
    const wf_cu_lora *lo = lora_of(p, layer, proj);
    if (!lo)
        return 0;
    size_t in, out, T = (size_t)p->T, r = (size_t)p->ca->rank;
    wf_tf_proj_dims(&p->cm->cfg, proj, &in, &out);
    const wf_bf16 *A = p->ca->p16 + lo->a, *B = p->ca->p16 + lo->b;
    int rc;
    if (p->dropout > 0.0f) {
        wf_k_drop d = drop_of(p, layer, proj);
        rc = WF_CU(wf_k_lora_down(x, in, p->T, (int)in, A, (int)r, &d, u, p->cx.stream));
    } else {
        rc = wf_gemm(&p->cx, 0, 1, T, r, in, 1.0f, x, in, A, in, 0.0f, u, CUDA_R_16BF, r, err);
    }
    if (rc)
        return rc;
    return wf_gemm(&p->cx, 0, 1, T, out, r, p->ca->scale, u, r, B, r, 1.0f, y, ytype, ldy, err);
}

/* dA += dU^T drop(X) and dX += drop^T(dU A): one pass over x under dropout
 * (k_lora.cu), two products without. */
static int input_side(const wf_cu_pass *p, int layer, wf_tf_proj proj, const wf_bf16 *x,
                      const wf_bf16 *A, size_t in, float *ga, float *dx, const wf_cu_bwd *b,
                      wf_error *err)
{
    size_t T = (size_t)p->T, r = (size_t)p->ca->rank;
    if (p->dropout > 0.0f) {
        wf_k_drop d = drop_of(p, layer, proj);
        return WF_CU(wf_k_lora_input_backward(x, in, p->T, (int)in, A, (int)r, b->du, &d, dx, in,
                                              ga, p->cx.stream));
    }
    int rc = wf_gemm(&p->cx, 1, 0, r, in, T, 1.0f, b->du, r, x, in, 1.0f, ga, CUDA_R_32F, in, err);
    return rc ? rc
              : wf_gemm(&p->cx, 0, 0, T, in, r, 1.0f, b->du, r, A, in, 1.0f, dx, CUDA_R_32F, in,
                        err);
}

int wf_cu_lora_backward(const wf_cu_pass *p, int layer, wf_tf_proj proj, const wf_bf16 *x,
                        const wf_bf16 *u, const wf_bf16 *dy, size_t lddy, float *dx,
                        const wf_cu_bwd *b, wf_error *err)
{
    const wf_cu_lora *lo = lora_of(p, layer, proj);
    if (!lo)
        return 0;
    size_t in, out, T = (size_t)p->T, r = (size_t)p->ca->rank;
    wf_tf_proj_dims(&p->cm->cfg, proj, &in, &out);
    const wf_bf16 *A = p->ca->p16 + lo->a, *B = p->ca->p16 + lo->b;
    float s = p->ca->scale, *ga = p->grad + lo->a, *gb = p->grad + lo->b;
    int rc;
    /* dB += s dY^T U;  dU = s dY B;  then the input side */
    if ((rc = wf_gemm(&p->cx, 1, 0, out, r, T, s, dy, lddy, u, r, 1.0f, gb, CUDA_R_32F, r, err)) ||
        (rc =
             wf_gemm(&p->cx, 0, 0, T, r, out, s, dy, lddy, B, r, 0.0f, b->du, CUDA_R_16BF, r, err)))
        return rc;
    return input_side(p, layer, proj, x, A, in, ga, dx, b, err);
}
