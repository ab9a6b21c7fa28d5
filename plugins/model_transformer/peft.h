/* Adapters in PEFT's on-disk format (DESIGN §6: "adapters are also written
 * in PEFT's format so other tools can load them"): a directory holding
 * adapter_config.json and adapter_model.safetensors, with the tensor names
 * PeftModel.save_pretrained gives a *ForSequenceClassification model whose
 * score head is in modules_to_save.
 *
 * Reading validates everything before any value is used: a corrupt file is
 * an error (WF_EPARSE for bytes that are not JSON, WF_ECORRUPT for anything
 * else that is wrong), never a crash and never a partly loaded adapter. */
#ifndef WF_TF_PEFT_H
#define WF_TF_PEFT_H

#include "model_transformer/adapter.h"
#include "model_transformer/transformer.h"
#include "wildfeed/safetensors.h"

#define WF_TF_PEFT_CONFIG "adapter_config.json"
#define WF_TF_PEFT_WEIGHTS "adapter_model.safetensors"
/* The safetensors metadata key naming the head kind ("coral" or
 * "independent"); PEFT has no notion of it. Absent: "independent", what a
 * plain score layer is. */
#define WF_TF_PEFT_HEAD_KEY "wildfeed.head"

/* Writes dir/adapter_config.json and dir/adapter_model.safetensors (each
 * atomically: temporary file, fsync, rename), creating dir when missing.
 * c is the base model's configuration; base_name goes into
 * base_model_name_or_path. */
int wf_tf_adapter_save(const wf_tf_adapter *ad, const wf_tf_config *c, const char *base_name,
                       const char *dir, wf_error *err);

/* Reads an adapter saved for base from dir: *out is the caller's
 * (wf_tf_adapter_free). A missing adapter_config.json is WF_ENOTFOUND. */
int wf_tf_adapter_load(const wf_tf_model *base, const char *dir, wf_tf_adapter **out,
                       wf_error *err);

/* The LoRA options in adapter_config.json's bytes (len of them, no NUL
 * needed); what names the source in errors. Settings this implementation
 * cannot honour (rsLoRA, DoRA, biases, per-layer ranks...) are refused by
 * name as WF_ECORRUPT. */
int wf_tf_peft_config_parse(const char *json, size_t len, const char *what, wf_tf_lora_opts *out,
                            wf_error *err);

/* A new adapter for base with options o, its values read from the opened
 * weights f: every expected tensor present with its exact shape and finite
 * values, and no other. */
int wf_tf_adapter_from_st(const wf_tf_model *base, const wf_tf_lora_opts *o, const wf_st_file *f,
                          wf_tf_adapter **out, wf_error *err);

#endif
