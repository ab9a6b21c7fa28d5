/* model.kind=transformer through the model interface: training a tiny
 * random Qwen3 base (the fixture tokenizer's vocabulary) with a planted
 * signal, saving and loading bit-exactly, sharing the base on a hot-swap
 * load, refusing a changed base and corrupt files, the device choice, and
 * truncation that keeps the response. */
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sha256.h"
#include "models/tf_backend.h"
#include "test_model_transformer_tiny.h"
#include "testutil.h"
#include "wildfeed/config.h"

static char g_tmp[16][64]; /* directories made here, removed at the end */
static int g_ntmp;
static char *g_base;      /* the tiny base model directory, absolute */
static char g_dir[512];   /* g_model saved, with its meta.json */
static wf_model *g_model; /* trained once by the group set-up */

/* Words that carry the label, so that training has something to learn. */
static const char *const g_words[] = {"", "wrong bad", "unclear meh", "fine okay", "great thanks"};

#define N_TRAIN 48
#define N_EVAL 8
#define TRAIN_MAX_LEN 1024

static const char *tmpdir(void)
{
    const char *dir = wf_test_tmpdir();
    assert_non_null(dir);
    assert_true(g_ntmp < 16);
    return strcpy(g_tmp[g_ntmp++], dir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void copy_file(const char *from, const char *to)
{
    size_t n = 0;
    char *data = wf_test_read_file(from, &n);
    assert_non_null(data);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(data);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* meta.json with the checksums of the backend's files, as the registry
 * writes it. */
static void seal(const char *dir)
{
    char files[1024] = "{";
    size_t at = 1;
    for (const char *const *f = wf_transformer_files; *f; f++) {
        char path[1024], sum[WF_SHA256_HEX];
        snprintf(path, sizeof path, "%s/%s", dir, *f);
        assert_int_equal(wf_sha256_file(path, sum, NULL), 0);
        at += (size_t)snprintf(files + at, sizeof files - at, "%s\"%s\":\"%s\"",
                               f == wf_transformer_files ? "" : ",", *f, sum);
    }
    char meta[1200];
    snprintf(meta, sizeof meta, "{\"version\":\"v1\",\"kind\":\"transformer\",\"files\":%s}}",
             files);
    write_text(dir, "meta.json", meta);
}

/* A fresh copy of g_dir's model files (meta.json rewritten by seal). */
static const char *copy_model(void)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s", tmpdir());
    for (const char *const *f = wf_transformer_files; *f; f++) {
        char from[1024], to[1024];
        snprintf(from, sizeof from, "%s/%s", g_dir, *f);
        snprintf(to, sizeof to, "%s/%s", dir, *f);
        copy_file(from, to);
    }
    seal(dir);
    return dir;
}

static void make_base(void)
{
    assert_non_null(g_base = realpath(tmpdir(), NULL));
    assert_int_equal(tiny_write_fixture_base(g_base, wf_test_fixture("tokenizer/tokenizer.json")),
                     0);
}

static void tf_opts(wf_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->head = WF_HEAD_CORAL;
    o->seed = 7;
    o->patience = 10;
    o->base = g_base;
    o->device = "auto";
    o->max_len = TRAIN_MAX_LEN;
    o->lora_rank = 4;
    o->lora_alpha = 8;
    o->lora_dropout = 0.0;
    o->lora_lr = 2e-2;
    o->lora_epochs = 6;
    o->lora_micro_batch = 4;
    o->lora_accum = 2;
    o->lora_warmup_ratio = 0.1;
    o->lora_max_grad_norm = 1.0;
}

/* Text-only examples ("used as given"), short so that training is quick. */
static char g_texts[N_TRAIN + N_EVAL][64];

static void make_examples(wf_example *ex, size_t n, size_t first)
{
    for (size_t i = 0; i < n; i++) {
        int label = 1 + (int)((first + i) % 4);
        snprintf(g_texts[first + i], sizeof g_texts[0], "answer %zu: %s", first + i,
                 g_words[label]);
        ex[i] = (wf_example){{.text = g_texts[first + i]}, label};
    }
}

static int group_setup(void **state)
{
    (void)state;
    make_base();
    wf_example train[N_TRAIN], eval[N_EVAL];
    make_examples(train, N_TRAIN, 0);
    make_examples(eval, N_EVAL, N_TRAIN);
    wf_train_opts o;
    tf_opts(&o);
    wf_train_report rep = {0};
    wf_error err = {0};
    if (wf_model_train("transformer", train, N_TRAIN, eval, N_EVAL, &o, &g_model, &rep, &err))
        fail_msg("train: %s", err.msg);
    assert_int_equal(rep.epochs_run, 6);
    assert_true(rep.eval_loss < 0.5);
    snprintf(g_dir, sizeof g_dir, "%s", tmpdir());
    assert_int_equal(g_model->ops->save(g_model, g_dir, &err), 0);
    seal(g_dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    wf_model_free(g_model);
    free(g_base);
    for (int i = 0; i < g_ntmp; i++)
        nftw(g_tmp[i], rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static float *score(const wf_model *m, const wf_model_input *in, size_t n)
{
    float *z = malloc(n * WF_LOGITS * sizeof *z);
    wf_error err = {0};
    if (wf_model_score(m, in, n, z, &err) != 0)
        fail_msg("score: %s", err.msg);
    return z;
}

/* Bit-exact on the CPU; on the GPU (bf16 products, kernels free to reduce
 * in any order) to the CUDA path's documented tolerance. */
static void assert_same_logits(const float *a, const float *b, size_t n)
{
    int gpu = wf_tfb_of(g_model)->base->cm != NULL;
    for (size_t i = 0; i < n * WF_LOGITS; i++) {
        if (!gpu)
            assert_memory_equal(&a[i], &b[i], sizeof a[i]);
        else
            assert_true(fabsf(a[i] - b[i]) <= 1e-2f * (1.0f + fabsf(a[i])));
    }
}

static void test_training_learns_the_signal(void **state)
{
    (void)state;
    wf_model_input in[8];
    char text[8][64];
    for (int i = 0; i < 8; i++) {
        snprintf(text[i], sizeof text[i], "answer %d: %s", 100 + i, g_words[i < 4 ? 1 : 4]);
        in[i] = (wf_model_input){.text = text[i]};
    }
    float *z = score(g_model, in, 8);
    double bad = 0, good = 0;
    for (int i = 0; i < 8; i++)
        *(i < 4 ? &bad : &good) += wf_reward(z + i * WF_LOGITS) / 4;
    assert_true(good - bad > 1.0);
    assert_string_equal(g_model->ops->kind, "transformer");
    assert_int_equal(g_model->head, WF_HEAD_CORAL);
    const char *const *files = g_model->ops->files(g_model);
    assert_string_equal(files[0], "adapter_config.json");
    assert_string_equal(files[1], "adapter_model.safetensors");
    assert_string_equal(files[2], "transformer.json");
    assert_null(files[3]);
    free(z);
}

/* Inputs of every kind: parts, a text, an empty history. */
static const wf_msg g_hist[] = {{.role = "User", .content = "hello there", .content_len = 11},
                                {.role = "Assistant", .content = "hi", .content_len = 2}};

static void some_inputs(wf_model_input in[3])
{
    in[0] = (wf_model_input){g_hist, 2, "what is up?", "great thanks", NULL};
    in[1] = (wf_model_input){.text = "answer 7: wrong bad"};
    in[2] = (wf_model_input){NULL, 0, "q", "fine okay", NULL};
}

static void test_load_is_bit_exact(void **state)
{
    (void)state;
    wf_model *back = NULL;
    wf_error err = {0};
    if (wf_model_load_dir(g_dir, &back, &err) != 0)
        fail_msg("load: %s", err.msg);
    assert_string_equal(back->ops->kind, "transformer");
    assert_int_equal(back->head, WF_HEAD_CORAL);
    assert_ptr_not_equal(wf_tfb_of(back)->base, wf_tfb_of(g_model)->base);
    assert_int_equal(wf_tfb_of(back)->max_len, TRAIN_MAX_LEN);
    wf_model_input in[3];
    some_inputs(in);
    float *a = score(g_model, in, 3), *b = score(back, in, 3);
    assert_same_logits(a, b, 3);
    free(a);
    free(b);
    wf_model_free(back);
}

static void test_like_shares_the_base(void **state)
{
    (void)state;
    wf_model *fresh = NULL, *swapped = NULL;
    wf_error err = {0};
    assert_int_equal(wf_model_load_dir(g_dir, &fresh, &err), 0);
    if (wf_model_load_dir_like(g_dir, fresh, &swapped, &err) != 0)
        fail_msg("load like: %s", err.msg);
    const wf_tfb_base *base = wf_tfb_of(fresh)->base;
    assert_ptr_equal(wf_tfb_of(swapped)->base, base);
    assert_ptr_not_equal(wf_tfb_of(swapped)->ad, wf_tfb_of(fresh)->ad);
    assert_int_equal(atomic_load(&base->refs), 2);
    wf_model_input in[3];
    some_inputs(in);
    float *a = score(fresh, in, 3);
    /* The old model goes first, as after a swap: the base stays. */
    wf_model_free(fresh);
    assert_int_equal(atomic_load(&base->refs), 1);
    float *b = score(swapped, in, 3);
    assert_same_logits(a, b, 3);
    free(a);
    free(b);
    wf_model_free(swapped);
}

/* A retrain beside the served model trains on its base (weights and any
 * GPU copy) rather than loading a second one; a different base setting
 * loads its own. */
static void test_training_shares_the_served_base(void **state)
{
    (void)state;
    wf_example train[N_TRAIN];
    make_examples(train, N_TRAIN, 0);
    wf_train_opts o;
    tf_opts(&o);
    o.lora_epochs = 1;
    wf_model *cand = NULL;
    wf_error err = {0};
    const wf_tfb_base *served = wf_tfb_of(g_model)->base;
    unsigned refs = atomic_load(&served->refs);
    if (wf_model_train_like("transformer", g_model, train, N_TRAIN, NULL, 0, &o, &cand, NULL, &err))
        fail_msg("train like: %s", err.msg);
    assert_ptr_equal(wf_tfb_of(cand)->base, served);
    assert_int_equal(atomic_load(&served->refs), refs + 1);
    wf_model_free(cand);
    assert_int_equal(atomic_load(&served->refs), refs);
    o.max_len = served->max_len * 2; /* longer sequences than the served base takes */
    assert_int_equal(
        wf_model_train_like("transformer", g_model, train, N_TRAIN, NULL, 0, &o, &cand, NULL, &err),
        0);
    assert_ptr_not_equal(wf_tfb_of(cand)->base, served);
    wf_model_free(cand);
    if (served->cm) /* on a GPU machine the served base is already on the GPU */
        return;
    o.max_len = served->max_len;
    o.device = "cuda"; /* a device the served base is not on: loads (and here fails) */
    assert_int_equal(
        wf_model_train_like("transformer", g_model, train, N_TRAIN, NULL, 0, &o, &cand, NULL, &err),
        WF_EINVAL);
    assert_null(cand);
}

/* A callback that cancels from its third call on, counting its calls. */
static int cancel_on_third(void *calls)
{
    return ++*(int *)calls >= 3;
}

/* Cancelled before its third optimiser step: WF_ECANCELED, no model, and
 * the served base's references as they were. */
static void test_training_cancels_between_steps(void **state)
{
    (void)state;
    wf_example train[N_TRAIN];
    make_examples(train, N_TRAIN, 0);
    wf_train_opts o;
    tf_opts(&o);
    int calls = 0;
    o.cancelled = cancel_on_third;
    o.cancel_ctx = &calls;
    wf_model *cand = NULL;
    wf_error err = {0};
    const wf_tfb_base *served = wf_tfb_of(g_model)->base;
    unsigned refs = atomic_load(&served->refs);
    assert_int_equal(
        wf_model_train_like("transformer", g_model, train, N_TRAIN, NULL, 0, &o, &cand, NULL, &err),
        WF_ECANCELED);
    assert_string_equal(err.msg, "transformer train: cancelled after 2 steps");
    assert_int_equal(calls, 3);
    assert_null(cand);
    assert_int_equal(atomic_load(&served->refs), refs);
}

/* After the GPU is lost (marked here on the CPU base, as
 * wf_tfb_gpu_failed marks it when a call finds the device poisoned; the
 * GPU side is tests/gpu/check_lost.cu): scoring goes on with the same
 * logits, the model reports itself degraded, and training is refused
 * rather than moved to the CPU. */
static void test_lost_gpu_degrades(void **state)
{
    (void)state;
    wf_tfb_base *base = wf_tfb_of(g_model)->base;
    wf_model_input in = {.text = "answer 1: great thanks"};
    float before[WF_LOGITS], after[WF_LOGITS];
    wf_error err = {0};
    assert_int_equal(wf_model_score(g_model, &in, 1, before, &err), 0);
    assert_null(wf_model_degraded(g_model));
    atomic_store(&base->gpu_lost, 1);
    assert_int_equal(wf_model_score(g_model, &in, 1, after, &err), 0);
    assert_memory_equal(before, after, sizeof before);
    assert_string_equal(wf_model_degraded(g_model), "gpu lost: scoring on the CPU, not training");
    wf_example train[N_TRAIN];
    make_examples(train, N_TRAIN, 0);
    wf_train_opts o;
    tf_opts(&o);
    wf_model *cand = NULL;
    assert_int_equal(
        wf_model_train_like("transformer", g_model, train, N_TRAIN, NULL, 0, &o, &cand, NULL, &err),
        WF_ESTATE);
    assert_non_null(strstr(err.msg, "the GPU was lost"));
    assert_null(cand);
    atomic_store(&base->gpu_lost, 0);
}

static void write_tfb_json(const char *dir, const char *base, const char *sha, const char *max_len)
{
    char text[1200];
    snprintf(text, sizeof text,
             "{\"format\":\"wildfeed-transformer/1\",\"base\":\"%s\",\"base_config_sha256\":"
             "\"%s\",\"max_len\":%s,\"device\":\"auto\",\"token_budget\":16384}",
             base, sha, max_len);
    write_text(dir, "transformer.json", text);
    seal(dir);
}

static void expect_error(const char *dir, const wf_model *like, int code, const char *needle)
{
    wf_model *m = (wf_model *)1;
    wf_error err = {0};
    assert_int_equal(wf_model_load_dir_like(dir, like, &m, &err), code);
    assert_null(m);
    if (!strstr(err.msg, needle))
        fail_msg("\"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_changed_base_is_refused(void **state)
{
    (void)state;
    const char *dir = copy_model();
    const char *sha = wf_tfb_of(g_model)->base->config_sha;
    write_tfb_json(dir, g_base, sha, "1024");
    wf_model *m = NULL;
    wf_error err = {0};
    assert_int_equal(wf_model_load_dir(dir, &m, &err), 0);
    wf_model_free(m);
    char other[WF_SHA256_HEX];
    memset(other, 'a', WF_SHA256_HEX - 1);
    other[WF_SHA256_HEX - 1] = '\0';
    write_tfb_json(dir, g_base, other, "1024");
    expect_error(dir, NULL, WF_ESTATE, "changed since the adapters were trained");
    /* A model over another base never borrows like's. */
    expect_error(dir, g_model, WF_ESTATE, "changed since the adapters were trained");
    write_tfb_json(dir, "/nonexistent/wildfeed-base", sha, "1024");
    expect_error(dir, g_model, WF_ENOTFOUND, "/nonexistent/wildfeed-base");
}

static void test_corrupt_files(void **state)
{
    (void)state;
    const char *sha = wf_tfb_of(g_model)->base->config_sha;
    const char *dir = copy_model();
    write_text(dir, "transformer.json", "{\"format\":");
    seal(dir);
    expect_error(dir, NULL, WF_ECORRUPT, "transformer.json");
    write_tfb_json(dir, g_base, sha, "\"long\"");
    expect_error(dir, NULL, WF_ECORRUPT, "\"max_len\" is not a positive integer");
    write_tfb_json(dir, "relative/base", sha, "1024");
    expect_error(dir, NULL, WF_ECORRUPT, "\"base\" is not an absolute path");
    write_tfb_json(dir, g_base, "12ab", "1024");
    expect_error(dir, NULL, WF_ECORRUPT, "sha256 hex digest");

    dir = copy_model();
    write_text(dir, "adapter_config.json", "not json");
    seal(dir);
    expect_error(dir, NULL, WF_ECORRUPT, "adapter_config.json");
    expect_error(dir, g_model, WF_ECORRUPT, "adapter_config.json");

    dir = copy_model();
    char path[1024];
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    size_t n = 0;
    char *data = wf_test_read_file(path, &n);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n / 2, f);
    fclose(f);
    free(data);
    seal(dir);
    expect_error(dir, g_model, WF_ECORRUPT, "adapter_model.safetensors");
}

static void test_device_choice(void **state)
{
    (void)state;
    int gpus = wf_cuda_device_count();
    const wf_tfb_base *base = wf_tfb_of(g_model)->base;
    assert_int_equal(base->device, WF_TFB_AUTO);
    assert_int_equal(base->cm != NULL, gpus > 0);
    wf_config *cfg = wf_config_new();
    wf_error err = {0};
    assert_int_equal(wf_config_set(cfg, "model.device=cuda", &err), 0);
    wf_train_opts o;
    tf_opts(&o);
    o.device = wf_config_str(cfg, "model.device");
    wf_example ex = {{.text = "answer: great thanks"}, 4};
    wf_model *m = (wf_model *)1;
    if (gpus == 0) {
        assert_int_equal(wf_model_train("transformer", &ex, 1, NULL, 0, &o, &m, NULL, &err),
                         WF_EINVAL);
        assert_null(m);
        assert_non_null(strstr(err.msg, "model.device is cuda but no CUDA device is usable"));
    }
    o.device = "gpu";
    assert_int_equal(wf_model_train("transformer", &ex, 1, NULL, 0, &o, &m, NULL, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "model.device: \"gpu\""));
    o.device = "cpu";
    o.base = "";
    assert_int_equal(wf_model_train("transformer", &ex, 1, NULL, 0, &o, &m, NULL, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "model.base is empty"));
    wf_config_free(cfg);
}

/* Tokens of a piece of text on its own. */
static wf_token_ids piece(const char *text, size_t len)
{
    wf_token_ids ids = {0};
    assert_int_equal(wf_tokenizer_encode(wf_tfb_of(g_model)->base->tok, text, len, &ids, NULL), 0);
    return ids;
}

static void assert_ids_at(const wf_token_ids *all, size_t at, const wf_token_ids *part)
{
    assert_true(at + part->len <= all->len);
    assert_memory_equal(all->ids + at, part->ids, part->len * sizeof *part->ids);
}

static void render(const wf_model_input *in, wf_strbuf *out)
{
    wf_strbuf_init(out);
    wf_template_render(wf_tfb_of(g_model)->base->tpl, in->history, in->n_history, in->query,
                       in->response, out);
}

static wf_token_ids encode(const wf_model_input *in, size_t max_len, int expect)
{
    wf_token_ids ids = {0};
    wf_error err = {0};
    int rc = wf_tfb_encode(wf_tfb_of(g_model)->base, max_len, in, &ids, &err);
    if (rc != expect)
        fail_msg("encode gave %d (%s), expected %d", rc, err.msg, expect);
    return ids;
}

#define CUT_LEN 700
#define N_HIST 40

/* A long history is cut, oldest first: the template's head, the
 * template's tail and the response survive whole, at their places. */
static void test_truncation_cuts_history_first(void **state)
{
    (void)state;
    wf_msg hist[N_HIST];
    char text[N_HIST][48];
    for (int i = 0; i < N_HIST; i++) {
        snprintf(text[i], sizeof text[i], "message %d of an old chat", i);
        hist[i] = (wf_msg){.role = i % 2 ? "Assistant" : "User",
                           .content = text[i],
                           .content_len = strlen(text[i])};
    }
    wf_model_input in = {hist, N_HIST, "", "the final answer", NULL};
    wf_token_ids ids = encode(&in, CUT_LEN, 0); /* an empty query is a piece too */
    assert_int_equal(ids.len, CUT_LEN);
    wf_token_ids_free(&ids);
    in.query = "so, what now?";
    ids = encode(&in, CUT_LEN, 0);
    assert_int_equal(ids.len, CUT_LEN);
    wf_strbuf r;
    render(&in, &r);
    const char *resp = strstr(r.data, "the final answer");
    const char *hist0 = strstr(r.data, "User: message 0");
    wf_token_ids head = piece(r.data, (size_t)(hist0 - r.data));
    wf_token_ids response = piece(resp, strlen("the final answer"));
    const char *tail = resp + strlen("the final answer");
    wf_token_ids suffix = piece(tail, strlen(tail));
    assert_ids_at(&ids, 0, &head);
    assert_ids_at(&ids, ids.len - suffix.len, &suffix);
    assert_ids_at(&ids, ids.len - suffix.len - response.len, &response);
    /* The oldest message is gone, the newest kept. */
    wf_token_ids whole = piece(r.data, r.len);
    assert_true(whole.len > CUT_LEN);
    wf_token_ids last = piece("message 39 of an old chat", 25);
    int found = 0;
    for (size_t i = 0; i + last.len <= ids.len && !found; i++)
        found = memcmp(ids.ids + i, last.ids, last.len * sizeof *last.ids) == 0;
    assert_true(found);
    wf_token_ids first = piece(hist0, strlen("User: message 0 of"));
    assert_memory_not_equal(ids.ids + head.len, first.ids, first.len * sizeof *first.ids);
    /* The same text alone, split at its headers, gives the same ids. */
    wf_model_input as_text = {.text = r.data};
    wf_token_ids ids2 = encode(&as_text, CUT_LEN, 0);
    assert_int_equal(ids2.len, ids.len);
    assert_memory_equal(ids2.ids, ids.ids, ids.len * sizeof *ids.ids);
    wf_token_ids *all[] = {&ids, &head, &response, &suffix, &whole, &last, &first, &ids2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        wf_token_ids_free(all[i]);
    wf_strbuf_free(&r);
}

/* With no history left to cut, the query loses its start; a response that
 * cannot fit is refused, never cut. */
static void test_truncation_cuts_query_then_refuses(void **state)
{
    (void)state;
    char query[1200], response[1200];
    for (int i = 0; i < 100; i++)
        memcpy(query + 10 * i, "word abcd ", 10);
    snprintf(query + 1000, 20, "LAST BIT?");
    wf_model_input in = {NULL, 0, query, "short reply", NULL};
    wf_token_ids ids = encode(&in, CUT_LEN, 0);
    assert_int_equal(ids.len, CUT_LEN);
    wf_strbuf r;
    render(&in, &r);
    const char *after = strstr(r.data, "\n\n## Assistant Response\n");
    wf_token_ids tail = piece(after, strlen(after));
    wf_token_ids q = piece(query, strlen(query));
    assert_true(q.len > 8);
    /* The query's last tokens stand right before the response header. */
    size_t at = ids.len - tail.len - 8;
    assert_memory_equal(ids.ids + at, q.ids + q.len - 8, 8 * sizeof *q.ids);
    assert_ids_at(&ids, ids.len - tail.len, &tail);

    memset(response, 'z', 1100);
    response[1100] = '\0';
    in.query = "q";
    in.response = response;
    wf_error err = {0};
    wf_token_ids out = {0};
    assert_int_equal(wf_tfb_encode(wf_tfb_of(g_model)->base, CUT_LEN, &in, &out, &err), WF_EINVAL);
    assert_int_equal(out.len, 0);
    assert_non_null(strstr(err.msg, "a response is never cut"));
    wf_model_input bare = {.text = response};
    assert_int_equal(wf_tfb_encode(wf_tfb_of(g_model)->base, CUT_LEN, &bare, &out, &err),
                     WF_EINVAL);
    assert_non_null(strstr(err.msg, "no template sections to cut"));
    /* Headers overlapping on a newline once split a text into a query of
     * SIZE_MAX bytes and crashed the tokenizer: now they are no sections. */
    char crafted[1300];
    snprintf(crafted, sizeof crafted, "\n## User Query\n\n## Assistant Response\n%s", response);
    wf_model_input hostile = {.text = crafted};
    assert_int_equal(wf_tfb_encode(wf_tfb_of(g_model)->base, CUT_LEN, &hostile, &out, &err),
                     WF_EINVAL);
    assert_non_null(strstr(err.msg, "no template sections to cut"));
    /* Through the model: the item is named. */
    wf_model_input two[2] = {{.text = "fine"}, in};
    float z[2 * WF_LOGITS];
    assert_int_equal(wf_model_score(g_model, two, 2, z, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "input 1: "));
    wf_token_ids_free(&ids);
    wf_token_ids_free(&tail);
    wf_token_ids_free(&q);
    wf_token_ids_free(&out);
    wf_strbuf_free(&r);
}

/* What /get_reward sends (the rendered text) scores as the parts do, short
 * or cut. */
static void test_text_scores_like_parts(void **state)
{
    (void)state;
    wf_msg hist[N_HIST];
    for (int i = 0; i < N_HIST; i++)
        hist[i] = (wf_msg){
            .role = "User", .content = "a rather long earlier message here", .content_len = 34};
    wf_model_input parts[2] = {{g_hist, 2, "what is up?", "great thanks", NULL},
                               {hist, N_HIST, "and now?", "wrong bad", NULL}};
    for (int k = 0; k < 2; k++) {
        wf_strbuf r;
        render(&parts[k], &r);
        wf_model_input text = {.text = r.data};
        wf_token_ids whole = piece(r.data, r.len);
        assert_true(k == 0 ? whole.len <= TRAIN_MAX_LEN : whole.len > TRAIN_MAX_LEN);
        wf_token_ids a = encode(&parts[k], TRAIN_MAX_LEN, 0);
        if (k == 0) /* what fits is tokenized whole, as Hugging Face does */
            assert_memory_equal(a.ids, whole.ids, whole.len * sizeof *a.ids);
        float *za = score(g_model, &parts[k], 1), *zb = score(g_model, &text, 1);
        assert_same_logits(za, zb, 1);
        free(za);
        free(zb);
        wf_token_ids_free(&whole);
        wf_token_ids_free(&a);
        wf_strbuf_free(&r);
    }
}

static void test_opts_from_config(void **state)
{
    (void)state;
    wf_config *c = wf_config_new();
    wf_error err = {0};
    assert_int_equal(wf_config_set(c, "model.base=/models/qwen3", &err), 0);
    assert_int_equal(wf_config_set(c, "model.lora.rank=8", &err), 0);
    assert_int_equal(wf_config_set(c, "train.lora.lr=0.002", &err), 0);
    wf_train_opts o;
    wf_train_opts_from_config(&o, c);
    assert_string_equal(o.base, "/models/qwen3");
    assert_string_equal(o.device, "auto");
    assert_string_equal(o.lora_targets, "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj");
    assert_int_equal(o.max_len, 4096);
    assert_int_equal(o.token_budget, 16384);
    assert_int_equal(o.lora_rank, 8);
    assert_true(o.lora_alpha == 32 && o.lora_dropout == 0.05);
    assert_true(o.lora_lr == 0.002 && o.lora_warmup_ratio == 0.05);
    assert_true(o.lora_weight_decay == 0 && o.lora_max_grad_norm == 1.0);
    assert_int_equal(o.lora_epochs, 2);
    assert_int_equal(o.lora_micro_batch, 4);
    assert_int_equal(o.lora_accum, 4);
    assert_int_equal(wf_config_set(c, "model.device=tpu", &err), WF_EINVAL);
    assert_int_equal(wf_config_set(c, "model.lora.dropout=1", &err), WF_EINVAL);
    wf_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_training_learns_the_signal),
        cmocka_unit_test(test_load_is_bit_exact),
        cmocka_unit_test(test_like_shares_the_base),
        cmocka_unit_test(test_training_shares_the_served_base),
        cmocka_unit_test(test_training_cancels_between_steps),
        cmocka_unit_test(test_lost_gpu_degrades),
        cmocka_unit_test(test_changed_base_is_refused),
        cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_device_choice),
        cmocka_unit_test(test_truncation_cuts_history_first),
        cmocka_unit_test(test_truncation_cuts_query_then_refuses),
        cmocka_unit_test(test_text_scores_like_parts),
        cmocka_unit_test(test_opts_from_config),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
