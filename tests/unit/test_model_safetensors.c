/* safetensors: writer/reader round trip, deterministic bytes, half-precision
 * conversion, and every kind of corruption refused with an error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "wildfeed/safetensors.h"

/* A file image: 8-byte length, header, data. Caller frees. */
static uint8_t *image(const char *header, const void *data, size_t dlen, size_t *len)
{
    size_t hlen = strlen(header);
    *len = 8 + hlen + dlen;
    uint8_t *b = malloc(*len);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, header, hlen);
    if (dlen)
        memcpy(b + 8 + hlen, data, dlen);
    return b;
}

static void expect_corrupt(const char *header, size_t dlen, const char *needle)
{
    uint8_t data[64] = {0};
    size_t len;
    uint8_t *b = image(header, data, dlen, &len);
    wf_st_file *f = (wf_st_file *)1;
    wf_error err = {0};
    assert_int_equal(wf_st_parse(b, len, "x.safetensors", &f, &err), WF_ECORRUPT);
    assert_null(f);
    if (!strstr(err.msg, "x.safetensors") || !strstr(err.msg, needle))
        fail_msg("header %s: message '%s' lacks '%s'", header, err.msg, needle);
    free(b);
}

static const char *write_sample(const char *dir, const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    static const float zeta[6] = {1.5f, -2.25f, 3.0e-7f, 0.0f, -0.0f, 1e30f};
    static const float alpha[4] = {0.1f, 0.2f, 0.3f, 0.4f};
    wf_st_out t[2] = {{"zeta", 2, {2, 3}, zeta}, {"alpha", 1, {4}, alpha}};
    wf_st_kv meta[2] = {{"zkey", "last"}, {"akey", "first \"quoted\""}};
    wf_error err = {0};
    assert_int_equal(wf_st_write(path, t, 2, meta, 2, &err), 0);
    return path;
}

static void test_round_trip(void **state)
{
    (void)state;
    const char *dir = wf_test_tmpdir();
    const char *path = write_sample(dir, "a.safetensors");
    wf_st_file *f;
    wf_error err = {0};
    assert_int_equal(wf_st_open(path, &f, &err), 0);
    assert_string_equal(wf_st_what(f), path);
    assert_int_equal(wf_st_count(f), 2);
    /* Written sorted by name, so alpha's data comes first. */
    assert_string_equal(wf_st_at(f, 0)->name, "alpha");
    assert_string_equal(wf_st_at(f, 1)->name, "zeta");
    assert_null(wf_st_at(f, 2));
    const wf_st_tensor *z = wf_st_find(f, "zeta");
    assert_int_equal(z->ndim, 2);
    assert_int_equal(z->shape[0], 2);
    assert_int_equal(z->shape[1], 3);
    assert_int_equal(z->numel, 6);
    assert_int_equal(z->nbytes, 24);
    float out[6];
    uint64_t shape[2] = {2, 3};
    assert_int_equal(wf_st_read_f32(f, "zeta", shape, 2, out, &err), 0);
    static const float want[6] = {1.5f, -2.25f, 3.0e-7f, 0.0f, -0.0f, 1e30f};
    assert_memory_equal(out, want, sizeof want); /* bit for bit, -0 included */
    assert_string_equal(wf_st_meta(f, "akey"), "first \"quoted\"");
    assert_string_equal(wf_st_meta(f, "zkey"), "last");
    assert_null(wf_st_meta(f, "nope"));
    assert_null(wf_st_find(f, "nope"));
    wf_st_close(f);
}

