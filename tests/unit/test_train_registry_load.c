/* Registry round trip with the real linear backend: a saved version loads
 * back and scores bit-exactly like the trained model; a weight file changed
 * by one byte after saving is refused (sha256), as is a missing one; and a
 * promotion cut short by a crash is finished at the next open. */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "wildfeed/registry.h"

static const char *const responses[4] = {"that is terrible and wrong", "poor and confusing",
                                         "okay, reasonable", "excellent and precise, thanks"};

static wf_model *train_small(void)
{
    static wf_example ex[200];
    for (int i = 0; i < 200; i++)
        ex[i] = (wf_example){.in = {.query = "how do I do this?", .response = responses[i % 4]},
                             .label = 1 + i % 4};
    wf_train_opts o = {.head = WF_HEAD_CORAL,
                       .seed = 7,
                       .epochs = 3,
                       .batch = 16,
                       .patience = 2,
                       .hash_bits = 12,
                       .lr = 0.05,
                       .l2 = 1e-6};
    wf_model *m;
    wf_train_report rep;
    wf_error err;
    if (wf_model_train("linear", ex, 200, NULL, 0, &o, &m, &rep, &err) < 0)
        fail_msg("%s", err.msg);
    return m;
}

static void score4(const wf_model *m, float z[4 * WF_LOGITS])
{
    wf_model_input in[4];
    for (int i = 0; i < 4; i++)
        in[i] = (wf_model_input){.query = "how do I do this?", .response = responses[i]};
    assert_int_equal(wf_model_score(m, in, 4, z, NULL), 0);
}

static void flip_byte(const char *path, long at)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, at, SEEK_SET), 0);
    int c = fgetc(f);
    assert_true(c != EOF);
    assert_int_equal(fseek(f, at, SEEK_SET), 0);
    fputc(c ^ 0x01, f);
    fclose(f);
}

static void test_round_trip_and_corruption(void **state)
{
    (void)state;
    char dir[64], root[256];
    snprintf(dir, sizeof dir, "%s", wf_test_tmpdir());
    snprintf(root, sizeof root, "%s/models", dir);
    wf_registry *r;
    wf_error err;
    assert_int_equal(wf_registry_open(root, NULL, &r, &err), 0);
    wf_model *m = train_small();
    wf_model_meta meta = {.created_at = 1764137700, .status = WF_STORE_MODEL_PROMOTED};
    assert_int_equal(wf_registry_save(r, m, &meta, &err), 0);
    assert_string_equal(meta.kind, "linear");
    assert_int_equal(wf_registry_activate(r, meta.version, &err), 0);

    wf_model *back;
    wf_model_meta got;
    assert_int_equal(wf_registry_load(r, NULL, &back, &got, &err), 0);
    assert_string_equal(got.version, meta.version);
    float z1[4 * WF_LOGITS], z2[4 * WF_LOGITS];
    score4(m, z1);
    score4(back, z2);
    assert_memory_equal(z1, z2, sizeof z1);
    assert_true(wf_reward(z1 + 3 * WF_LOGITS) > wf_reward(z1));
    wf_model_free(back);

    /* One byte of the weights changed after saving. */
    char path[512];
    snprintf(path, sizeof path, "%s/%s/model.safetensors", root, meta.version);
    flip_byte(path, 200);
    assert_int_equal(wf_registry_load(r, meta.version, &back, NULL, &err), WF_ECORRUPT);
    assert_null(back);
    assert_non_null(strstr(err.msg, "model.safetensors"));
    flip_byte(path, 200);
    assert_int_equal(wf_registry_load(r, meta.version, &back, NULL, &err), 0);
    wf_model_free(back);
    /* Missing file. */
    assert_int_equal(remove(path), 0);
    assert_int_equal(wf_registry_load(r, NULL, &back, NULL, &err), WF_ECORRUPT);
    assert_null(back);
    /* Unknown version. */
    assert_int_equal(wf_registry_load(r, "nope", &back, NULL, &err), WF_ENOTFOUND);
    wf_model_free(m);
    wf_registry_free(r);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Reopens the registry at root, as a restart does. */
static wf_registry *reopen(wf_registry *r, const char *root)
{
    wf_registry_free(r);
    wf_error err;
    if (wf_registry_open(root, NULL, &r, &err) < 0)
        fail_msg("%s", err.msg);
    return r;
}

static void expect_current(wf_registry *r, const char *want)
{
    char cur[WF_VERSION_MAX];
    wf_error err;
    assert_int_equal(wf_registry_current(r, cur, &err), 0);
    assert_string_equal(cur, want);
}

static void save_as(wf_registry *r, const wf_model *m, const char *version,
                    wf_store_model_status st)
{
    wf_model_meta meta = {.created_at = 1764137700, .status = st};
    snprintf(meta.version, sizeof meta.version, "%s", version);
    wf_error err;
    if (wf_registry_save(r, m, &meta, &err) < 0)
        fail_msg("%s", err.msg);
}

static int exists(const char *root, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, name);
    return access(path, F_OK) == 0;
}

