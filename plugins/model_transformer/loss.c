/* The ordinal loss and the head's backward step. */
#include <math.h>

#include "model_transformer/tf_internal.h"
#include "model_transformer/train.h"

double wf_tf_ordinal_loss(const float z[3], int label, float dz[3])
{
    double loss = 0.0;
    for (int k = 0; k < WF_TF_HEAD_OUT; k++) {
        double y = label > k + 1, zk = z[k];
        /* max(z, 0) - z y + log(1 + e^-|z|): BCE on logits without overflow */
        loss += fmax(zk, 0.0) - zk * y + log1p(exp(-fabs(zk)));
        dz[k] = (float)((1.0 / (1.0 + exp(-zk)) - y) / WF_TF_HEAD_OUT);
    }
    return loss / WF_TF_HEAD_OUT;
}
