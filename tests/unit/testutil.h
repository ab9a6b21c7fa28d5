/* Small helpers shared by the unit tests (cmocka). */
#ifndef WF_TESTUTIL_H
#define WF_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the headers above first. */
#include <cmocka.h>

/* Path of a fixture file (tests/fixtures/<name>) in a static buffer. */
const char *wf_test_fixture(const char *name);
/* Reads a whole file; returns malloc'd NUL-terminated bytes (len in *n). */
char *wf_test_read_file(const char *path, size_t *n);
/* A fresh temporary directory (mkdtemp), in a static buffer. */
const char *wf_test_tmpdir(void);

#endif
