#include "config/keys.h"

const wf_config_key wf_keys_model[] = {
    WF_KEY_ENUM("model.kind", "\"linear\"", "linear|transformer",
                "Reward model backend: linear (embedded, CPU) or transformer (Hugging Face "
                "model directory)."),
    WF_KEY_STR("model.dir", "\"models\"",
               "Root of the model registry: one folder per version and a CURRENT file."),
    WF_KEY_INT(
        "model.follow_interval_s", "0", 0, 86400,
        "Seconds between checks of model.dir's CURRENT for a version another process "
        "activated (a fleet's trainer writing a shared model.dir): a new one is loaded "
        "and swapped in without writing the registry (needs train.enabled false); 0 = never."),
    WF_KEY_ENUM("model.head", "\"coral\"", "coral|independent",
                "Ordinal head of newly trained models: coral (one weight vector, rank-"
                "consistent) or independent (one vector per threshold, as WildReward)."),
    WF_KEY_INT("model.hash_bits", "20", 10, 26,
               "Linear model: log2 of the hashed feature space per weight vector."),
    WF_KEY_STR("model.base", "\"\"",
               "Transformer: Hugging Face model directory (config.json, safetensors, "
               "tokenizer.json) that the LoRA adapters are trained on; required for training."),
    WF_KEY_INT("model.max_len", "4096", 16, 1048576,
               "Transformer: tokens per input at most; longer inputs lose history, then the "
               "start of the query, never the response."),
    WF_KEY_ENUM("model.device", "\"auto\"", "auto|cpu|cuda",
                "Transformer: where it trains and scores: auto (a CUDA GPU when one is found, "
                "else the CPU), cpu, or cuda (an error without a GPU)."),
    WF_KEY_INT("model.token_budget", "16384", 16, 16777216,
               "Transformer: tokens per batch: concurrent scoring requests are batched together "
               "up to it, and the GPU's activations are planned for it (training packs smaller "
               "batches where the budget's activations do not fit)."),
    WF_KEY_INT("model.lora.rank", "16", 1, 1024, "Transformer: rank of the LoRA adapters."),
    WF_KEY_DOUBLE("model.lora.alpha", "32", 1e-6, 65536,
                  "Transformer: LoRA alpha; the adapters' output is scaled by alpha / rank."),
    WF_KEY_DOUBLE("model.lora.dropout", "0.05", 0, 0.9,
                  "Transformer: dropout on the adapters' input while training."),
    WF_KEY_STR("model.lora.targets", "\"q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj\"",
               "Transformer: projections that get adapters (comma-separated, or all)."),
    WF_KEY_INT("train.seed", "42", 0, WF_CFG_NO_MAX,
               "Seed of the shuffles and initialisation: same seed and data, same model."),
    WF_KEY_INT("train.epochs", "10", 1, 1000,
               "Linear model: passes over the training split at most."),
    WF_KEY_INT("train.batch", "64", 1, 65536, "Linear model: samples per mini-batch."),
    WF_KEY_DOUBLE("train.lr", "0.5", 0, 10,
                  "Linear model: Adam step size for a feature present in every example."),
    WF_KEY_DOUBLE("train.l2", "1e-6", 0, 1, "Linear model: L2 penalty on the weights."),
    WF_KEY_DOUBLE("train.lora.lr", "1e-4", 1e-12, 1,
                  "Transformer: peak AdamW learning rate (linear warm-up, then cosine decay)."),
    WF_KEY_INT("train.lora.epochs", "2", 1, 1000,
               "Transformer: passes over the training split at most."),
    WF_KEY_INT("train.lora.micro_batch", "4", 1, 65536,
               "Transformer: samples per forward and backward pass."),
    WF_KEY_INT("train.lora.accum", "4", 1, 65536,
               "Transformer: micro-batches whose gradients make one optimiser step."),
    WF_KEY_DOUBLE("train.lora.warmup_ratio", "0.05", 0, 1,
                  "Transformer: share of the optimiser steps spent warming the learning rate up."),
    WF_KEY_DOUBLE("train.lora.weight_decay", "0.0", 0, 1,
                  "Transformer: AdamW decoupled weight decay (not on the head's biases)."),
    WF_KEY_DOUBLE("train.lora.max_grad_norm", "1.0", 0, 1e6,
                  "Transformer: gradients are clipped to this global L2 norm; 0 = no clipping."),
    WF_KEY_INT("train.patience", "2", 0, 100,
               "Epochs without improvement of the validation loss before training stops early."),
    WF_KEY_DOUBLE("train.validation_fraction", "0.1", 0, 0.5,
                  "Share of the train split held out (by a hash of the sample id) to choose the "
                  "epoch and stop early, so that the eval split only judges candidates; 0 = all "
                  "epochs run on the whole train split."),
    WF_KEY_INT("train.min_samples", "50", 1, WF_CFG_NO_MAX,
               "Samples needed in the store before any training runs."),
    WF_KEY_STR("train.preference_file", "\"\"",
               "Optional preference set (JSONL prompt/chosen/rejected, or HH-RLHF chosen/rejected "
               "transcripts) whose pairwise accuracy joins the evaluation."),
    WF_KEY_DOUBLE("train.gate.max_accuracy_drop", "0.01", 0, 1,
                  "Promotion gate: a candidate may lose at most this much eval accuracy."),
    WF_KEY_DOUBLE("train.gate.max_mae_rise", "0.02", 0, 10,
                  "Promotion gate: the candidate's MAE may exceed the current one's by this much."),
    WF_KEY_DOUBLE("train.gate.max_ece_rise", "0.02", 0, 1,
                  "Promotion gate: the candidate's ECE may exceed the current one's by this much."),
    WF_KEY_DOUBLE("train.gate.max_auc_drop", "0.01", 0, 1,
                  "Promotion gate: a candidate may lose at most this much ROC-AUC."),
    WF_KEY_DOUBLE("train.gate.max_pairwise_drop", "0.01", 0, 1,
                  "Promotion gate: a candidate may lose at most this much pairwise accuracy."),
    WF_KEY_INT("train.keep_versions", "10", 1, 100000,
               "Model versions kept in the registry; older ones are deleted, rejected "
               "candidates first (the active one never)."),
    WF_KEY_BOOL("train.enabled", "true",
                "Run the trainer thread inside `wildfeed run` (training can also run from cron "
                "with `wildfeed train --once`)."),
    WF_KEY_INT("train.min_new_samples", "1000", 1, WF_CFG_NO_MAX,
               "New samples since the last training that trigger a retraining."),
    WF_KEY_INT("train.interval_s", "3600", 1, WF_CFG_NO_MAX,
               "Seconds between time-triggered retrainings."),
    WF_KEY_STR("server.listen", "\"127.0.0.1:8470\"", "Address (host:port) of the scoring server."),
    WF_KEY_STR("server.admin_token_file", "\"\"",
               "File holding the admin bearer token; empty disables the admin endpoints."),
    WF_KEY_BOOL("server.enabled", "true", "Run the scoring server inside `wildfeed run`."),
    WF_KEY_INT("server.max_body_bytes", "8388608", 1024, 1073741824,
               "Request bodies larger than this are answered 413."),
    WF_KEY_INT("server.max_items", "256", 1, 100000,
               "Items (texts) per scoring request at most; more are answered 413."),
    WF_KEY_INT("server.max_concurrent", "64", 1, 100000,
               "Scoring requests handled at once, and the most scoring threads of a slow model "
               "(started as needed); more requests are answered 429."),
    WF_KEY_INT("server.threads", "4", 1, 1024,
               "Threads of the HTTP server: they read requests, write answers, serve the other "
               "endpoints and score with the linear model; a slow model (the transformer) "
               "scores on separate threads, at most server.max_concurrent."),
    WF_KEY_INT("server.max_connections", "1024", 1, 1000000,
               "Client connections open at once (at least server.threads); further ones wait "
               "unaccepted until one closes."),
    WF_KEY_INT("server.max_connections_per_ip", "0", 0, 1000000,
               "Connections open at once from one client address; more are closed at once "
               "(0 = no limit)."),
    WF_KEY_END,
};
