/* Loading and freeing a transformer model directory. */
#include <stdio.h>
#include <stdlib.h>

#include "model_transformer/tf_internal.h"

static void free_layer(wf_tf_layer *l)
{
    float *all[] = {l->in_norm, l->post_norm, l->wq,     l->wk,     l->wv,     l->wo,   l->bq,
                    l->bk,      l->bv,        l->q_norm, l->k_norm, l->w_gate, l->w_up, l->w_down};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
}

void wf_tf_free(wf_tf_model *m)
{
    if (!m)
        return;
    for (int i = 0; m->layers && i < m->cfg.layers; i++)
        free_layer(&m->layers[i]);
    free(m->layers);
    free(m->embed);
    free(m->final_norm);
    free(m->head_w);
    free(m->inv_freq);
    free(m);
}

int wf_tf_load_dir(const char *dir, const wf_tf_load_opts *opts, wf_tf_model **out, wf_error *err)
{
    wf_tf_model *m = calloc(1, sizeof *m);
    if (!m)
        return wf_error_set(err, WF_ENOMEM, "%s: out of memory", dir);
    char path[4096];
    int rc = snprintf(path, sizeof path, "%s/config.json", dir) >= (int)sizeof path
                 ? wf_error_set(err, WF_EINVAL, "%s: path too long", dir)
                 : wf_tf_config_load(path, &m->cfg, err);
    if (rc == 0) {
        m->max_len = opts && opts->max_len ? opts->max_len : WF_TF_DEFAULT_MAX_LEN;
        m->inv_freq = malloc((size_t)m->cfg.head_dim / 2 * sizeof *m->inv_freq);
        rc = m->inv_freq ? wf_tf_load_weights(dir, m, opts ? opts->head_seed : 0, err)
                         : wf_error_set(err, WF_ENOMEM, "%s: out of memory", dir);
    }
    if (rc) {
        wf_tf_free(m);
        return rc;
    }
    wf_tf_rope_freqs(&m->cfg, m->inv_freq);
    *out = m;
    return 0;
}

const wf_tf_config *wf_tf_model_config(const wf_tf_model *m)
{
    return &m->cfg;
}

size_t wf_tf_model_max_len(const wf_tf_model *m)
{
    return m->max_len;
}

int wf_tf_model_head_from_checkpoint(const wf_tf_model *m)
{
    return m->head_from_checkpoint;
}
