/* `wildfeed eval` end to end: a linear model trained here and saved as the
 * registry's active version, a store filled here, and the command's output
 * compared byte for byte with the same evaluation done in process; then
 * every failure exit status. */
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "test_store_util.h"
#include "train/examples.h"
#include "wildfeed/eval.h"
#include "wildfeed/registry.h"

static char root[128], store_path[192], models[192], version_dir[320];
static char set_store[256], set_models[256]; /* the --set values naming them */

/* Words that carry the label, so the model has something to learn. */
static const char *const words[] = {"", "wrong broken useless", "unclear partly", "fine helpful",
                                    "excellent perfect thanks"};

static void fill_store(void)
{
    wf_store *st = store_open_at(store_path);
    for (int i = 0; i < 80; i++) {
        int label = 1 + i % 4;
        char conv[32], response[96];
        snprintf(conv, sizeof conv, "conv%02d", i);
        snprintf(response, sizeof response, "answer %d: %s", i, words[label]);
        static const int annotation[] = {0, 1, 2, 4, 5};
        put_spec(st, &(sample_spec){.conv = conv,
                                    .response = response,
                                    .annotation = annotation[label],
                                    .eval = i % 5 == 0});
    }
    wf_store_close(st);
}

static void train_and_activate(void)
{
    wf_store *st = store_open_at(store_path);
    wf_examples train;
    wf_examples_init(&train);
    assert_int_equal(wf_examples_from_store(st, WF_STORE_TRAIN, 0, &train, NULL), 0);
    assert_int_equal(train.n, 64);
    wf_store_close(st);
    wf_train_opts o = {.head = WF_HEAD_CORAL,
                       .seed = 7,
                       .epochs = 5,
                       .batch = 16,
                       .patience = 2,
                       .hash_bits = 10,
                       .lr = 0.05,
                       .l2 = 1e-6};
    wf_model *m = NULL;
    wf_train_report rep;
    wf_error err = {0};
    if (wf_model_train("linear", train.items, train.n, NULL, 0, &o, &m, &rep, &err) != 0)
        fail_msg("train: %s", err.msg);
    wf_registry *r = NULL;
    assert_int_equal(wf_registry_open(models, NULL, &r, &err), 0);
    wf_model_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.samples = (int64_t)train.n;
    if (wf_registry_save(r, m, &meta, &err) != 0 || wf_registry_activate(r, meta.version, &err))
        fail_msg("registry: %s", err.msg);
    snprintf(version_dir, sizeof version_dir, "%s/%s", models, meta.version);
    wf_registry_free(r);
    wf_model_free(m);
    wf_examples_free(&train);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "%s", store_tmpdir());
    snprintf(store_path, sizeof store_path, "%s/wf.db", root);
    snprintf(models, sizeof models, "%s/models", root);
    snprintf(set_store, sizeof set_store, "store.path=%s", store_path);
    snprintf(set_models, sizeof set_models, "model.dir=%s", models);
    fill_store();
    train_and_activate();
    return 0;
}

/* Runs wf_cmd_eval on the NULL-terminated arguments; stdout goes to a
 * string (*out, malloc'd). Returns the exit status. */
static int run_eval(char **out, ...)
{
    char *argv[32] = {"eval"};
    int argc = 1;
    va_list ap;
    va_start(ap, out);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && argc < 31;)
        argv[argc++] = (char *)a;
    va_end(ap);
    char path[256];
    snprintf(path, sizeof path, "%s/stdout", root);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    dup2(fileno(f), STDOUT_FILENO);
    int status = wf_cmd_eval(argc, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    fclose(f);
    size_t n = 0;
    *out = wf_test_read_file(path, &n);
    assert_non_null(*out);
    return status;
}

/* The expected output: the same evaluation in process. */
static char *expected(const char *input, wf_store_split split, const char *prefs_path, int json)
{
    wf_model *m = NULL;
    wf_error err = {0};
    if (wf_model_load_dir(version_dir, &m, &err) != 0)
        fail_msg("load: %s", err.msg);
    wf_examples ex;
    wf_examples_init(&ex);
    if (input) {
        assert_int_equal(wf_examples_load_jsonl(input, &ex, NULL, NULL), 0);
    } else {
        wf_store *st = store_open_at(store_path);
        assert_int_equal(wf_examples_from_store(st, split, 0, &ex, NULL), 0);
        wf_store_close(st);
    }
    wf_pref_set *prefs = NULL;
    if (prefs_path)
        assert_int_equal(wf_pref_load(prefs_path, &prefs, NULL, NULL), 0);
    wf_eval_metrics mt;
    assert_int_equal(wf_eval_run(m, ex.items, ex.n, prefs, &mt, NULL), 0);
    wf_strbuf b;
    wf_strbuf_init(&b);
    if (json) {
        wf_eval_metrics_json(&mt, &b);
        wf_strbuf_putc(&b, '\n');
    } else {
        wf_eval_metrics_text(&mt, &b);
    }
    wf_pref_free(prefs);
    wf_examples_free(&ex);
    wf_model_free(m);
    return wf_strbuf_take(&b);
}

