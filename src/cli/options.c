#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "wildfeed/log.h"

enum { PASS_FILES, PASS_SETS };

static int is_option(const char *arg, const char *opt)
{
    size_t n = strlen(opt);
    return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* The configuration option arg starts with ("-c", "--config", "--set"), or NULL. */
static const char *config_option(const char *arg)
{
    if (strcmp(arg, "-c") == 0)
        return "-c";
    if (is_option(arg, "--config"))
        return "--config";
    if (is_option(arg, "--set"))
        return "--set";
    return NULL;
}

/* The value of option opt at argv[*i]: "--opt=value" or the next argument. */
static const char *option_value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (*i + 1 >= argc) {
        fprintf(stderr, "wildfeed: option '%s' needs a value\n", opt);
        return NULL;
    }
    return argv[++*i];
}

/* Files are loaded in the first pass and --set applied in the second, so an
 * override wins wherever it stands on the command line. The second pass also
 * compacts the arguments it does not consume to the front of argv. */
static int scan(wf_config *c, int *argc, char **argv, int pass)
{
    int kept = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) { /* the rest belongs to the subcommand */
            while (pass == PASS_SETS && i < *argc)
                argv[kept++] = argv[i++];
            break;
        }
        const char *opt = config_option(argv[i]);
        if (!opt) {
            if (pass == PASS_SETS)
                argv[kept++] = argv[i];
            continue;
        }
        const char *v = option_value(*argc, argv, &i, opt);
        if (!v)
            return -1;
        int is_set = strcmp(opt, "--set") == 0;
        wf_error err;
        int rc = 0;
        if (pass == PASS_FILES && !is_set)
            rc = wf_config_load_file(c, v, &err);
        else if (pass == PASS_SETS && is_set)
            rc = wf_config_set(c, v, &err);
        if (rc < 0) {
            fprintf(stderr, "wildfeed: %s\n", err.msg);
            return -1;
        }
    }
    if (pass == PASS_SETS) {
        *argc = kept;
        argv[kept] = NULL;
    }
    return 0;
}

wf_config *wf_cli_load_config(int *argc, char **argv)
{
    wf_config *c = wf_config_new();
    if (!c) {
        fprintf(stderr, "wildfeed: out of memory\n");
        return NULL;
    }
    if (scan(c, argc, argv, PASS_FILES) < 0 || scan(c, argc, argv, PASS_SETS) < 0) {
        wf_config_free(c);
        return NULL;
    }
    wf_log_setup(wf_log_level_parse(wf_config_str(c, "log.level")),
                 wf_log_format_parse(wf_config_str(c, "log.format")), NULL);
    return c;
}

int wf_cli_help(int argc, char **argv, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 1;
        }
    }
    return 0;
}
