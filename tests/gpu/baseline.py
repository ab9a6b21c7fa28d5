#!/usr/bin/env python3
"""The transformers baseline of the CUDA benchmark (issue 7).

A random model of Qwen3-0.6B's shape (hidden 1024, 28 layers, 16 heads, 8 KV
heads, head_dim 128, intermediate 3072, vocab 151936) as transformers'
Qwen3ForSequenceClassification in bf16 on the GPU, measured the way
bench/bench_kernels_transformer.c measures ours, at the same sequence lengths
and tokens per batch:

- scoring: equal-length batches (no padding), torch.inference_mode, with
  attn_implementation "eager" (the issue's baseline) and "sdpa";
- training: PEFT LoRA with the same rank, alpha, dropout and targets (rank 16,
  alpha 32, dropout 0.05, every projection; the score head trained too), our
  ordinal loss, gradient clipping at 1.0 and AdamW: forward, backward, step.

With --save DIR it first writes the model (bf16 safetensors + config.json) for
our benchmark to load, so both measure the same weights. One line per case:

  BENCH impl=hf-eager|hf-sdpa mode=score|train seq=L batch=N tokens=T
        tok_s=X ms=Y mfu=Z status=ok|oom|error|skipped

MFU uses the FLOP count of wf_tf_forward_flops (plugins/model_transformer/
flops.c; training 3x) against 989 TFLOP/s, so the figures compare with ours.
Prints SKIP and exits 0 when torch, transformers or peft is missing or there
is no GPU.
"""
import argparse
import sys
import time

PEAK_FLOPS = 989e12
SHAPE = dict(
    vocab_size=151936,
    hidden_size=1024,
    intermediate_size=3072,
    num_hidden_layers=28,
    num_attention_heads=16,
    num_key_value_heads=8,
    head_dim=128,
    max_position_embeddings=40960,
    rms_norm_eps=1e-6,
    tie_word_embeddings=True,
    num_labels=3,
    pad_token_id=151643,
)
ROPE_THETA = 1e6
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def forward_flops(lens):
    """wf_tf_forward_flops for SHAPE: projections and MLP per token, causal
    attention over len (len + 1) / 2 pairs, the head on the last token."""
    s = SHAPE
    h, qd = s["hidden_size"], s["num_attention_heads"] * s["head_dim"]
    kvd, inter = s["num_key_value_heads"] * s["head_dim"], s["intermediate_size"]
    per_token = 2.0 * (h * qd + 2.0 * h * kvd + qd * h + 3.0 * h * inter)
    total = 0.0
    for n in lens:
        attn = 4.0 * s["head_dim"] * s["num_attention_heads"] * (n * (n + 1.0) / 2.0)
        total += s["num_hidden_layers"] * (per_token * n + attn) + 2.0 * h * 3
    return total


def make_model():
    import inspect

    import torch
    from transformers import AutoModelForSequenceClassification, Qwen3Config

    kw = dict(SHAPE)
    if "rope_parameters" in inspect.signature(Qwen3Config.__init__).parameters:
        kw["rope_parameters"] = {"rope_type": "default", "rope_theta": ROPE_THETA}
    else:
        kw["rope_theta"] = ROPE_THETA
    config = Qwen3Config(**kw)
    torch.manual_seed(0)
    with torch.device("cuda"):
        try:
            model = AutoModelForSequenceClassification.from_config(config,
                                                                   attn_implementation="eager")
        except TypeError:
            model = AutoModelForSequenceClassification.from_config(config)
    return model.to(device="cuda", dtype=torch.bfloat16)


def set_attn(model, impl):
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation(impl)
    else:
        model.config._attn_implementation = impl


def line(impl, mode, seq, batch, status, per=None, flops=None, msg=""):
    text = f"BENCH impl={impl} mode={mode} seq={seq} batch={batch} tokens={seq * batch} "
    if per is not None:
        text += (f"tok_s={seq * batch / per:.0f} ms={per * 1e3:.2f} "
                 f"mfu={flops / per / PEAK_FLOPS:.4f} ")
    text += f"status={status}"
    if msg:
        text += f' msg="{msg}"'
    print(text, flush=True)


