/* The model side of the daemon over real HTTP: the active model is served
 * at start-up, an operator can activate another stored version, and a
 * corrupt version is refused while the model already active keeps serving. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon/serving.h"
#include "testutil.h"

typedef struct reply {
    long status;
    char body[4096];
    size_t len;
} reply;

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    reply *r = ctx;
    size_t k = size * n;
    size_t room = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, p, k < room ? k : room);
    r->len += k < room ? k : room;
    r->body[r->len] = '\0';
    return k;
}

static reply post(int port, const char *path, const char *body, const char *token)
{
    reply r = {0};
    char url[256], auth[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
}

/* A small linear model whose responses containing "great" score high. */
static wf_model *train_tiny(uint64_t seed)
{
    static wf_example ex[200];
    for (int i = 0; i < 200; i++) {
        ex[i].in.query = "how do I sort a list in python quickly";
        ex[i].in.response = i % 2 ? "great answer with sorted and a key function"
                                  : "wrong answer that loops forever and fails";
        ex[i].label = i % 2 ? 4 : 1;
    }
    wf_train_opts o;
    wf_config *cfg = wf_config_new();
    wf_train_opts_from_config(&o, cfg);
    wf_config_free(cfg);
    o.seed = seed;
    o.hash_bits = 12;
    wf_model *m = NULL;
    wf_error err;
    assert_int_equal(wf_model_train("linear", ex, 200, NULL, 0, &o, &m, NULL, &err), 0);
    return m;
}

static void save_version(wf_registry *reg, uint64_t seed, char *version)
{
    wf_model *m = train_tiny(seed);
    wf_model_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.status = WF_STORE_MODEL_PROMOTED;
    wf_error err;
    assert_int_equal(wf_registry_save(reg, m, &meta, &err), 0);
    strcpy(version, meta.version);
    wf_model_free(m);
}

static void set(wf_config *cfg, const char *fmt, const char *v)
{
    char kv[1024];
    snprintf(kv, sizeof kv, fmt, v);
    wf_error err;
    assert_int_equal(wf_config_set(cfg, kv, &err), 0);
}

/* A configuration serving dir/models with the admin token "s3cret". */
static wf_config *serving_config(const char *dir)
{
    char path[512];
    wf_config *cfg = wf_config_new();
    set(cfg, "model.dir=%s/models", dir);
    set(cfg, "store.path=%s/store.db", dir);
    set(cfg, "server.listen=%s", "127.0.0.1:0");
    snprintf(path, sizeof path, "%s/token", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("s3cret\n", f);
    fclose(f);
    set(cfg, "server.admin_token_file=%s", path);
    return cfg;
}

static void test_activate_and_corrupt_version(void **state)
{
    (void)state;
    char dir[64], path[512], v1[WF_VERSION_MAX], v2[WF_VERSION_MAX], v3[WF_VERSION_MAX];
    snprintf(dir, sizeof dir, "%s", wf_test_tmpdir());
    snprintf(path, sizeof path, "%s/models", dir);
    wf_registry *reg;
    wf_error err;
    assert_int_equal(wf_registry_open(path, NULL, &reg, &err), 0);
    save_version(reg, 1, v1);
    save_version(reg, 2, v2);
    save_version(reg, 3, v3);
    assert_int_equal(wf_registry_activate(reg, v1, &err), 0);
    wf_registry_free(reg);
    /* v3's weights are damaged on disk after it was stored */
    snprintf(path, sizeof path, "%s/models/%s/model.safetensors", dir, v3);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, -4, SEEK_END);
    fputc('!', f);
    fclose(f);

    wf_config *cfg = serving_config(dir);
    wf_serving sv = {0};
    assert_int_equal(wf_serving_start(&sv, cfg, &err), 0);
    int port = wf_server_port(sv.server);
    const char *score = "{\"items\":[{\"query\":\"q\",\"response\":\"great answer\"}]}";

    reply r = post(port, "/v1/score", score, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, v1));

    char route[256];
    snprintf(route, sizeof route, "/v1/models/%s/activate", v2);
    assert_int_equal(post(port, route, "", "s3cret").status, 200);
    r = post(port, "/v1/score", score, NULL);
    assert_non_null(strstr(r.body, v2));

    snprintf(route, sizeof route, "/v1/models/%s/activate", v3);
    r = post(port, route, "", "s3cret");
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "model.safetensors"));
    r = post(port, "/v1/score", score, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, v2)); /* the old model keeps serving */
    assert_int_equal(post(port, "/v1/models/nope/activate", "", "s3cret").status, 404);

    wf_serving_stop(&sv);
    wf_config_free(cfg);
}

