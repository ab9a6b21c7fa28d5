/* `wildfeed eval`: a model's metrics on the store's samples (one split) or a
 * WildFB JSONL file, plus pairwise accuracy on a preference set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "train/examples.h"
#include "wildfeed/eval.h"
#include "wildfeed/store.h"

static const char usage[] =
    "usage: wildfeed eval [--model DIR] [--split eval|train|all | -i FILE] [--prefs FILE]\n"
    "                     [--format text|json] [-c CONFIG] [--set k=v]...\n"
    "  Scores labelled samples with a model and prints accuracy, MAE, ECE, ROC-AUC,\n"
    "  Spearman's rho and, with a preference set, pairwise accuracy.\n"
    "  --model DIR    model directory (default: the registry's active version,\n"
    "                 model.dir/CURRENT)\n"
    "  --split S      samples of the store (store.path) to score (default eval)\n"
    "  -i FILE        score a WildFB JSONL file (.gz too) instead of the store\n"
    "  --prefs FILE   preference set, JSONL (default train.preference_file)\n"
    "  --format F     text (default) or json\n"
    "Exit status: 0 done, 1 missing model, store or file, 2 usage.\n";

typedef struct eval_args {
    const char *model, *input, *prefs;
    wf_store_split split;
    int json;
} eval_args;

/* Returns 0, or 2 after printing usage. */
static int parse_args(int argc, char **argv, eval_args *a)
{
    *a = (eval_args){.split = WF_STORE_EVAL};
    int split_given = 0;
    /* Every option takes a value. */
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int split;
        if (strcmp(argv[i], "--model") == 0 && v) {
            a->model = v;
        } else if (strcmp(argv[i], "-i") == 0 && v) {
            a->input = v;
        } else if (strcmp(argv[i], "--prefs") == 0 && v) {
            a->prefs = v;
        } else if (strcmp(argv[i], "--split") == 0 && v && (split = wf_store_split_parse(v)) >= 0) {
            a->split = (wf_store_split)split;
            split_given = 1;
        } else if (strcmp(argv[i], "--format") == 0 && v &&
                   (strcmp(v, "text") == 0 || strcmp(v, "json") == 0)) {
            a->json = strcmp(v, "json") == 0;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (split_given && a->input) {
        fputs("wildfeed: --split and -i exclude each other\n", stderr);
        return 2;
    }
    return 0;
}

/* The active version's folder, model.dir/<CURRENT>, malloc'd; NULL after
 * printing why. A name that could leave the registry is refused. */
static char *current_model_dir(const char *root)
{
    char path[4096], name[256];
    snprintf(path, sizeof path, "%s/CURRENT", root);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "wildfeed: no active model: %s: %m\n", path);
        return NULL;
    }
    size_t n = fread(name, 1, sizeof name - 1, f);
    fclose(f);
    while (n > 0 && (name[n - 1] == '\n' || name[n - 1] == '\r' || name[n - 1] == ' '))
        n--;
    name[n] = '\0';
    if (n == 0 || strchr(name, '/') || strcmp(name, "..") == 0 || strcmp(name, ".") == 0) {
        fprintf(stderr, "wildfeed: %s: not a version name: '%s'\n", path, name);
        return NULL;
    }
    size_t len = strlen(root) + n + 2;
    char *dir = malloc(len);
    if (dir)
        snprintf(dir, len, "%s/%s", root, name);
    return dir;
}

static int load_model(const wf_config *cfg, const eval_args *a, wf_model **m)
{
    char *dir = a->model ? strdup(a->model) : current_model_dir(wf_config_str(cfg, "model.dir"));
    if (!dir)
        return 1;
    wf_error err = {0};
    int rc = wf_model_load_dir(dir, m, &err);
    if (rc < 0)
        fprintf(stderr, "wildfeed: model %s: %s\n", dir, err.msg);
    free(dir);
    return rc < 0 ? 1 : 0;
}

