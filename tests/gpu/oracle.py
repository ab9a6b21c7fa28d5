#!/usr/bin/env python3
"""The external oracle of issue 7: transformers' own Qwen3ForSequenceClassification.

`oracle.py make OUT --tokenizer TOKENIZER_JSON [--seed N]` builds a small random
Qwen3ForSequenceClassification (3 labels; hidden 128, 2 layers, 4 heads, 2 KV
heads, head_dim 32, intermediate 256, the real Qwen3 vocabulary), saves it with
save_pretrained (fp32 safetensors) plus the tokenizer.json into OUT/model,
tokenises a few real texts (English, Chinese, code, emoji, chat markup...) with
the `tokenizers` library, runs them as one right-padded batch with an attention
mask (HF pools at the last non-pad token) in fp32 on the CPU and in bf16 on the
GPU, and writes the texts, ids and logits to OUT/oracle.json for check_oracle.

When the saved config.json has no top-level "rope_theta" (transformers 5 keeps
it under "rope_parameters"), OUT/model_rope_theta is the same model with that
key added, so that a loader which only reads "rope_theta" fails on the first
directory and still has its other parts checked on the second.

`oracle.py peft OUT` loads each adapter check_oracle saved (OUT/peft_<head>)
with PeftModel.from_pretrained over OUT/<model>, adds our score.bias by hand
(HF's score layer has none), and compares its logits with ours.

Prints PASS/FAIL/INFO/SKIP lines like the C checks (tests/gpu/gpucheck.h) and
exits 1 when anything failed, 0 otherwise (SKIP when torch, transformers,
tokenizers or peft is missing).
"""
import argparse
import inspect
import json
import math
import os
import shutil
import sys
import time

TOL_FP32 = 1e-4
ROPE_THETA = 1e6  # not transformers' default, so a loader that ignores it shows

LONG = " ".join(
    f"Step {i}: the reviewer read answer number {i * 7 % 13} and said it was "
    + ["helpful", "wrong", "too long", "exactly right", "a bit vague"][i % 5]
    + ("." if i % 3 else "; then she asked for sources, twice!")
    for i in range(16)
)

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    LONG,
    "今天天气很好，我们去公园散步吧。这个回答非常有帮助，谢谢你！不过第二步好像不对。",
    "def mean(xs):\n    if not xs:\n        return 0.0\n\treturn sum(xs) / len(xs)  # tab!\n\n",
    "Great job 👍🏽🎉 that fixed it! 😀 Ça marche très bien, naïve café… ✔️",
    "<|im_start|>user\nHow do I reverse a list in Python?<|im_end|>\n"
    "<|im_start|>assistant\nUse reversed(xs) or xs[::-1].<|im_end|>",
    "Order #12345 costs $3,499.99 (tax 8.25%)   \n\n\tDue 2024-03-15, ref A1B2-C3.",
    "こんにちは世界 안녕하세요 مرحبا بالعالم Привет, мир! Γειά σου κόσμε",
    "?",
]


def say(kind, check, rel=None, tol=None, detail=""):
    if rel is None:
        print(f"{kind} check={check} {detail}", flush=True)
    else:
        print(f"{kind} check={check} rel={rel:.3e} tol={tol:.0e} {detail}", flush=True)


def rel_l2(got, want):
    """||got - want|| / ||want|| over nested lists of floats."""
    g = [x for row in got for x in row]
    w = [x for row in want for x in row]
    d = math.sqrt(sum((a - b) ** 2 for a, b in zip(g, w)))
    n = math.sqrt(sum(b * b for b in w))
    worst = max(abs(a - b) for a, b in zip(g, w))
    return (d / n if n > 0 else d), worst


def verdict(tally, check, got, want, tol, detail=""):
    rel, worst = rel_l2(got, want)
    ok = rel <= tol  # False for NaN
    tally[0 if ok else 1] += 1
    say("PASS" if ok else "FAIL", check, rel, tol, f"max_abs={worst:.3e} {detail}")


