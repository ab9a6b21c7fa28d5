/* The LoRA branch of a projection, forward and backward, as lora.c computes
 * it on the CPU: y += s (drop(x) A^T) B^T with A [rank, in] and B [out,
 * rank] read from the adapter's bf16 mirror, and its gradients into the
 * flat fp32 gradient at the adapter's own offsets. The dropped-out input is
 * drawn again in the backward from the same (seed, layer, proj, token)
 * rather than stored. */
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

/* The adapter's input: x itself, or its dropped-out copy in fwd.xd. */
static int dropped(const wf_cu_pass *p, int layer, wf_tf_proj proj, const wf_bf16 *x, size_t in,
                   const wf_bf16 **xin, wf_error *err)
{
    *xin = x;
    if (p->dropout <= 0.0f)
        return 0;
    wf_bf16 *xd = p->cm->fwd.xd;
    wf_k_drop d = drop_of(p, layer, proj);
    int rc = WF_CU(wf_k_lora_dropout(x, in, p->T, (int)in, &d, xd, in, p->cx.stream));
    *xin = xd;
    return rc;
}

int wf_cu_lora_forward(const wf_cu_pass *p, int layer, wf_tf_proj proj, const wf_bf16 *x,
                       wf_bf16 *u, void *y, cudaDataType_t ytype, size_t ldy, wf_error *err)
{
    const wf_cu_lora *lo = lora_of(p, layer, proj);
    if (!lo)
        return 0;
    size_t in, out, T = (size_t)p->T, r = (size_t)p->ca->rank;
    wf_tf_proj_dims(&p->cm->cfg, proj, &in, &out);
    const wf_bf16 *xin, *A = p->ca->p16 + lo->a, *B = p->ca->p16 + lo->b;
    int rc;
    if ((rc = dropped(p, layer, proj, x, in, &xin, err)) ||
        (rc = wf_gemm(&p->cx, 0, 1, T, r, in, 1.0f, xin, in, A, in, 0.0f, u, CUDA_R_16BF, r, err)))
        return rc;
    return wf_gemm(&p->cx, 0, 1, T, out, r, p->ca->scale, u, r, B, r, 1.0f, y, ytype, ldy, err);
}

/* dX (+)= dU A, through the dropout mask when there is one. */
static int input_grad(const wf_cu_pass *p, int layer, wf_tf_proj proj, const wf_bf16 *A, size_t in,
                      float *dx, const wf_cu_bwd *b, wf_error *err)
{
    size_t T = (size_t)p->T, r = (size_t)p->ca->rank;
    if (p->dropout <= 0.0f)
        return wf_gemm(&p->cx, 0, 0, T, in, r, 1.0f, b->du, r, A, in, 1.0f, dx, CUDA_R_32F, in,
                       err);
    int rc =
        wf_gemm(&p->cx, 0, 0, T, in, r, 1.0f, b->du, r, A, in, 0.0f, b->dxd, CUDA_R_32F, in, err);
    if (rc)
        return rc;
    wf_k_drop d = drop_of(p, layer, proj);
    return WF_CU(wf_k_lora_dropout_backward(b->dxd, in, p->T, (int)in, &d, dx, in, p->cx.stream));
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
    const wf_bf16 *xin, *A = p->ca->p16 + lo->a, *B = p->ca->p16 + lo->b;
    float s = p->ca->scale, *ga = p->grad + lo->a, *gb = p->grad + lo->b;
    int rc;
    /* dB += s dY^T U;  dU = s dY B;  dA += dU^T drop(X);  dX += drop^T(dU A) */
    if ((rc = wf_gemm(&p->cx, 1, 0, out, r, T, s, dy, lddy, u, r, 1.0f, gb, CUDA_R_32F, r, err)) ||
        (rc = wf_gemm(&p->cx, 0, 0, T, r, out, s, dy, lddy, B, r, 0.0f, b->du, CUDA_R_16BF, r,
                      err)) ||
        (rc = dropped(p, layer, proj, x, in, &xin, err)) ||
        (rc = wf_gemm(&p->cx, 1, 0, r, in, T, 1.0f, b->du, r, xin, in, 1.0f, ga, CUDA_R_32F, in,
                      err)))
        return rc;
    return input_grad(p, layer, proj, A, in, dx, b, err);
}
