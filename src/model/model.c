/* Backend-independent parts of the model interface: heads, the reward and
 * class probabilities from ordinal logits, training options. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/model.h"

int wf_head_parse(const char *name)
{
    if (name && strcmp(name, "coral") == 0)
        return WF_HEAD_CORAL;
    if (name && strcmp(name, "independent") == 0)
        return WF_HEAD_INDEPENDENT;
    return -1;
}

const char *wf_head_name(wf_head_kind h)
{
    return h == WF_HEAD_INDEPENDENT ? "independent" : "coral";
}

static double sigmoid(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

double wf_reward(const float z[WF_LOGITS])
{
    double r = 1.0;
    for (int k = 0; k < WF_LOGITS; k++)
        r += sigmoid(z[k]);
    return r;
}

void wf_class_probs(const float z[WF_LOGITS], double p[WF_LABELS])
{
    double s[WF_LOGITS + 2];
    s[0] = 1.0; /* P(y > 0) */
    for (int k = 0; k < WF_LOGITS; k++)
        s[k + 1] = sigmoid(z[k]);
    s[WF_LOGITS + 1] = 0.0; /* P(y > 4) */
    double sum = 0.0;
    for (int c = 0; c < WF_LABELS; c++) {
        p[c] = s[c] - s[c + 1];
        if (p[c] < 0.0)
            p[c] = 0.0; /* only an independent head can cross thresholds */
        sum += p[c];
    }
    /* The unclipped terms telescope to 1, so after clipping sum >= 1. */
    for (int c = 0; c < WF_LABELS; c++)
        p[c] /= sum;
}

int wf_predicted_label(const float z[WF_LOGITS])
{
    double p[WF_LABELS];
    wf_class_probs(z, p);
    int best = 0;
    for (int c = 1; c < WF_LABELS; c++)
        if (p[c] > p[best])
            best = c;
    return best + 1;
}

void wf_model_free(wf_model *m)
{
    if (m)
        m->ops->destroy(m);
}

void wf_train_opts_from_config(wf_train_opts *o, const wf_config *cfg)
{
    int head = wf_head_parse(wf_config_str(cfg, "model.head"));
    o->head = head < 0 ? WF_HEAD_CORAL : (wf_head_kind)head;
    o->seed = (uint64_t)wf_config_int(cfg, "train.seed");
    o->epochs = (int)wf_config_int(cfg, "train.epochs");
    o->batch = (int)wf_config_int(cfg, "train.batch");
    o->patience = (int)wf_config_int(cfg, "train.patience");
    o->hash_bits = (int)wf_config_int(cfg, "model.hash_bits");
    o->lr = wf_config_double(cfg, "train.lr");
    o->l2 = wf_config_double(cfg, "train.l2");
    o->base = wf_config_str(cfg, "model.base");
    o->device = wf_config_str(cfg, "model.device");
    o->lora_targets = wf_config_str(cfg, "model.lora.targets");
    o->max_len = (size_t)wf_config_int(cfg, "model.max_len");
    o->token_budget = (size_t)wf_config_int(cfg, "model.token_budget");
    o->lora_rank = (int)wf_config_int(cfg, "model.lora.rank");
    o->lora_alpha = wf_config_double(cfg, "model.lora.alpha");
    o->lora_dropout = wf_config_double(cfg, "model.lora.dropout");
    o->lora_lr = wf_config_double(cfg, "train.lora.lr");
    o->lora_epochs = (int)wf_config_int(cfg, "train.lora.epochs");
    o->lora_micro_batch = (int)wf_config_int(cfg, "train.lora.micro_batch");
    o->lora_accum = (int)wf_config_int(cfg, "train.lora.accum");
    o->lora_warmup_ratio = wf_config_double(cfg, "train.lora.warmup_ratio");
    o->lora_weight_decay = wf_config_double(cfg, "train.lora.weight_decay");
    o->lora_max_grad_norm = wf_config_double(cfg, "train.lora.max_grad_norm");
    o->cancelled = NULL;
    o->cancel_ctx = NULL;
}