static void test_deterministic_aligned_bytes(void **state)
{
    (void)state;
    const char *dir = wf_test_tmpdir();
    char a[512];
    snprintf(a, sizeof a, "%s", write_sample(dir, "a.safetensors"));
    const char *b = write_sample(dir, "b.safetensors");
    size_t na, nb;
    char *da = wf_test_read_file(a, &na), *db = wf_test_read_file(b, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(da, db, na);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | (uint8_t)da[i];
    assert_int_equal(hlen % 8, 0);
    assert_int_equal(na, 8 + hlen + 40);
    assert_memory_equal(da + 8, "{\"__metadata__\":{\"akey\"", 23);
    free(da);
    free(db);
}

static void test_shape_and_name_errors(void **state)
{
    (void)state;
    const char *path = write_sample(wf_test_tmpdir(), "a.safetensors");
    wf_st_file *f;
    wf_error err = {0};
    assert_int_equal(wf_st_open(path, &f, &err), 0);
    float out[6];
    uint64_t wrong[2] = {3, 2};
    assert_int_equal(wf_st_read_f32(f, "zeta", wrong, 2, out, &err), WF_ECORRUPT);
    assert_non_null(strstr(err.msg, "\"zeta\" has shape [2,3], expected [3,2]"));
    assert_int_equal(wf_st_read_f32(f, "missing", wrong, 2, out, &err), WF_ECORRUPT);
    assert_non_null(strstr(err.msg, "missing"));
    wf_st_close(f);
    wf_st_out dup[2] = {{"x", 1, {1}, out}, {"x", 1, {1}, out}};
    char p2[600];
    snprintf(p2, sizeof p2, "%s.dup", path);
    assert_int_equal(wf_st_write(p2, dup, 2, NULL, 0, &err), WF_EINVAL);
    assert_int_equal(wf_st_open(p2, &f, &err), WF_EIO);
}

static void test_half_and_bfloat(void **state)
{
    (void)state;
    /* F16: 1, -2, 2^-24 (smallest subnormal), +inf; BF16: 1, -5. */
    const uint8_t data[12] = {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00,
                              0x00, 0x7c, 0x80, 0x3f, 0xa0, 0xc0};
    size_t len;
    uint8_t *b = image("{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,2],\"data_offsets\":[8,12]}}",
                       data, sizeof data, &len);
    wf_st_file *f;
    wf_error err = {0};
    assert_int_equal(wf_st_parse(b, len, "mem", &f, &err), 0);
    float h[4], bf[2];
    uint64_t hs[1] = {4}, bs[2] = {1, 2};
    assert_int_equal(wf_st_read_f32(f, "h", hs, 1, h, &err), 0);
    assert_true(h[0] == 1.0f && h[1] == -2.0f && h[2] == ldexpf(1.0f, -24));
    assert_true(isinf(h[3]) && h[3] > 0);
    assert_int_equal(wf_st_read_f32(f, "b", bs, 2, bf, &err), 0);
    assert_true(bf[0] == 1.0f && bf[1] == -5.0f);
    assert_int_equal(wf_st_find(f, "b")->dtype, WF_ST_BF16);
    assert_true(wf_f16_to_f32(0x7bff) == 65504.0f);
    assert_true(wf_f16_to_f32(0x8000) == 0.0f && signbit(wf_f16_to_f32(0x8000)));
    assert_true(isnan(wf_f16_to_f32(0x7e00)));
    assert_true(wf_f16_to_f32(0x0400) == ldexpf(1.0f, -14)); /* smallest normal */
    wf_st_close(f);
    free(b);
}

static void test_corrupt_headers(void **state)
{
    (void)state;
    expect_corrupt("[1,2]", 0, "not a JSON object");
    expect_corrupt("{\"a\":", 0, "not JSON");
    expect_corrupt("{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "dtype");
    expect_corrupt("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
                   "negative");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
                   "non-integer");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                   "\"data_offsets\":[0,4]}}",
                   4, "at most 8");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                   "\"data_offsets\":[0,4]}}",
                   4, "too large");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
                   "does not match");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4,
                   "begin <= end");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
                   "data_offsets");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8,
                   "beyond the end");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
                   "\"data_offsets\":[9223372036854775800,9223372036854775804]}}",
                   4, "gap");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                   8, "overlaps");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12,
                   "longer");
    expect_corrupt("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__");
    expect_corrupt("{\"__metadata__\":[]}", 0, "__metadata__");
    expect_corrupt("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                   8, "not JSON");
    expect_corrupt("{\"a\":7}", 0, "not an object");
}

static void test_bad_lengths(void **state)
{
    (void)state;
    wf_st_file *f;
    wf_error err = {0};
    uint8_t huge[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    assert_int_equal(wf_st_parse(huge, sizeof huge, "h", &f, &err), WF_ECORRUPT);
    assert_non_null(strstr(err.msg, "header length"));
    uint8_t zero[8] = {0};
    assert_int_equal(wf_st_parse(zero, sizeof zero, "z", &f, &err), WF_ECORRUPT);
    assert_int_equal(wf_st_parse(zero, 5, "s", &f, &err), WF_ECORRUPT);
    assert_non_null(strstr(err.msg, "shorter"));
    /* An empty file through the path loader. */
    char path[256];
    snprintf(path, sizeof path, "%s/empty", wf_test_tmpdir());
    fclose(fopen(path, "wb"));
    assert_int_equal(wf_st_open(path, &f, &err), WF_ECORRUPT);
    assert_non_null(strstr(err.msg, path));
    assert_null(f);
}

/* Every proper prefix of a valid file is refused. */
static void test_every_truncation(void **state)
{
    (void)state;
    const char *path = write_sample(wf_test_tmpdir(), "a.safetensors");
    size_t n;
    char *d = wf_test_read_file(path, &n);
    for (size_t len = 0; len < n; len++) {
        wf_st_file *f = (wf_st_file *)1;
        wf_error err = {0};
        uint8_t *copy = malloc(len + 1); /* exact size: ASan sees any overread */
        memcpy(copy, d, len);
        assert_int_equal(wf_st_parse(copy, len, "t", &f, &err), WF_ECORRUPT);
        assert_null(f);
        free(copy);
    }
    wf_st_file *f;
    wf_error err = {0};
    assert_int_equal(wf_st_parse(d, n, "t", &f, &err), 0);
    assert_int_equal(wf_st_count(f), 2);
    wf_st_close(f);
    free(d);
}

static void test_empty_tensor_and_header_only(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = image("{\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]}}  ", NULL,
                       0, &len);
    wf_st_file *f;
    wf_error err = {0};
    assert_int_equal(wf_st_parse(b, len, "e", &f, &err), 0);
    assert_int_equal(wf_st_find(f, "e")->numel, 0);
    wf_st_close(f);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_deterministic_aligned_bytes),
        cmocka_unit_test(test_shape_and_name_errors),
        cmocka_unit_test(test_half_and_bfloat),
        cmocka_unit_test(test_corrupt_headers),
        cmocka_unit_test(test_bad_lengths),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_empty_tensor_and_header_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
