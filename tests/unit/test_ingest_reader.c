/* wf_line_reader: plain, gzip and stdin inputs, buffer boundaries, line
 * terminators, blank lines, over-long lines and read errors. */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ingest/reader.h"

static char path_buf[4096];

static const char *write_file(const char *name, const char *data, size_t n, int gz)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s", wf_test_tmpdir(), name);
    if (gz) {
        gzFile g = gzopen(path_buf, "wb");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, data, (unsigned)n), (int)n);
        assert_int_equal(gzclose(g), Z_OK);
    } else {
        FILE *f = fopen(path_buf, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, n, f), n);
        fclose(f);
    }
    return path_buf;
}

static void remove_file(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    unlink(path);
    *strrchr(dir, '/') = '\0';
    rmdir(dir);
}

/* Reads every result into "L<lineno>:<text>|" or "T<lineno>:<len>|". */
static char *read_all(const char *path, size_t max_line)
{
    wf_error err = {0};
    wf_line_reader *r = wf_line_reader_open(path, max_line, &err);
    if (!r)
        fail_msg("open: %s", err.msg);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    const char *line;
    size_t n;
    int rc;
    while ((rc = wf_line_reader_next(r, &line, &n, &err)) > 0) {
        char head[64];
        unsigned long long no = (unsigned long long)wf_line_reader_lineno(r);
        int h = rc == WF_LINE_OK ? snprintf(head, sizeof head, "L%llu:", no)
                                 : snprintf(head, sizeof head, "T%llu:%zu", no, n);
        size_t need = len + (size_t)h + (rc == WF_LINE_OK ? n : 0) + 2;
        if (need > cap) {
            cap = need * 2;
            out = realloc(out, cap);
        }
        memcpy(out + len, head, (size_t)h);
        len += (size_t)h;
        if (rc == WF_LINE_OK) {
            assert_null(memchr(line, '\n', n));
            memcpy(out + len, line, n);
            len += n;
        } else {
            assert_null(line);
        }
        out[len++] = '|';
        out[len] = '\0';
    }
    if (rc != WF_LINE_EOF)
        fail_msg("read: %s", err.msg);
    wf_line_reader_close(r);
    return out;
}

static void check_file(const char *data, size_t max_line, const char *want)
{
    for (int gz = 0; gz <= 1; gz++) {
        const char *path = write_file(gz ? "in.jsonl.gz" : "in.jsonl", data, strlen(data), gz);
        char *got = read_all(path, max_line);
        assert_string_equal(got, want);
        free(got);
        remove_file(path);
    }
}

static void terminators_and_blank_lines(void **state)
{
    (void)state;
    check_file("a\nbb\n", 100, "L1:a|L2:bb|");
    check_file("a\nbb", 100, "L1:a|L2:bb|");                /* no final newline */
    check_file("a\r\nbb\r\n", 100, "L1:a|L2:bb|");          /* CRLF */
    check_file("a\r\nbb\r", 100, "L1:a|L2:bb|");            /* CR at end of file */
    check_file("\n\na\n \t\n\r\nb\n\n", 100, "L3:a|L6:b|"); /* blank lines skipped */
    check_file("x\ry\n", 100, "L1:x\ry|");                  /* a CR inside a line stays */
    check_file("", 100, "");
    check_file("\n\n", 100, "");
}

static void over_long_lines(void **state)
{
    (void)state;
    check_file("12345\n123456\n1234\n", 5, "L1:12345|T2:6|L3:1234|");
    check_file("12345\r\n123456\r\n", 5, "L1:12345|T2:6|");
    check_file("ok\n1234567", 5, "L1:ok|T2:7|"); /* last line, no newline */
}

/* Lines far longer than the read chunk are skipped without buffering them. */
static void over_long_line_across_chunks(void **state)
{
    (void)state;
    size_t big = 3u << 20;
    char *data = malloc(big + 64);
    size_t n = (size_t)sprintf(data, "first\n");
    memset(data + n, 'x', big);
    n += big;
    n += (size_t)sprintf(data + n, "\nlast\n");
    for (int gz = 0; gz <= 1; gz++) {
        const char *path = write_file("big.jsonl", data, n, gz);
        char *got = read_all(path, 1000);
        assert_string_equal(got, "L1:first|T2:3145728|L3:last|");
        free(got);
        remove_file(path);
    }
    data[n - 6] = '\0'; /* ends inside the long line */
    const char *path = write_file("big.jsonl", data, n - 6, 0);
    char *got = read_all(path, 1000);
    assert_string_equal(got, "L1:first|T2:3145728|");
    free(got);
    remove_file(path);
    free(data);
}