static void test_store_split_with_prefs_json(void **state)
{
    (void)state;
    const char *prefs = wf_test_fixture("eval/prefs_hh.jsonl");
    char *want = expected(NULL, WF_STORE_EVAL, prefs, 1);
    char *out = NULL;
    assert_int_equal(run_eval(&out, "--set", set_store, "--set", set_models, "--prefs", prefs,
                              "--format", "json", NULL),
                     0);
    assert_string_equal(out, want);
    /* 16 eval samples and the fixture's 4 good pairs */
    assert_non_null(strstr(out, "{\"n\":16,"));
    assert_non_null(strstr(out, ",\"pairs\":4,"));
    free(out);
    free(want);
}

static void test_all_split_text_and_explicit_model(void **state)
{
    (void)state;
    char *want = expected(NULL, WF_STORE_ALL, NULL, 0);
    char *out = NULL;
    assert_int_equal(
        run_eval(&out, "--model", version_dir, "--split", "all", "--set", set_store, NULL), 0);
    assert_string_equal(out, want);
    assert_memory_equal(out, "samples    80\n", 14);
    assert_non_null(strstr(out, "pairs      0\npairwise   n/a\n"));
    free(out);
    free(want);
}

static void test_wildfb_input_and_config_prefs(void **state)
{
    (void)state;
    char input[256], prefs[256], set_prefs[512]; /* wf_test_fixture's buffer is reused */
    snprintf(input, sizeof input, "%s", wf_test_fixture("eval/wildfb.jsonl"));
    snprintf(prefs, sizeof prefs, "%s", wf_test_fixture("eval/prefs_simple.jsonl"));
    snprintf(set_prefs, sizeof set_prefs, "train.preference_file=%s", prefs);
    char *want = expected(input, WF_STORE_ALL, prefs, 1);
    char *out = NULL;
    assert_int_equal(run_eval(&out, "-i", input, "--set", set_models, "--set", set_prefs,
                              "--format", "json", NULL),
                     0);
    assert_string_equal(out, want);
    assert_non_null(strstr(out, "{\"n\":3,"));
    assert_non_null(strstr(out, ",\"pairs\":3,"));
    free(out);
    free(want);
}

static void expect_status(int want, ...)
{
    char *argv[32] = {"eval"};
    int argc = 1;
    va_list ap;
    va_start(ap, want);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && argc < 31;)
        argv[argc++] = (char *)a;
    va_end(ap);
    fflush(stdout);
    assert_int_equal(wf_cmd_eval(argc, argv), want);
}

static void test_failures(void **state)
{
    (void)state;
    char empty_models[256], bad_current[320], no_store[256];
    snprintf(empty_models, sizeof empty_models, "model.dir=%s/none", root);
    snprintf(no_store, sizeof no_store, "store.path=%s/missing.db", root);
    /* usage */
    expect_status(2, "--split", "bogus", NULL);
    expect_status(2, "--format", "xml", NULL);
    expect_status(2, "--model", NULL);
    expect_status(2, "extra", NULL);
    expect_status(2, "-i", "x.jsonl", "--split", "eval", NULL);
    expect_status(2, "--set", "no.such.key=1", NULL);
    /* missing model, store, files */
    expect_status(1, "--set", empty_models, "--set", set_store, NULL);
    expect_status(1, "--model", "/nonexistent/model", "--set", set_store, NULL);
    expect_status(1, "--set", set_models, "--set", no_store, NULL);
    expect_status(1, "--set", set_models, "-i", "/nonexistent.jsonl", NULL);
    expect_status(1, "--set", set_models, "--set", set_store, "--prefs", "/nonexistent", NULL);
    /* a CURRENT that points out of the registry */
    char dir[256], current[300];
    snprintf(dir, sizeof dir, "%s/evil", root);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(current, sizeof current, "%s/CURRENT", dir);
    FILE *f = fopen(current, "w");
    assert_non_null(f);
    fputs("../models\n", f);
    fclose(f);
    snprintf(bad_current, sizeof bad_current, "model.dir=%s", dir);
    expect_status(1, "--set", bad_current, "--set", set_store, NULL);
}

static void test_help(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(run_eval(&out, "--help", NULL), 0);
    assert_memory_equal(out, "usage: wildfeed eval ", 21);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_split_with_prefs_json),
        cmocka_unit_test(test_all_split_text_and_explicit_model),
        cmocka_unit_test(test_wildfb_input_and_config_prefs),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_help),
    };
    int rc = cmocka_run_group_tests(tests, setup, NULL);
    store_cleanup();
    return rc;
}
