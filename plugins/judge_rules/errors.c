/* Code in the response and error output pasted back: a traceback right after
 * an answer with code is the strongest sign that the code is broken. */
#include <string.h>

#include "rules_internal.h"

/* Only the start of a long response is searched; code shows up early. */
#define CODE_SCAN_MAX 16384

static const char *const code_markers[] = {
    "```",    "#include",      "def ",  "function ", "console.log", "printf(",
    "print(", "public static", "<?php", "});",       "SELECT ",     "#!/",
};

/* Error-output signatures, grouped by first letter so that one pass over the
 * text compares only the few that start with the byte at hand. */
#define SIGS(...) ((const char *const[]){__VA_ARGS__, NULL})
static const char *const *const signatures[26] = {
    ['c' - 'a'] =
        SIGS("core dumped", "cannot find symbol", "cannot read propert", "command not found"),
    ['e' - 'a'] = SIGS("error:", "error[e", "exception:", "exception in thread", "errno",
                       "exited with code", "exit status 1"),
    ['f' - 'a'] = SIGS("fatal error"),
    ['h' - 'a'] = SIGS("has no attribute"),
    ['i' - 'a'] = SIGS("is not defined", "is not a function"),
    ['n' - 'a'] = SIGS("npm err!", "no module named", "no such file or directory"),
    ['p' - 'a'] = SIGS("panic:"),
    ['s' - 'a'] = SIGS("segmentation fault", "stack trace"),
    ['t' - 'a'] = SIGS("traceback (most recent call last)"),
    ['u' - 'a'] = SIGS("undefined reference to", "unexpected token", "uncaught "),
};

int wf_rules_has_code(const char *response)
{
    size_t n = strnlen(response, CODE_SCAN_MAX);
    for (size_t i = 0; i < sizeof code_markers / sizeof code_markers[0]; i++)
        if (memmem(response, n, code_markers[i], strlen(code_markers[i])))
            return 1;
    return 0;
}

int wf_rules_has_error_output(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 'a' || c > 'z' || !signatures[c - 'a'])
            continue;
        for (const char *const *sig = signatures[c - 'a']; *sig; sig++) {
            if (i + 1 == n || s[i + 1] != (*sig)[1])
                continue;
            size_t len = strlen(*sig);
            if (len <= n - i && memcmp(s + i, *sig, len) == 0)
                return 1;
        }
    }
    return 0;
}
