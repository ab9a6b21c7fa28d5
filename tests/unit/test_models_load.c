/* Backend dispatch: training by kind, and loading a model directory whose
 * meta.json checksums are verified: tampered, truncated, unlisted and
 * missing files are refused, and so are unknown kinds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/sha256.h"
#include "testutil.h"
#include "wildfeed/model.h"

static wf_model *small_model(void)
{
    static const char *const resp[4] = {"that is wrong", "a mistake here", "nice one",
                                        "great answer"};
    wf_example ex[40];
    for (int i = 0; i < 40; i++)
        ex[i] = (wf_example){{.query = "q", .response = resp[i % 4]}, i % 4 + 1};
    wf_train_opts o = {.head = WF_HEAD_CORAL,
                       .seed = 1,
                       .epochs = 3,
                       .batch = 8,
                       .patience = 1,
                       .hash_bits = 10,
                       .lr = 0.5,
                       .l2 = 0.0};
    wf_model *m = NULL;
    wf_train_report rep;
    wf_error err = {0};
    assert_int_equal(wf_model_train("linear", ex, 40, NULL, 0, &o, &m, &rep, &err), 0);
    assert_int_equal(rep.epochs_run, 3);
    return m;
}

static void write_meta(const char *dir, const char *kind, const char *files_json)
{
    char path[512];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"version\":\"v1\",\"kind\":\"%s\",\"head\":\"coral\",\"files\":%s}", kind,
            files_json);
    fclose(f);
}

/* Saves m into a fresh directory with a correct meta.json. */
static const char *saved_dir(const wf_model *m, char sum[WF_SHA256_HEX])
{
    const char *dir = wf_test_tmpdir();
    wf_error err = {0};
    assert_int_equal(m->ops->save(m, dir, &err), 0);
    char path[512], files[256];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_int_equal(wf_sha256_file(path, sum, &err), 0);
    snprintf(files, sizeof files, "{\"model.safetensors\":\"%s\"}", sum);
    write_meta(dir, "linear", files);
    return dir;
}

static void expect_load_error(const char *dir, int code, const char *needle)
{
    wf_model *m = (wf_model *)1;
    wf_error err = {0};
    assert_int_equal(wf_model_load_dir(dir, &m, &err), code);
    assert_null(m);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_load_scores_the_same(void **state)
{
    (void)state;
    wf_model *m = small_model();
    char sum[WF_SHA256_HEX];
    const char *dir = saved_dir(m, sum);
    wf_model *back;
    wf_error err = {0};
    assert_int_equal(wf_model_load_dir(dir, &back, &err), 0);
    wf_model_input in[2] = {{.query = "q", .response = "great answer"},
                            {.query = "q", .response = "that is wrong"}};
    float a[6], b[6];
    assert_int_equal(wf_model_score(m, in, 2, a, &err), 0);
    assert_int_equal(wf_model_score(back, in, 2, b, &err), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_true(wf_reward(a) > wf_reward(a + 3));
    assert_string_equal(back->ops->files(back)[0], "model.safetensors");
    assert_null(back->ops->files(back)[1]);
    wf_model_free(m);
    wf_model_free(back);
}

static void flip_byte(const char *path, long at)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, at, at < 0 ? SEEK_END : SEEK_SET);
    int c = fgetc(f);
    fseek(f, -1, SEEK_CUR);
    fputc(c ^ 0x01, f);
    fclose(f);
}

static void test_tampered_and_truncated(void **state)
{
    (void)state;
    wf_model *m = small_model();
    char sum[WF_SHA256_HEX], path[512];
    const char *dir = saved_dir(m, sum);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    flip_byte(path, -3); /* one bit of one weight */
    expect_load_error(dir, WF_ECORRUPT, "model.safetensors: sha256");
    flip_byte(path, -3);
    wf_model *ok;
    wf_error err = {0};
    assert_int_equal(wf_model_load_dir(dir, &ok, &err), 0);
    wf_model_free(ok);
    assert_int_equal(truncate(path, 100), 0);
    expect_load_error(dir, WF_ECORRUPT, "model.safetensors: sha256");
    /* A truncated file whose sum was recorded after the damage is still
     * refused, by the safetensors reader. */
    char files[256];
    assert_int_equal(wf_sha256_file(path, sum, &err), 0);
    snprintf(files, sizeof files, "{\"model.safetensors\":\"%s\"}", sum);
    write_meta(dir, "linear", files);
    expect_load_error(dir, WF_ECORRUPT, path);
    remove(path);
    expect_load_error(dir, WF_ECORRUPT, "missing or unreadable");
    wf_model_free(m);
}

static void test_meta_errors(void **state)
{
    (void)state;
    wf_model *m = small_model();
    char sum[WF_SHA256_HEX], files[256];
    const char *dir = saved_dir(m, sum);
    write_meta(dir, "linear", "{}");
    expect_load_error(dir, WF_ECORRUPT, "no checksum for model.safetensors");
    snprintf(files, sizeof files, "{\"model.safetensors\":\"%s\",\"../meta.json\":\"%s\"}", sum,
             sum);
    write_meta(dir, "linear", files);
    expect_load_error(dir, WF_ECORRUPT, "bad entry \"../meta.json\"");
    write_meta(dir, "linear", "[]");
    expect_load_error(dir, WF_ECORRUPT, "\"files\" is not an object");
    write_meta(dir, "transformer", "{}");
    expect_load_error(dir, WF_ECORRUPT, "no checksum for adapter_config.json");
    write_meta(dir, "forest", "{}");
    expect_load_error(dir, WF_EINVAL, "unknown model kind \"forest\"");
    char path[512];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{not json", f);
    fclose(f);
    expect_load_error(dir, WF_ECORRUPT, "meta.json");
    remove(path);
    expect_load_error(dir, WF_ENOTFOUND, "meta.json");
    wf_model_free(m);
}

static void test_train_unknown_kinds(void **state)
{
    (void)state;
    wf_example ex = {{.query = "q", .response = "r"}, 1};
    wf_train_opts o = {.head = WF_HEAD_CORAL,
                       .seed = 1,
                       .epochs = 1,
                       .batch = 1,
                       .patience = 1,
                       .hash_bits = 10,
                       .lr = 0.1,
                       .l2 = 0.0};
    wf_model *m = (wf_model *)1;
    wf_error err = {0};
    assert_int_equal(wf_model_train("transformer", &ex, 1, NULL, 0, &o, &m, NULL, &err), WF_EINVAL);
    assert_null(m);
    assert_non_null(strstr(err.msg, "model.base is empty"));
    assert_int_equal(wf_model_train("nope", &ex, 1, NULL, 0, &o, &m, NULL, &err), WF_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_scores_the_same),
        cmocka_unit_test(test_tampered_and_truncated),
        cmocka_unit_test(test_meta_errors),
        cmocka_unit_test(test_train_unknown_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
