/* The CUDA path's memory plans (wf_cuda_plan), worked out on the host:
 * they run in CI, which has no GPU. A Qwen3-0.6B-shaped model checks the
 * per-token sizes the documentation gives, what each option adds, and the
 * halving of training's packed batches against the free memory; a tiny
 * model checks the plan's adapter layout against the real adapter's. */
#include <string.h>

#include "model_transformer/adapter.h"
#include "test_model_transformer_tiny.h"
#include "testutil.h"
#include "wf_cuda.h"

#define MIB ((size_t)1 << 20)
#define RESERVE (256 * MIB) /* kernels/driver.cuh's WF_CU_RESERVE_BYTES */
#define BUDGET 16384
#define LAYERS 28

static wf_tf_config qwen3_06b(void)
{
    wf_tf_config c;
    memset(&c, 0, sizeof c);
    c.hidden = 1024, c.layers = LAYERS, c.heads = 16, c.kv_heads = 8, c.head_dim = 128;
    c.intermediate = 3072, c.vocab = 151936, c.rms_eps = 1e-6, c.qk_norm = 1;
    return c;
}

/* Rank 16 on every projection, dropout 0.05, both flash kernels, room for
 * everything. */
static wf_cuda_plan_in qwen3_in(const wf_tf_config *c)
{
    wf_cuda_plan_in in = {.cfg = c,
                          .max_len = 4096,
                          .token_budget = BUDGET,
                          .lora_rank = 16,
                          .lora_targets = 0x7f,
                          .lora_dropout = 0.05f,
                          .flash_fwd = 1,
                          .flash_bwd = 1,
                          .free_bytes = (size_t)1 << 40};
    return in;
}

static wf_cuda_plan_out plan(const wf_cuda_plan_in *in)
{
    wf_cuda_plan_out out;
    wf_error err;
    int rc = wf_cuda_plan(in, &out, &err);
    if (rc)
        fail_msg("wf_cuda_plan: %s", err.msg);
    return out;
}

static void skip_without_cuda(void)
{
    if (!WF_HAVE_CUDA)
        skip();
}

/* docs/operations.md: about 55 KB per token for scoring, about 48 KB per
 * token and layer for training; kernels/store.cu: 48.3 KiB per token and
 * layer, 66.1 KiB per token of backward scratch. */
static void test_documented_sizes(void **state)
{
    (void)state;
    skip_without_cuda();
    wf_tf_config c = qwen3_06b();
    wf_cuda_plan_in in = qwen3_in(&c);
    wf_cuda_plan_out out = plan(&in);
    /* bf16 embedding and matrices, fp32 norms, q/k norms and RoPE
     * frequencies: every buffer a multiple of the alignment */
    size_t h = 1024, qd = 2048, kvd = 1024, inter = 3072, hd = 128;
    size_t matrices = 151936 * h + LAYERS * ((qd + 2 * kvd) * h + h * qd + 3 * inter * h);
    size_t vectors = LAYERS * (2 * h + 2 * hd) + h + hd / 2;
    assert_int_equal(out.weights, 2 * matrices + 4 * vectors);
    assert_int_equal(out.workspace, 32 * MIB);
    assert_in_range(out.scoring / BUDGET, 55000, 56000); /* 55,332 */
    /* A layer: residual 4 h, x_mid 4 h, xn1 and xn2 4 h, rstd 8, qkv 2 qkvd,
     * q/k normed 2 (qd + kvd), attention 2 qd, lse 4 heads, gate|up 4 inter,
     * act 2 inter, seven A products 2 rank each: 49,448 bytes a token, and
     * its LoRA values' gradient. */
    size_t layer = 4 * h + 4 * h + 4 * h + 8 + 2 * (qd + 2 * kvd) + 2 * (qd + kvd) + 2 * qd +
                   4 * 16 + 4 * inter + 2 * inter + 7 * 2 * 16;
    assert_int_equal(layer, 49448);
    size_t lora_layer = 16 * (3072 + 2048 + 2048 + 3072 + 3 * 4096);
    c.layers = LAYERS - 1;
    size_t one = out.train_bytes - plan(&in).train_bytes;
    assert_in_range(one, layer * BUDGET + 4 * lora_layer, layer * BUDGET + 4 * lora_layer + 4096);
    /* Then one set of backward scratch (dx, dy, dxn, dwide, datt, dproj, du,
     * dxd, dpooled, dlogits, loss, labels, the flash backward's dQ and
     * delta) and the last residual: 67,704 bytes a token. */
    size_t rest = out.train_bytes - LAYERS * one;
    assert_in_range(rest, (size_t)67704 * BUDGET, (size_t)67704 * BUDGET + 64 * 1024);
    assert_int_equal(out.train_tokens, BUDGET);
    /* AdamW's moments: m and v of each LoRA value (16 (in + out) per
     * projection) and of the head */
    assert_int_equal(out.optimizer, 8 * (LAYERS * lora_layer + 3 * 1025));
}

