/* `wildfeed tokenize`: ids of a Hugging Face tokenizer.json, one JSON array
 * per input line, so they can be compared with a reference implementation. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "model_transformer/tokenizer.h"

static const char usage[] =
    "usage: wildfeed tokenize --tokenizer FILE [-i TEXTS]\n"
    "  Reads one JSON string per line from TEXTS (default stdin) and prints one\n"
    "  JSON array of token ids per line. No special tokens are added.\n";

int wf_cmd_tokenize(int argc, char **argv)
{
    if (wf_cli_help(argc, argv, usage))
        return 0;
    const char *tok_path = NULL, *in_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tokenizer") == 0 && i + 1 < argc) {
            tok_path = argv[++i];
        } else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc) {
            in_path = argv[++i];
        } else {
            fprintf(stderr, "wildfeed tokenize: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    if (!tok_path) {
        fprintf(stderr, "wildfeed tokenize: --tokenizer is required\n%s", usage);
        return 2;
    }
    FILE *in = in_path ? fopen(in_path, "r") : stdin;
    if (!in) {
        fprintf(stderr, "wildfeed tokenize: cannot open %s\n", in_path);
        return 1;
    }
    wf_error err = {0};
    wf_tokenizer *tok = NULL;
    int rc = wf_tokenizer_load(tok_path, &tok, &err);
    if (rc < 0) {
        fprintf(stderr, "wildfeed tokenize: %s\n", err.msg);
    } else if ((rc = wf_tokenizer_encode_lines(tok, in, stdout, &err)) < 0) {
        fprintf(stderr, "wildfeed tokenize: %s: %s\n", in_path ? in_path : "stdin", err.msg);
    } else if (fflush(stdout) != 0) {
        fprintf(stderr, "wildfeed tokenize: write failed\n");
        rc = WF_EIO;
    }
    wf_tokenizer_free(tok);
    if (in != stdin)
        fclose(in);
    return rc < 0 ? 1 : 0;
}
