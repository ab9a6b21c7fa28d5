/* The backward pass of wf_tf_attention. The forward keeps no probabilities,
 * so each block of query rows recomputes its scores and softmax with the
 * forward's stacking and products, which gives back the forward's P bit for
 * bit. Then, per block, with S = scale Q K^T and P = softmax(S):
 *   dP = dO V^T, D_i = sum_j P_ij dP_ij, dS = P * (dP - D),
 *   dQ = scale dS K, dK += scale dS^T Q, dV += P^T dO,
 * each product one BLAS call over the group's stacked query heads. D is
 * taken from P and dP rather than as rowsum(dO * O) because the forward's
 * output is not passed in. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "model_transformer/tf_internal.h"

size_t wf_tf_attention_backward_scratch(const wf_tf_config *c, size_t longest)
{
    size_t rows = (size_t)(c->heads / c->kv_heads) * WF_TF_ATTN_BLOCK;
    return 3 * rows * (size_t)c->head_dim + 2 * rows * longest;
}

/* One pass's shapes, inputs, outputs and scratch buffers. */
typedef struct attn_bw {
    int hd, group;
    size_t qs, ks; /* row strides of q/dq/dout and of k/v/dk/dv */
    float scale;
    const float *q, *k, *v, *dout;
    float *dq, *dk, *dv;
    float *qbuf, *dobuf, *dqbuf; /* [group * rows, hd], stacked */
    float *p, *ds;               /* [group * rows, cols] */
} attn_bw;

/* ds holds dP = dO V^T on entry and dS = P * (dP - D) on return; masked
 * entries (P = 0) become exactly 0. */
static void softmax_backward(const float *p, float *ds, size_t m, size_t block, size_t cols,
                             size_t first)
{
    for (size_t i = 0; i < m; i++) {
        const float *pr = p + i * cols;
        float *dr = ds + i * cols;
        size_t seen = first + i % block + 1;
        double d = 0.0;
        for (size_t j = 0; j < seen; j++)
            d += (double)pr[j] * dr[j];
        for (size_t j = 0; j < seen; j++)
            dr[j] = pr[j] * (dr[j] - (float)d);
        memset(dr + seen, 0, (cols - seen) * sizeof *dr);
    }
}

/* Query rows r0..r0 + rows of the query heads sharing KV head kh. */
static void block_backward(const attn_bw *b, int kh, size_t r0, size_t rows)
{
    int hd = b->hd;
    size_t h0 = (size_t)kh * b->group * hd, cols = r0 + rows, m = (size_t)b->group * rows;
    const float *kp = b->k + (size_t)kh * hd, *vp = b->v + (size_t)kh * hd;
    float *dkp = b->dk + (size_t)kh * hd, *dvp = b->dv + (size_t)kh * hd;
    blasint bm = (blasint)m, bc = (blasint)cols, bks = (blasint)b->ks;

    wf_tf_stack_heads(b->q + r0 * b->qs + h0, b->qs, b->qbuf, rows, b->group, hd);
    wf_tf_stack_heads(b->dout + r0 * b->qs + h0, b->qs, b->dobuf, rows, b->group, hd);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bm, bc, hd, b->scale, b->qbuf, hd, kp, bks,
                0.0f, b->p, bc);
    wf_tf_causal_softmax(b->p, m, rows, cols, r0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bm, bc, hd, 1.0f, b->dobuf, hd, vp, bks,
                0.0f, b->ds, bc);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, bc, hd, bm, 1.0f, b->p, bc, b->dobuf, hd,
                1.0f, dvp, bks);
    softmax_backward(b->p, b->ds, m, rows, cols, r0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, bm, hd, bc, b->scale, b->ds, bc, kp, bks,
                0.0f, b->dqbuf, hd);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, bc, hd, bm, b->scale, b->ds, bc, b->qbuf,
                hd, 1.0f, dkp, bks);
    wf_tf_unstack_heads(b->dqbuf, b->dq + r0 * b->qs + h0, b->qs, rows, b->group, hd);
}

void wf_tf_attention_backward(const wf_tf_config *c, const float *q, const float *k, const float *v,
                              const float *dout, size_t len, float *dq, float *dk, float *dv,
                              float *scratch)
{
    int hd = c->head_dim, group = c->heads / c->kv_heads;
    size_t stacked = (size_t)group * WF_TF_ATTN_BLOCK * hd;
    attn_bw b = {.hd = hd,
                 .group = group,
                 .qs = (size_t)c->heads * hd,
                 .ks = (size_t)c->kv_heads * hd,
                 .scale = 1.0f / sqrtf((float)hd),
                 .q = q,
                 .k = k,
                 .v = v,
                 .dout = dout,
                 .dq = dq,
                 .dk = dk,
                 .dv = dv,
                 .qbuf = scratch,
                 .dobuf = scratch + stacked,
                 .dqbuf = scratch + 2 * stacked,
                 .p = scratch + 3 * stacked};
    /* The score buffers are sized for this call's len, not the longest. */
    b.ds = b.p + (size_t)group * WF_TF_ATTN_BLOCK * len;
    /* Keys and values collect from every later query row of the group. */
    memset(dk, 0, len * b.ks * sizeof *dk);
    memset(dv, 0, len * b.ks * sizeof *dv);
    for (int kh = 0; kh < c->kv_heads; kh++)
        for (size_t r0 = 0; r0 < len; r0 += WF_TF_ATTN_BLOCK) {
            size_t rows = len - r0 < WF_TF_ATTN_BLOCK ? len - r0 : WF_TF_ATTN_BLOCK;
            block_backward(&b, kh, r0, rows);
        }
}
