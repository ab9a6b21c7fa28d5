/* Causal grouped-query attention of one sequence. The query heads that share
 * a key/value head are stacked into one matrix, so each block of query rows
 * costs two matrix products per KV head rather than per query head (small
 * products spend their time in BLAS's thread hand-offs); blocks of query rows
 * keep the score matrix at group * WF_TF_ATTN_BLOCK x len whatever the
 * length. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "model_transformer/tf_internal.h"

size_t wf_tf_attention_scratch(const wf_tf_config *c, size_t longest)
{
    size_t rows = (size_t)(c->heads / c->kv_heads) * WF_TF_ATTN_BLOCK;
    return rows * longest + 2 * rows * (size_t)c->head_dim;
}

/* Row i of each head's block sees keys 0..first + i; the rest get weight 0. */
void wf_tf_causal_softmax(float *s, size_t rows, size_t block, size_t cols, size_t first)
{
    for (size_t i = 0; i < rows; i++) {
        float *row = s + i * cols;
        size_t seen = first + i % block + 1;
        float mx = row[0];
        for (size_t j = 1; j < seen; j++)
            mx = row[j] > mx ? row[j] : mx;
        float sum = 0.0f;
        for (size_t j = 0; j < seen; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < seen; j++)
            row[j] *= inv;
        memset(row + seen, 0, (cols - seen) * sizeof *row);
    }
}

/* Copies rows rows of the group heads starting at src (row stride stride)
 * into stacked [group * rows, hd] form. */
void wf_tf_stack_heads(const float *src, size_t stride, float *dst, size_t rows, int group, int hd)
{
    for (int g = 0; g < group; g++)
        for (size_t r = 0; r < rows; r++)
            memcpy(dst + ((size_t)g * rows + r) * hd, src + r * stride + (size_t)g * hd,
                   (size_t)hd * sizeof *dst);
}

/* The inverse of stack_heads. */
void wf_tf_unstack_heads(const float *src, float *dst, size_t stride, size_t rows, int group,
                         int hd)
{
    for (int g = 0; g < group; g++)
        for (size_t r = 0; r < rows; r++)
            memcpy(dst + r * stride + (size_t)g * hd, src + ((size_t)g * rows + r) * hd,
                   (size_t)hd * sizeof *dst);
}

void wf_tf_attention(const wf_tf_config *c, const float *q, const float *k, const float *v,
                     size_t len, float *out, float *scratch)
{
    int hd = c->head_dim, group = c->heads / c->kv_heads;
    size_t qs = (size_t)c->heads * hd, ks = (size_t)c->kv_heads * hd;
    float scale = 1.0f / sqrtf((float)hd);
    float *qbuf = scratch, *obuf = qbuf + (size_t)group * WF_TF_ATTN_BLOCK * hd,
          *scores = obuf + (size_t)group * WF_TF_ATTN_BLOCK * hd;
    for (int kh = 0; kh < c->kv_heads; kh++) {
        size_t h0 = (size_t)kh * group * hd;
        const float *kp = k + (size_t)kh * hd, *vp = v + (size_t)kh * hd;
        for (size_t r0 = 0; r0 < len; r0 += WF_TF_ATTN_BLOCK) {
            size_t rows = len - r0 < WF_TF_ATTN_BLOCK ? len - r0 : WF_TF_ATTN_BLOCK;
            size_t cols = r0 + rows, m = (size_t)group * rows; /* later keys are masked */
            wf_tf_stack_heads(q + r0 * qs + h0, qs, qbuf, rows, group, hd);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)cols, hd,
                        scale, qbuf, hd, kp, (blasint)ks, 0.0f, scores, (blasint)cols);
            wf_tf_causal_softmax(scores, m, rows, cols, r0);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)m, hd, (blasint)cols,
                        1.0f, scores, (blasint)cols, vp, (blasint)ks, 0.0f, obuf, hd);
            wf_tf_unstack_heads(obuf, out + r0 * qs + h0, qs, rows, group, hd);
        }
    }
}
