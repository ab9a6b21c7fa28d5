/* The wildfeed binary: dispatches to one subcommand per verb. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

/* The build passes the project version; the fallback keeps a bare compile working. */
#ifndef WF_VERSION
#define WF_VERSION "0.1.0"
#endif

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand commands[] = {
    {"config", wf_cmd_config, "print the effective configuration or the key reference"},
    {"demo", wf_cmd_demo, "run the whole loop on the bundled sample and an in-process Kafka"},
    {"eval", wf_cmd_eval, "print a model's metrics on stored samples and a preference set"},
    {"export", wf_cmd_export, "write the stored samples as WildFB JSONL"},
    {"extract", wf_cmd_extract, "turn JSONL chat logs into labelled samples, with a stage report"},
    {"judge", wf_cmd_judge, "print the judge's verdict for every candidate (no filters)"},
    {"run", wf_cmd_run, "the daemon: consume Kafka, label feedback, store samples, train, serve"},
    {"serve", wf_cmd_serve, "serve the active reward model (no Kafka)"},
    {"tokenize", wf_cmd_tokenize, "print the token ids of texts under a tokenizer.json"},
    {"train", wf_cmd_train, "train a candidate model from the store, gate it, activate it"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: wildfeed <command> [options]\n"
                 "       wildfeed --help | --version\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nCommon options: -c FILE (JSON configuration), --set key=value (repeatable).\n"
                 "Run 'wildfeed <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(verb, "--version") == 0) {
        printf("wildfeed %s\n", WF_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(verb, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "wildfeed: unknown command '%s'\n", verb);
    usage(stderr);
    return 2;
}
