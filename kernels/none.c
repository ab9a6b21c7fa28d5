/* The CUDA path of a build without nvcc: no device, so every caller takes
 * the CPU path. Only wf_cuda_device_count decides that; the rest answer
 * WF_ESTATE should they be called anyway. */
#include "wf_cuda.h"

static int no_cuda(wf_error *err)
{
    return wf_error_set(err, WF_ESTATE, "this build has no CUDA support (nvcc was not found)");
}

int wf_cuda_device_count(void)
{
    return 0;
}

void wf_cuda_device_name(int dev, char *buf, size_t cap)
{
    (void)dev;
    if (cap)
        buf[0] = '\0';
}

int wf_cuda_model_new(const wf_tf_model *m, const wf_cuda_opts *o, wf_cuda_model **out,
                      wf_error *err)
{
    (void)m, (void)o;
    *out = NULL;
    return no_cuda(err);
}

void wf_cuda_model_free(wf_cuda_model *cm)
{
    (void)cm;
}

int wf_cuda_device_lost(int dev)
{
    (void)dev;
    return 0;
}

int wf_cuda_model_lost(wf_cuda_model *cm)
{
    (void)cm;
    return 0;
}

int wf_cuda_adapter_upload(wf_cuda_model *cm, const wf_tf_adapter *ad, wf_cuda_adapter **out,
                           wf_error *err)
{
    (void)cm, (void)ad;
    *out = NULL;
    return no_cuda(err);
}

void wf_cuda_adapter_free(wf_cuda_adapter *ca)
{
    (void)ca;
}

int wf_cuda_forward(wf_cuda_model *cm, const wf_cuda_adapter *ca, const int32_t *const *ids,
                    const size_t *lens, size_t n, float *logits, wf_error *err)
{
    (void)cm, (void)ca, (void)ids, (void)lens, (void)n, (void)logits;
    return no_cuda(err);
}

int wf_cuda_grad(wf_cuda_model *cm, const wf_tf_adapter *ad, const wf_tf_batch *b,
                 uint64_t dropout_seed, float scale, float *grad, double *loss_sum, wf_error *err)
{
    (void)cm, (void)ad, (void)b, (void)dropout_seed, (void)scale, (void)grad;
    *loss_sum = 0.0;
    return no_cuda(err);
}

int wf_cuda_engine(wf_cuda_model *cm, wf_tf_adapter *ad, const wf_tf_optim_opts *o,
                   wf_tf_engine *out, wf_error *err)
{
    (void)cm, (void)ad, (void)o;
    *out = (wf_tf_engine){NULL, NULL};
    return no_cuda(err);
}

void wf_cuda_engine_plan(const wf_tf_engine *e, size_t *tokens, size_t *bytes)
{
    (void)e;
    *tokens = 0;
    *bytes = 0;
}

int wf_cuda_plan(const wf_cuda_plan_in *in, wf_cuda_plan_out *out, wf_error *err)
{
    (void)in;
    *out = (wf_cuda_plan_out){0};
    return no_cuda(err);
}
