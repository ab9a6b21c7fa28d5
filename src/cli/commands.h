/* Subcommands of the wildfeed binary. Each takes the arguments after the
 * subcommand name (argv[0] is the subcommand) and returns the exit status. */
#ifndef WF_CLI_COMMANDS_H
#define WF_CLI_COMMANDS_H

#include "wildfeed/config.h"

int wf_cmd_config(int argc, char **argv);
int wf_cmd_demo(int argc, char **argv);
int wf_cmd_eval(int argc, char **argv);
int wf_cmd_export(int argc, char **argv);
int wf_cmd_extract(int argc, char **argv);
int wf_cmd_judge(int argc, char **argv);
int wf_cmd_run(int argc, char **argv);
int wf_cmd_serve(int argc, char **argv);
int wf_cmd_tokenize(int argc, char **argv);
int wf_cmd_train(int argc, char **argv);

/* Shared option handling: consumes -c FILE and --set k=v (repeatable) from
 * argv, building the effective configuration and applying log.* settings.
 * Unconsumed arguments are compacted to the front of argv; *argc updated.
 * Returns NULL after printing the error (naming the key) to stderr. */
wf_config *wf_cli_load_config(int *argc, char **argv);

/* 1 when argv asks for --help or -h (after printing usage to stdout). */
int wf_cli_help(int argc, char **argv, const char *usage);

#endif
