/* AdamW with a linear warm-up and cosine decay, and global-norm gradient
 * clipping, as PyTorch's AdamW and clip_grad_norm_ with Hugging Face's
 * cosine schedule compute them. Each element's update is computed in
 * double (the moments are stored as floats): a few million parameters cost
 * nothing next to a forward pass, and the bias corrections of the first
 * steps divide by numbers close to zero. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_transformer/train.h"

void wf_tf_optim_defaults(wf_tf_optim_opts *o)
{
    *o = (wf_tf_optim_opts){.lr = 2e-4,
                            .beta1 = 0.9,
                            .beta2 = 0.999,
                            .eps = 1e-8,
                            .weight_decay = 0.0,
                            .warmup_ratio = 0.05,
                            .max_grad_norm = 1.0,
                            .total_steps = 1};
}

/* Warm-up steps: the ratio of the total rounded up, as Hugging Face's
 * get_warmup_steps does, and never more than the total. */
static size_t warmup_steps(const wf_tf_optim_opts *o, size_t total)
{
    double w = ceil(o->warmup_ratio * (double)total);
    return w <= 0 ? 0 : w >= (double)total ? total : (size_t)w;
}

double wf_tf_lr_at(const wf_tf_optim_opts *o, size_t step)
{
    size_t total = o->total_steps ? o->total_steps : 1;
    size_t warm = warmup_steps(o, total);
    if (step < warm)
        return o->lr * (double)(step + 1) / (double)warm;
    if (step >= total)
        return 0.0;
    double progress = (double)(step - warm) / (double)(total - warm);
    return o->lr * 0.5 * (1.0 + cos(M_PI * progress));
}

double wf_tf_grad_norm(const float *g, size_t n)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (double)g[i] * g[i];
    return sqrt(ss);
}

static int check_opts(const wf_tf_optim_opts *o, wf_error *err)
{
    if (!(o->lr > 0.0) || !isfinite(o->lr))
        return wf_error_set(err, WF_EINVAL, "adamw: lr must be a positive number");
    if (!(o->beta1 >= 0.0 && o->beta1 < 1.0) || !(o->beta2 >= 0.0 && o->beta2 < 1.0))
        return wf_error_set(err, WF_EINVAL, "adamw: betas must be in [0, 1)");
    if (!(o->eps > 0.0) || !isfinite(o->eps))
        return wf_error_set(err, WF_EINVAL, "adamw: eps must be a positive number");
    if (!(o->weight_decay >= 0.0) || !isfinite(o->weight_decay))
        return wf_error_set(err, WF_EINVAL, "adamw: weight_decay must be >= 0");
    if (!(o->warmup_ratio >= 0.0 && o->warmup_ratio <= 1.0))
        return wf_error_set(err, WF_EINVAL, "adamw: warmup_ratio must be in [0, 1]");
    if (!(o->max_grad_norm >= 0.0) || !isfinite(o->max_grad_norm))
        return wf_error_set(err, WF_EINVAL, "adamw: max_grad_norm must be >= 0");
    if (o->total_steps < 1)
        return wf_error_set(err, WF_EINVAL, "adamw: total_steps must be >= 1");
    return 0;
}

int wf_tf_adamw_init(wf_tf_adamw *a, const wf_tf_optim_opts *o, size_t n, wf_error *err)
{
    memset(a, 0, sizeof *a);
    int rc = check_opts(o, err);
    if (rc)
        return rc;
    a->o = *o;
    a->n = n;
    a->m = calloc(n ? n : 1, sizeof *a->m);
    a->v = calloc(n ? n : 1, sizeof *a->v);
    if (!a->m || !a->v) {
        wf_tf_adamw_free(a);
        return wf_error_set(err, WF_ENOMEM, "adamw: out of memory for %zu moments", n);
    }
    return 0;
}

void wf_tf_adamw_free(wf_tf_adamw *a)
{
    if (!a)
        return;
    free(a->m);
    free(a->v);
    a->m = a->v = NULL;
}

/* A non-finite norm leaves everything as it was (values, moments and step
 * count), so one diverged batch cannot poison the values; the caller sees
 * the norm and decides. */
double wf_tf_adamw_step(wf_tf_adamw *a, float *params, float *grad, size_t n_decay, double lr)
{
    double norm = wf_tf_grad_norm(grad, a->n);
    if (!isfinite(norm))
        return norm;
    if (a->o.max_grad_norm > 0.0 && norm > a->o.max_grad_norm) {
        float c = (float)(a->o.max_grad_norm / norm);
        for (size_t i = 0; i < a->n; i++)
            grad[i] *= c;
    }
    a->step++;
    const double b1 = a->o.beta1, b2 = a->o.beta2, eps = a->o.eps;
    const double step_size = lr / (1.0 - pow(b1, (double)a->step));
    const double sqrt_bc2 = sqrt(1.0 - pow(b2, (double)a->step));
    const double decay = 1.0 - lr * a->o.weight_decay;
    for (size_t i = 0; i < a->n; i++) {
        double g = grad[i];
        double m = b1 * a->m[i] + (1.0 - b1) * g;
        double v = b2 * a->v[i] + (1.0 - b2) * g * g;
        a->m[i] = (float)m;
        a->v[i] = (float)v;
        double p = i < n_decay ? params[i] * decay : params[i];
        params[i] = (float)(p - step_size * m / (sqrt(v) / sqrt_bc2 + eps));
    }
    return norm;
}