def time_calls(fn, seconds):
    """Two warm-up calls, then calls until both `seconds` and three calls
    have passed; seconds per call."""
    import torch

    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    t0, calls = time.perf_counter(), 0
    while True:
        fn()
        torch.cuda.synchronize()
        calls += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and calls >= 3:
            return elapsed / calls


def inputs(seq, tokens):
    import torch

    batch = max(1, tokens // seq)
    g = torch.Generator(device="cuda").manual_seed(seq)
    # Below the special tokens: HF pools at the last token that is not the pad id.
    ids = torch.randint(0, SHAPE["pad_token_id"], (batch, seq), device="cuda", generator=g)
    return batch, ids, torch.ones_like(ids)


def score_case(model, seq, args):
    import torch

    batch, ids, mask = inputs(seq, args.score_tokens)
    model.eval()

    def call():
        with torch.inference_mode():
            model(input_ids=ids, attention_mask=mask)

    return batch, time_calls(call, args.seconds), forward_flops([seq] * batch)


def train_case(peft_model, seq, args):
    import torch
    import torch.nn.functional as F

    batch, ids, mask = inputs(seq, args.train_tokens)
    labels = torch.arange(batch, device="cuda") % 4 + 1
    thresholds = torch.arange(1, 4, device="cuda")
    targets = (labels[:, None] > thresholds[None, :]).float()
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    peft_model.train()

    def call():
        logits = peft_model(input_ids=ids, attention_mask=mask).logits.float()
        bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        (bce.mean(dim=1).sum() / batch).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return batch, time_calls(call, args.seconds), 3.0 * forward_flops([seq] * batch)


def run_case(fn, model, impl, mode, seq, args, deadline):
    import torch

    tokens = args.score_tokens if mode == "score" else args.train_tokens
    batch = max(1, tokens // seq)
    if time.time() > deadline:
        line(impl, mode, seq, batch, "skipped", msg="past --deadline")
        return
    try:
        batch, per, flops = fn(model, seq, args)
        line(impl, mode, seq, batch, "ok", per, flops)
    except torch.cuda.OutOfMemoryError:
        line(impl, mode, seq, batch, "oom")
    except Exception as e:  # one failed case must not hide the others
        line(impl, mode, seq, batch, "error", msg=f"{type(e).__name__}: {e}"[:200])
    torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--save", help="write the model here first (bf16 safetensors)")
    ap.add_argument("--seqs", default="512,2048")
    ap.add_argument("--score-tokens", type=int, default=16384)
    ap.add_argument("--train-tokens", type=int, default=8192)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--attn", default="eager,sdpa")
    ap.add_argument("--deadline", type=float, default=240.0,
                    help="seconds after which the remaining cases are skipped")
    args = ap.parse_args()
    deadline = time.time() + args.deadline
    try:
        import peft
        import torch
        import transformers
    except ImportError as e:
        print(f"SKIP baseline: {e}", flush=True)
        return 0
    if not torch.cuda.is_available():
        print("SKIP baseline: no CUDA device", flush=True)
        return 0
    t0 = time.time()
    model = make_model()
    print(f"INFO baseline: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
          f"transformers {transformers.__version__}, peft {peft.__version__}; model built in "
          f"{time.time() - t0:.1f} s", flush=True)
    if args.save:
        t0 = time.time()
        model.save_pretrained(args.save)
        print(f"INFO baseline: saved {args.save} in {time.time() - t0:.1f} s", flush=True)
    seqs = [int(s) for s in args.seqs.split(",")]
    impls = args.attn.split(",")
    for impl in impls:
        set_attn(model, impl)
        for seq in seqs:
            run_case(score_case, model, f"hf-{impl}", "score", seq, args, deadline)
    lora = peft.LoraConfig(task_type="SEQ_CLS", r=16, lora_alpha=32, lora_dropout=0.05,
                           target_modules=TARGETS)
    peft_model = peft.get_peft_model(model, lora)
    for impl in impls:
        set_attn(peft_model.get_base_model(), impl)
        for seq in seqs:
            run_case(train_case, peft_model, f"hf-{impl}", "train", seq, args, deadline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