/* What each option adds: exactly, but for the 256-byte alignment of each
 * buffer. */
static void test_option_costs(void **state)
{
    (void)state;
    skip_without_cuda();
    wf_tf_config c = qwen3_06b();
    wf_cuda_plan_in in = qwen3_in(&c);
    wf_cuda_plan_out base = plan(&in);
    in.lora_dropout = 0.0f; /* no masked-input gradient [B, max_in] fp32 */
    assert_int_equal(base.train_bytes - plan(&in).train_bytes, (size_t)BUDGET * 3072 * 4);
    in = qwen3_in(&c);
    in.lora_targets = 0; /* no A products [B, rank] bf16, no LoRA gradient */
    wf_cuda_plan_out head = plan(&in);
    /* the LoRA values' gradient (fp32), values and mirror (fp32 + bf16) are
     * not multiples of the alignment: to 256 bytes a buffer */
    size_t lora_values = (base.optimizer - head.optimizer) / 8;
    size_t want = (size_t)LAYERS * 7 * BUDGET * 16 * 2 + 4 * lora_values;
    assert_in_range(base.train_bytes - head.train_bytes, want - 256, want + 256);
    assert_int_equal(base.scoring, head.scoring); /* the adapters' scoring buffer is theirs */
    want = (size_t)BUDGET * 16 * 2 + 6 * lora_values;
    assert_in_range(base.adapter - head.adapter, want - 512, want + 512);
}

/* The flash kernels' buffers: no cuBLAS attention scratch for scoring with
 * the flash forward; the kept log-sum-exp and the flash backward's scratch
 * with the flash backward, the cuBLAS backward's scratch without. */
static void test_attention_paths(void **state)
{
    (void)state;
    skip_without_cuda();
    wf_tf_config c = qwen3_06b();
    wf_cuda_plan_in in = qwen3_in(&c);
    wf_cuda_plan_out flash = plan(&in);
    in.flash_bwd = 0;
    wf_cuda_plan_out fwd_only = plan(&in);
    in.flash_fwd = 0;
    wf_cuda_plan_out cublas = plan(&in);
    assert_int_equal(flash.scoring, fwd_only.scoring);
    /* capped at 512 MiB: 16 heads x 4096^2 fp32 scores would be 1 GiB */
    assert_in_range(cublas.scoring - flash.scoring, 256 * MIB, 512 * MIB + 256);
    size_t lse = (size_t)LAYERS * BUDGET * 16 * 4, dq_delta = (size_t)BUDGET * (4 * 2048 + 4 * 16);
    size_t cublas_bwd = fwd_only.train_bytes - (flash.train_bytes - lse - dq_delta);
    assert_int_equal(cublas_bwd, cublas.scoring - flash.scoring);
    assert_int_equal(fwd_only.train_bytes, cublas.train_bytes);
}