def libs(*names):
    """Imports the named modules, or prints SKIP and exits 0."""
    import importlib

    mods = []
    for n in names:
        try:
            mods.append(importlib.import_module(n))
        except ImportError as e:
            print(f"SKIP oracle: cannot import {n} ({e})", flush=True)
            sys.exit(0)
    return mods


def qwen3_config(vocab, pad):
    from transformers import Qwen3Config

    kw = dict(
        vocab_size=vocab,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=4096,
        rms_norm_eps=1e-6,
        initializer_range=0.1,  # activations of order one, attention far from uniform
        tie_word_embeddings=False,
        num_labels=3,
        pad_token_id=pad,
    )
    if "rope_parameters" in inspect.signature(Qwen3Config.__init__).parameters:
        kw["rope_parameters"] = {"rope_type": "default", "rope_theta": ROPE_THETA}
    else:
        kw["rope_theta"] = ROPE_THETA
    return Qwen3Config(**kw)


def build_model(config, attn="eager"):
    from transformers import AutoModelForSequenceClassification

    try:
        return AutoModelForSequenceClassification.from_config(config, attn_implementation=attn)
    except TypeError:
        config._attn_implementation = attn
        return AutoModelForSequenceClassification.from_config(config)


def run_batch(model, ids, pad, device):
    """Logits of one right-padded batch, as a list of rows of floats."""
    import torch

    width = max(len(x) for x in ids)
    inp = torch.full((len(ids), width), pad, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, x in enumerate(ids):
        inp[i, : len(x)] = torch.tensor(x, dtype=torch.long)
        mask[i, : len(x)] = 1
    with torch.no_grad():
        out = model(input_ids=inp.to(device), attention_mask=mask.to(device)).logits
    return out.float().cpu().tolist()


def effective_theta(model):
    """The RoPE base HF actually uses: inv_freq[1] = theta^(-2 / head_dim)."""
    rotary = getattr(getattr(model, "model", None), "rotary_emb", None)
    inv = getattr(rotary, "inv_freq", None)
    return float(inv[1]) ** (-model.config.head_dim / 2.0) if inv is not None else float("nan")


def saved_rope(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    return cfg, {k: v for k, v in cfg.items() if "rope" in k}


def add_rope_theta_copy(out, cfg):
    """OUT/model_rope_theta: the saved model with a top-level rope_theta."""
    src, dst = os.path.join(out, "model"), os.path.join(out, "model_rope_theta")
    os.makedirs(dst, exist_ok=True)
    for name in os.listdir(src):
        if name != "config.json":
            link = os.path.join(dst, name)
            if not os.path.exists(link):
                os.symlink(os.path.join("..", "model", name), link)
    params = cfg.get("rope_parameters") or {}
    cfg = dict(cfg, rope_theta=params.get("rope_theta", ROPE_THETA))
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def make(args):
    torch, transformers, tokenizers = libs("torch", "transformers", "tokenizers")
    tally = [0, 0]
    t0 = time.time()
    torch.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = False
    tok = tokenizers.Tokenizer.from_file(args.tokenizer)
    vocab = tok.get_vocab_size(with_added_tokens=True)
    pad = tok.token_to_id("<|endoftext|>")
    ids = [tok.encode(t, add_special_tokens=False).ids for t in TEXTS]
    model = build_model(qwen3_config(vocab, pad)).float().eval()
    with torch.no_grad():  # norm weights away from 1, so a misplaced norm shows
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
    model_dir = os.path.join(args.out, "model")
    model.save_pretrained(model_dir)
    shutil.copy(args.tokenizer, os.path.join(model_dir, "tokenizer.json"))
    cfg, rope = saved_rope(model_dir)
    hf_theta = effective_theta(model)
    say("INFO", "oracle_model", detail=f"transformers {transformers.__version__} torch "
        f"{torch.__version__} seed {args.seed} vocab {vocab} pad {pad} lengths "
        f"{[len(x) for x in ids]} saved rope keys {json.dumps(rope)} hf_rope_theta={hf_theta:.6g}")
    dirs = ["model"]
    if "rope_theta" not in cfg:
        add_rope_theta_copy(args.out, cfg)
        dirs.append("model_rope_theta")
    fp32 = run_batch(model, ids, pad, "cpu")
    alone = [run_batch(model, [x], pad, "cpu")[0] for x in ids]
    verdict(tally, "hf_padding_consistent", fp32, alone, 1e-5,
            "HF fp32: padded batch against each text alone")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    bf16 = run_batch(model.to(device=device, dtype=torch.bfloat16), ids, pad, device)
    rel, worst = rel_l2(bf16, fp32)
    say("INFO", "hf_bf16_vs_fp32", rel, 2e-2, f"max_abs={worst:.3e} bf16 on {device}")
    with open(os.path.join(args.out, "oracle.json"), "w") as f:
        json.dump({"seed": args.seed, "transformers": transformers.__version__,
                   "dirs": dirs, "texts": TEXTS, "ids": ids, "logits_fp32": fp32,
                   "logits_bf16": bf16, "bf16_device": device}, f)
    print(f"DONE oracle.py make pass={tally[0]} fail={tally[1]} seconds={time.time() - t0:.1f}")
    return 1 if tally[1] else 0


def peft_one(args, head, tally):
    import torch
    from peft import PeftModel, get_peft_model_state_dict
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification

    sub = os.path.join(args.out, f"peft_{head}")
    if not os.path.exists(os.path.join(sub, "adapter_config.json")):
        tally[1] += 1
        say("FAIL", f"peft_load.{head}", detail=f"{sub}: no adapter_config.json (check_oracle failed?)")
        return
    with open(os.path.join(sub, "wildfeed_logits.json")) as f:
        ours = json.load(f)
    with open(os.path.join(args.out, "oracle.json")) as f:
        oracle = json.load(f)
    base = AutoModelForSequenceClassification.from_pretrained(
        os.path.join(args.out, ours["model"]), attn_implementation="eager").float().eval()
    pad = base.config.pad_token_id
    hf_base = run_batch(base, oracle["ids"], pad, "cpu")
    verdict(tally, f"peft_base_logits.{head}", hf_base, ours["base_logits"], TOL_FP32,
            "HF base model against our CPU base model")
    model = PeftModel.from_pretrained(base, sub).eval()
    saved = load_file(os.path.join(sub, "adapter_model.safetensors"))
    expected = set(get_peft_model_state_dict(model).keys())
    missing = sorted(expected - set(saved))
    unexpected = sorted(set(saved) - expected - {"base_model.model.score.bias"})
    ok = not missing and not unexpected
    tally[0 if ok else 1] += 1
    say("PASS" if ok else "FAIL", f"peft_keys.{head}",
        detail=f"{len(saved)} tensors saved, PEFT expects {len(expected)}; missing "
        f"{missing[:4]} unexpected {unexpected[:4]}")
    logits = run_batch(model, oracle["ids"], pad, "cpu")
    bias = saved.get("base_model.model.score.bias", torch.zeros(3)).float().tolist()
    logits = [[z + b for z, b in zip(row, bias)] for row in logits]
    verdict(tally, f"peft_logits.{head}", logits, ours["logits"], TOL_FP32,
            "PeftModel.from_pretrained + our score.bias against our CPU adapted model")


def peft(args):
    libs("torch", "transformers", "peft", "safetensors")
    tally = [0, 0]
    t0 = time.time()
    for head in ("coral", "independent"):
        try:
            peft_one(args, head, tally)
        except Exception as e:  # one broken adapter must not hide the other
            tally[1] += 1
            say("FAIL", f"peft_load.{head}", detail=f"{type(e).__name__}: {e}")
    print(f"DONE oracle.py peft pass={tally[0]} fail={tally[1]} seconds={time.time() - t0:.1f}")
    return 1 if tally[1] else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make")
    mk.add_argument("out")
    mk.add_argument("--tokenizer", required=True)
    mk.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    pf = sub.add_parser("peft")
    pf.add_argument("out")
    args = ap.parse_args()
    if args.cmd == "make":
        os.makedirs(args.out, exist_ok=True)
        return make(args)
    return peft(args)


if __name__ == "__main__":
    sys.exit(main())