/* A crash between a promoted save and its activation: the next open
 * activates the version. An activation in between (an operator's rollback)
 * wins; a PENDING naming nothing promoted, or a version whose files do not
 * check out, is dropped; a follower leaves PENDING to the writer. */
static void test_interrupted_promotion_is_finished(void **state)
{
    (void)state;
    char root[256], path[512];
    snprintf(root, sizeof root, "%s/models", wf_test_tmpdir());
    snprintf(path, sizeof path, "%s/PENDING", root);
    wf_registry *r;
    wf_error err;
    assert_int_equal(wf_registry_open(root, NULL, &r, &err), 0);
    wf_model *m = train_small();
    save_as(r, m, "v1", WF_STORE_MODEL_PROMOTED);
    assert_int_equal(wf_registry_activate(r, "v1", &err), 0);
    assert_false(exists(root, "PENDING"));
    save_as(r, m, "v2", WF_STORE_MODEL_REJECTED);
    assert_false(exists(root, "PENDING"));
    save_as(r, m, "v3", WF_STORE_MODEL_PROMOTED);
    char *text = wf_test_read_file(path, NULL);
    assert_string_equal(text, "v3\n");
    free(text);

    /* A follower leaves PENDING alone and writes nothing. */
    wf_registry *follower;
    assert_int_equal(wf_registry_open_follower(root, NULL, &follower, &err), 0);
    expect_current(follower, "v1");
    assert_true(exists(root, "PENDING"));
    assert_int_equal(wf_registry_activate(follower, "v2", &err), WF_ESTATE);
    assert_non_null(strstr(err.msg, "follows it"));
    wf_model_meta refused = {.status = WF_STORE_MODEL_PROMOTED};
    assert_int_equal(wf_registry_save(follower, m, &refused, &err), WF_ESTATE);
    assert_int_equal(wf_registry_prune(follower, 1, NULL, &err), WF_ESTATE);
    wf_registry_free(follower);
    expect_current(r, "v1");

    /* Nor is it finished while a trainer holds model.dir: that trainer (in
     * another process) is between its save and its activation. */
    char lock[512];
    snprintf(lock, sizeof lock, "%s/.trainer.lock", root);
    int fd = open(lock, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    r = reopen(r, root);
    expect_current(r, "v1");
    assert_true(exists(root, "PENDING"));
    close(fd);

    r = reopen(r, root);
    expect_current(r, "v3");
    assert_false(exists(root, "PENDING"));

    save_as(r, m, "v4", WF_STORE_MODEL_PROMOTED);
    assert_int_equal(wf_registry_activate(r, "v1", &err), 0);
    r = reopen(r, root);
    expect_current(r, "v1");

    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("v2\n", f); /* rejected: never activated by itself */
    fclose(f);
    r = reopen(r, root);
    expect_current(r, "v1");
    assert_false(exists(root, "PENDING"));

    save_as(r, m, "v5", WF_STORE_MODEL_PROMOTED);
    snprintf(path, sizeof path, "%s/v5/model.safetensors", root);
    flip_byte(path, 40);
    r = reopen(r, root);
    expect_current(r, "v1");
    assert_false(exists(root, "PENDING"));

    /* A version that failed to load back is dropped, not served later. */
    save_as(r, m, "v6", WF_STORE_MODEL_PROMOTED);
    assert_int_equal(wf_registry_drop_pending(r, "v4"), 0);
    assert_true(exists(root, "PENDING"));
    assert_int_equal(wf_registry_drop_pending(r, "v6"), 1);
    assert_false(exists(root, "PENDING"));
    r = reopen(r, root);
    expect_current(r, "v1");
    wf_registry_free(r);
    wf_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_corruption),
        cmocka_unit_test(test_interrupted_promotion_is_finished),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