/* Training halves its packed batch until the plan fits, down to max_len;
 * the reserve and the optimiser state count. */
static void test_halving(void **state)
{
    (void)state;
    skip_without_cuda();
    wf_tf_config c = qwen3_06b();
    wf_cuda_plan_in in = qwen3_in(&c);
    in.max_len = 512;
    wf_cuda_plan_out full = plan(&in);
    size_t beside = RESERVE + full.optimizer;
    in.free_bytes = full.train_bytes + beside;
    assert_int_equal(plan(&in).train_tokens, BUDGET);
    in.free_bytes--;
    wf_cuda_plan_out half = plan(&in);
    assert_int_equal(half.train_tokens, BUDGET / 2);
    assert_true(half.train_bytes < full.train_bytes / 2 + 256 * MIB);
    in.free_bytes = half.train_bytes + beside - 1;
    assert_int_equal(plan(&in).train_tokens, BUDGET / 4);
    in.free_bytes = beside + 1;
    wf_cuda_plan_out none = plan(&in);
    assert_int_equal(none.train_tokens, 0);
    in.free_bytes = none.train_bytes + beside; /* the fewest tried: max_len's */
    assert_int_equal(plan(&in).train_tokens, 512);
    in.max_len = 1 << 20; /* longer than the budget: no halving */
    in.free_bytes = full.train_bytes + beside - 1;
    assert_int_equal(plan(&in).train_tokens, 0);
}

/* Sizes the GPU path refuses are refused. */
static void test_bad_input(void **state)
{
    (void)state;
    skip_without_cuda();
    wf_tf_config c = qwen3_06b();
    wf_cuda_plan_in in = qwen3_in(&c);
    wf_cuda_plan_out out;
    wf_error err;
    in.lora_rank = 0;
    assert_int_equal(wf_cuda_plan(&in, &out, &err), WF_EINVAL);
    in = qwen3_in(&c);
    in.token_budget = ((size_t)1 << 30) + 1;
    assert_int_equal(wf_cuda_plan(&in, &out, &err), WF_EINVAL);
    in = qwen3_in(&c);
    in.lora_targets = 1u << 7;
    assert_int_equal(wf_cuda_plan(&in, &out, &err), WF_EINVAL);
    c.layers = 0;
    in = qwen3_in(&c);
    assert_int_equal(wf_cuda_plan(&in, &out, &err), WF_EINVAL);
    assert_int_equal(out.train_bytes, 0);
}

/* The plan lays the adapter out as adapter.c does (its largest head). */
static void test_adapter_layout(void **state)
{
    (void)state;
    skip_without_cuda();
    tiny_spec s = {"Qwen3ForCausalLM", 32, 2, 4, 2, 8, 64, 320, 0, 1, 0, NULL, 3};
    wf_tf_model *m;
    wf_tf_adapter *ad;
    wf_error err;
    assert_int_equal(tiny_load(&s, 0, &m, &err), 0);
    wf_tf_lora_opts lo = {.rank = 4, .alpha = 8, .dropout = 0.1, .targets = 0x55};
    assert_int_equal(wf_tf_adapter_new(m, &lo, WF_HEAD_INDEPENDENT, 1, &ad, &err), 0);
    wf_cuda_plan_in in = {.cfg = wf_tf_model_config(m),
                          .lora_rank = 4,
                          .lora_targets = 0x55,
                          .lora_dropout = 0.1f,
                          .free_bytes = (size_t)1 << 40};
    assert_int_equal(plan(&in).optimizer, 8 * ad->n_params);
    wf_tf_adapter_free(ad);
    wf_tf_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_sizes), cmocka_unit_test(test_option_costs),
        cmocka_unit_test(test_attention_paths),  cmocka_unit_test(test_halving),
        cmocka_unit_test(test_bad_input),        cmocka_unit_test(test_adapter_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
