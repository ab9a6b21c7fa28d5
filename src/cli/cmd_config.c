/* wildfeed config: the effective configuration, or the reference of every key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "config/describe.h"

static const char usage_text[] = "usage: wildfeed config --print [-c FILE] [--set key=value]...\n"
                                 "       wildfeed config --keys\n"
                                 "  --print  the effective configuration as JSON\n"
                                 "  --keys   every key with its type, default and meaning "
                                 "(Markdown table)\n";

/* Table cells may not contain a bare '|', not even inside code spans. */
static void cell(const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', stdout);
        fputc(*s, stdout);
    }
}

static int print_keys(void)
{
    printf("| key | type | default | meaning |\n|---|---|---|---|\n");
    for (const wf_config_key *const *t = wf_config_schema(); *t; t++)
        for (const wf_config_key *k = *t; k->key; k++) {
            char type[128];
            wf_config_describe(k, type, sizeof type);
            printf("| `%s` | ", k->key);
            cell(type);
            printf(" | `");
            cell(k->def);
            printf("` | ");
            cell(k->help);
            printf(" |\n");
        }
    return 0;
}

static int print_config(const wf_config *c)
{
    char *text = wf_config_dump(c);
    if (!text) {
        fprintf(stderr, "wildfeed: out of memory\n");
        return 1;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

int wf_cmd_config(int argc, char **argv)
{
    if (wf_cli_help(argc, argv, usage_text))
        return 0;
    wf_config *c = wf_cli_load_config(&argc, argv);
    if (!c)
        return 2;
    const char *action = NULL;
    int status = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--print") != 0 && strcmp(argv[i], "--keys") != 0) {
            fprintf(stderr, "wildfeed: config: unknown argument '%s'\n%s", argv[i], usage_text);
            goto done;
        }
        if (action && strcmp(action, argv[i]) != 0) {
            fprintf(stderr, "wildfeed: config: --print and --keys exclude each other\n");
            goto done;
        }
        action = argv[i];
    }
    if (!action)
        fputs(usage_text, stderr);
    else if (strcmp(action, "--keys") == 0)
        status = print_keys();
    else
        status = print_config(c);
done:
    wf_config_free(c);
    return status;
}