static int read_store(const wf_config *cfg, wf_store_split split, wf_examples *ex)
{
    wf_store_options o;
    wf_store_options_from_config(&o, cfg);
    /* Opening creates a missing store: a mistyped path must fail instead. */
    if (access(o.path, F_OK) != 0) {
        fprintf(stderr, "wildfeed: store %s: %m\n", o.path);
        return 1;
    }
    wf_store *s;
    wf_error err = {0};
    int rc = wf_store_open(&o, &s, &err);
    if (rc == 0) {
        rc = wf_examples_from_store(s, split, 0, ex, &err);
        wf_store_close(s);
    }
    if (rc < 0)
        fprintf(stderr, "wildfeed: %s\n", err.msg);
    return rc < 0 ? 1 : 0;
}

static int read_examples(const wf_config *cfg, const eval_args *a, wf_examples *ex)
{
    if (!a->input)
        return read_store(cfg, a->split, ex);
    size_t bad = 0;
    wf_error err = {0};
    if (wf_examples_load_jsonl(a->input, ex, &bad, &err) < 0) {
        fprintf(stderr, "wildfeed: %s\n", err.msg);
        return 1;
    }
    if (bad)
        fprintf(stderr, "wildfeed: %s: %zu lines are no labelled sample, skipped\n", a->input, bad);
    return 0;
}

/* No set named anywhere is fine: *out stays NULL. */
static int read_prefs(const wf_config *cfg, const eval_args *a, wf_pref_set **out)
{
    const char *path = a->prefs ? a->prefs : wf_config_str(cfg, "train.preference_file");
    *out = NULL;
    if (!path || !*path)
        return 0;
    size_t bad = 0;
    wf_error err = {0};
    if (wf_pref_load(path, out, &bad, &err) < 0) {
        fprintf(stderr, "wildfeed: preference set %s\n", err.msg);
        return 1;
    }
    if (bad)
        fprintf(stderr, "wildfeed: %s: %zu lines are no preference pair, skipped\n", path, bad);
    return 0;
}

static int print_metrics(const wf_eval_metrics *mt, int json)
{
    wf_strbuf b;
    wf_strbuf_init(&b);
    if (json) {
        wf_eval_metrics_json(mt, &b);
        wf_strbuf_putc(&b, '\n');
    } else {
        wf_eval_metrics_text(mt, &b);
    }
    int rc = b.oom ? -1 : 0;
    if (rc == 0 && (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) != 0))
        rc = -1;
    wf_strbuf_free(&b);
    if (rc < 0)
        fprintf(stderr, "wildfeed: cannot write the metrics\n");
    return rc < 0 ? 1 : 0;
}

static int run_eval(const wf_config *cfg, const eval_args *a)
{
    wf_model *m = NULL;
    wf_pref_set *prefs = NULL;
    wf_examples ex;
    wf_examples_init(&ex);
    int status = load_model(cfg, a, &m);
    if (status == 0)
        status = read_examples(cfg, a, &ex);
    if (status == 0)
        status = read_prefs(cfg, a, &prefs);
    if (status == 0) {
        wf_eval_metrics mt;
        wf_error err = {0};
        if (wf_eval_run(m, ex.items, ex.n, prefs, &mt, &err) < 0) {
            fprintf(stderr, "wildfeed: evaluation failed: %s\n", err.msg);
            status = 1;
        } else {
            status = print_metrics(&mt, a->json);
        }
    }
    wf_pref_free(prefs);
    wf_examples_free(&ex);
    wf_model_free(m);
    return status;
}

int wf_cmd_eval(int argc, char **argv)
{
    if (wf_cli_help(argc, argv, usage))
        return 0;
    wf_config *cfg = wf_cli_load_config(&argc, argv);
    if (!cfg)
        return 2;
    eval_args a;
    int status = parse_args(argc, argv, &a);
    if (status == 0)
        status = run_eval(cfg, &a);
    wf_config_free(cfg);
    return status;
}