/* Many lines of varied lengths: every one comes back intact although lines
 * straddle the reader's block boundaries. */
static void lines_across_buffer_boundaries(void **state)
{
    (void)state;
    size_t cap = 4u << 20, n = 0, lines = 0;
    char *data = malloc(cap);
    for (unsigned i = 0; n < cap - 5000; i++, lines++) {
        size_t len = 1 + (i * 7919u) % 3000;
        n += (size_t)sprintf(data + n, "%u:", i);
        for (size_t k = 0; k < len; k++)
            data[n++] = (char)('a' + (i + k) % 26);
        data[n++] = '\n';
    }
    for (int gz = 0; gz <= 1; gz++) {
        const char *path = write_file("many.jsonl", data, n, gz);
        wf_error err;
        wf_line_reader *r = wf_line_reader_open(path, 4000, &err);
        assert_non_null(r);
        const char *line;
        size_t len, off = 0, seen = 0;
        int rc;
        while ((rc = wf_line_reader_next(r, &line, &len, &err)) == WF_LINE_OK) {
            assert_memory_equal(line, data + off, len);
            assert_int_equal(data[off + len], '\n');
            off += len + 1;
            seen++;
            assert_int_equal(wf_line_reader_lineno(r), seen);
        }
        assert_int_equal(rc, WF_LINE_EOF);
        assert_int_equal(seen, lines);
        assert_int_equal(off, n);
        assert_int_equal(wf_line_reader_bytes(r), n);
        wf_line_reader_close(r);
        remove_file(path);
    }
    free(data);
}

static void reads_stdin(void **state)
{
    (void)state;
    const char *path = write_file("stdin.jsonl", "one\ntwo\n", 8, 1);
    int saved = dup(STDIN_FILENO);
    int fd = open(path, O_RDONLY);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDIN_FILENO);
    close(fd);
    char *got = read_all("-", 100);
    assert_string_equal(got, "L1:one|L2:two|");
    free(got);
    /* stdin itself stays open after close */
    assert_true(fcntl(STDIN_FILENO, F_GETFD) >= 0);
    dup2(saved, STDIN_FILENO);
    close(saved);
    remove_file(path);
}

static void open_and_read_errors(void **state)
{
    (void)state;
    wf_error err = {0};
    assert_null(wf_line_reader_open("/nonexistent/x.jsonl", 100, &err));
    assert_int_equal(err.code, WF_EIO);
    assert_string_equal(err.msg, "/nonexistent/x.jsonl: cannot open: No such file or directory");

    /* a directory opens but cannot be read */
    wf_line_reader *d = wf_line_reader_open("/", 100, &err);
    assert_non_null(d);
    const char *l;
    size_t ln;
    assert_int_equal(wf_line_reader_next(d, &l, &ln, &err), WF_EIO);
    assert_string_equal(err.msg, "/: read failed: Is a directory");
    wf_line_reader_close(d);

    /* a gzip stream cut short is an error, not a silent end */
    const char *text = "{\"a\":1}\n{\"b\":2}\n";
    const char *path = write_file("cut.gz", text, strlen(text), 1);
    size_t n;
    char *gz = wf_test_read_file(path, &n);
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    FILE *f = fopen(copy, "wb");
    fwrite(gz, 1, n - 6, f);
    fclose(f);
    free(gz);
    wf_line_reader *r = wf_line_reader_open(copy, 100, &err);
    assert_non_null(r);
    const char *line;
    size_t len;
    int rc;
    while ((rc = wf_line_reader_next(r, &line, &len, &err)) > 0)
        ;
    assert_int_equal(rc, WF_EIO);
    assert_non_null(strstr(err.msg, "cut.gz: read failed"));
    wf_line_reader_close(r);
    remove_file(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(terminators_and_blank_lines),
        cmocka_unit_test(over_long_lines),
        cmocka_unit_test(over_long_line_across_chunks),
        cmocka_unit_test(lines_across_buffer_boundaries),
        cmocka_unit_test(reads_stdin),
        cmocka_unit_test(open_and_read_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
