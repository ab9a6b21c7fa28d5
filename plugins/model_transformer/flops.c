/* Model FLOPs, the numerator of every GFLOP/s figure the benchmarks print:
 * the same count for the CPU and CUDA paths, so their figures compare. */
#include "model_transformer/train.h"

double wf_tf_forward_flops(const wf_tf_config *c, const size_t *lens, size_t n)
{
    double h = c->hidden, qd = (double)c->heads * c->head_dim,
           kvd = (double)c->kv_heads * c->head_dim, inter = c->intermediate;
    /* q, k, v, o and the three MLP products, a multiply-add each. */
    double per_token = 2.0 * (h * qd + 2.0 * h * kvd + qd * h + 3.0 * h * inter);
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        double len = (double)lens[i];
        /* QK^T and PV over the len (len + 1) / 2 causal query-key pairs. */
        double attn = 4.0 * c->head_dim * c->heads * (len * (len + 1.0) / 2.0);
        /* The head runs on the pooled last token only. */
        total += c->layers * (per_token * len + attn) + 2.0 * h * WF_LOGITS;
    }
    return total;
}
