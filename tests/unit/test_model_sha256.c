/* SHA-256 against the FIPS 180-2 appendix B vectors and their published
 * digests, one-shot, split across updates, and from a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/sha256.h"
#include "testutil.h"

static const char *const abc_sum =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char *const two_block = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char *const two_block_sum =
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";

static void test_vectors(void **state)
{
    (void)state;
    char hex[WF_SHA256_HEX];
    wf_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, abc_sum);
    wf_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    wf_sha256_hex(two_block, strlen(two_block), hex);
    assert_string_equal(hex, two_block_sum);
}

static void test_million_a_in_pieces(void **state)
{
    (void)state;
    char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    wf_sha256 c;
    uint8_t d[WF_SHA256_BYTES];
    wf_sha256_init(&c);
    /* Uneven pieces cross block boundaries at every offset. */
    size_t left = 1000000;
    for (size_t piece = 1; left > 0; piece = piece % 997 + 1) {
        size_t n = piece < left ? piece : left;
        wf_sha256_update(&c, chunk, n);
        left -= n;
    }
    wf_sha256_final(&c, d);
    static const uint8_t want[WF_SHA256_BYTES] = {0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92,
                                                  0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
                                                  0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e,
                                                  0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    assert_memory_equal(d, want, WF_SHA256_BYTES);
}

/* Lengths 55, 56 and 64 are the padding edge cases: the length field fits,
 * just does not fit, and a whole block of padding follows. */
static void test_padding_edges_match_split(void **state)
{
    (void)state;
    char buf[130];
    memset(buf, 'x', sizeof buf);
    size_t lens[] = {55, 56, 63, 64, 65, 119, 120, 128};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char one[WF_SHA256_HEX], two[WF_SHA256_HEX];
        wf_sha256_hex(buf, lens[i], one);
        wf_sha256 c;
        uint8_t d[WF_SHA256_BYTES];
        wf_sha256_init(&c);
        wf_sha256_update(&c, buf, 7);
        wf_sha256_update(&c, buf + 7, lens[i] - 7);
        wf_sha256_final(&c, d);
        static const char digits[] = "0123456789abcdef";
        for (int b = 0; b < WF_SHA256_BYTES; b++) {
            two[2 * b] = digits[d[b] >> 4];
            two[2 * b + 1] = digits[d[b] & 15];
        }
        two[64] = '\0';
        assert_string_equal(one, two);
    }
    char hex[WF_SHA256_HEX];
    wf_sha256_hex(buf, 56, hex);
    assert_string_not_equal(hex, abc_sum);
}

static void test_file(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/f", wf_test_tmpdir());
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(two_block, f);
    fclose(f);
    char hex[WF_SHA256_HEX];
    wf_error err = {0};
    assert_int_equal(wf_sha256_file(path, hex, &err), 0);
    assert_string_equal(hex, two_block_sum);
    remove(path);
    assert_int_equal(wf_sha256_file(path, hex, &err), WF_EIO);
    assert_non_null(strstr(err.msg, path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_million_a_in_pieces),
        cmocka_unit_test(test_padding_edges_match_split),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