/* Polls /v1/score until its answer names version or timeout_s passes. */
static int serves(int port, const char *version, double timeout_s)
{
    const char *score = "{\"items\":[{\"query\":\"q\",\"response\":\"great answer\"}]}";
    for (int i = 0; i < (int)(timeout_s * 20); i++) {
        reply r = post(port, "/v1/score", score, NULL);
        if (r.status == 200 && strstr(r.body, version))
            return 1;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* Flips the last byte of a version's weights; flipping again repairs it. */
static void flip_last_byte(const char *dir, const char *version)
{
    char path[512];
    snprintf(path, sizeof path, "%s/models/%s/model.safetensors", dir, version);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, -1, SEEK_END);
    int c = fgetc(f);
    fseek(f, -1, SEEK_END);
    fputc(c ^ 0x01, f);
    fclose(f);
}

static void stat_of(const char *dir, const char *name, struct stat *st)
{
    char path[512];
    snprintf(path, sizeof path, "%s/models/%s", dir, name);
    assert_int_equal(stat(path, st), 0);
}

/* Another process (here, a second registry handle) writes a shared
 * model.dir. The follower serves each version it activates within the
 * interval, writes nothing there (not even to finish the writer's pending
 * promotion), refuses admin activations (409), keeps serving through a
 * version that does not load, and tries such a version again once CURRENT
 * has moved away and back. Following while training is refused. */
static void test_follows_another_writer(void **state)
{
    (void)state;
    char dir[64], path[512], v[5][WF_VERSION_MAX];
    snprintf(dir, sizeof dir, "%s", wf_test_tmpdir());
    snprintf(path, sizeof path, "%s/models", dir);
    wf_registry *writer;
    wf_error err;
    assert_int_equal(wf_registry_open(path, NULL, &writer, &err), 0);
    for (int i = 1; i <= 3; i++)
        save_version(writer, (uint64_t)i, v[i]);
    flip_last_byte(dir, v[3]);
    assert_int_equal(wf_registry_activate(writer, v[1], &err), 0);
    save_version(writer, 4, v[4]); /* the writer is between save and activation */
    struct stat before, after;
    stat_of(dir, "CURRENT", &before);

    wf_config *cfg = serving_config(dir);
    set(cfg, "train.enabled=%s", "false");
    set(cfg, "model.follow_interval_s=%s", "1");
    wf_serving sv = {0};
    assert_int_equal(wf_serving_start(&sv, cfg, &err), 0);
    int port = wf_server_port(sv.server);
    assert_true(serves(port, v[1], 0.1)); /* at once: served at start */
    stat_of(dir, "PENDING", &after);      /* still there: the writer's to finish */
    stat_of(dir, "CURRENT", &after);
    assert_true(after.st_ino == before.st_ino);
    assert_true(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
                after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    char route[256];
    snprintf(route, sizeof route, "/v1/models/%s/activate", v[2]);
    assert_int_equal(post(port, route, "", "s3cret").status, 409);

    assert_int_equal(wf_registry_activate(writer, v[2], &err), 0);
    assert_true(serves(port, v[2], 5));
    assert_int_equal(wf_registry_activate(writer, v[3], &err), 0);
    assert_false(serves(port, v[3], 2.5));
    assert_true(serves(port, v[2], 0.1));
    /* Repaired, and CURRENT away (served: the follower saw it) and back:
     * tried again at once, not after the back-off. */
    flip_last_byte(dir, v[3]);
    assert_int_equal(wf_registry_activate(writer, v[1], &err), 0);
    assert_true(serves(port, v[1], 5));
    assert_int_equal(wf_registry_activate(writer, v[3], &err), 0);
    assert_true(serves(port, v[3], 5));
    wf_serving_stop(&sv);

    set(cfg, "train.enabled=%s", "true");
    wf_serving refused = {0};
    assert_int_equal(wf_serving_start(&refused, cfg, &err), WF_EINVAL);
    assert_non_null(strstr(err.msg, "model.follow_interval_s"));
    wf_config_free(cfg);
    wf_registry_free(writer);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activate_and_corrupt_version),
        cmocka_unit_test(test_follows_another_writer),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
