/* Rules judge throughput: classifications per second over the labelled
 * follow-ups of tests/fixtures/rules/feedback_cases.tsv, repeated.
 * Usage: bench_judge_rules [TABLE.tsv] [SECONDS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wildfeed/judge_rules.h"

#define MAX_ROWS 4096

static const char *const code_response =
    "Here is a function that sums the list:\n```python\ndef total(xs):\n    return sum(xs)\n```\n";
static const char *const text_response =
    "Canberra is the capital of Australia. It was chosen as a compromise between Sydney and "
    "Melbourne and became the seat of government in 1927.";

typedef struct row {
    const char *response;
    char *feedback;
} row;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static size_t parse(char *text, row *rows)
{
    size_t n = 0;
    for (char *line = strtok(text, "\n"); line && n < MAX_ROWS; line = strtok(NULL, "\n")) {
        char *tab1 = strchr(line, '\t');
        char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        if (line[0] == '#' || !tab2)
            continue;
        rows[n].response = tab1[1] == 'c' ? code_response : text_response;
        rows[n].feedback = tab2 + 1;
        n++;
    }
    return n;
}

int main(int argc, char **argv)
{
    char fallback[4096];
    snprintf(fallback, sizeof fallback, "%s", __FILE__);
    char *slash = strrchr(fallback, '/');
    snprintf(slash ? slash + 1 : fallback,
             sizeof fallback - (size_t)(slash ? slash + 1 - fallback : 0),
             "../tests/fixtures/rules/feedback_cases.tsv");
    const char *path = argc > 1 ? argv[1] : fallback;
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    char *text = slurp(path);
    if (!text) {
        fprintf(stderr, "bench_judge_rules: cannot read %s\n", path);
        return 1;
    }
    static row rows[MAX_ROWS];
    size_t n = parse(text, rows);
    if (n == 0) {
        fprintf(stderr, "bench_judge_rules: no rows in %s\n", path);
        return 1;
    }
    size_t bytes_per_pass = 0;
    for (size_t i = 0; i < n; i++)
        bytes_per_pass += strlen(rows[i].feedback);
    long levels[6] = {0}, total = 0;
    size_t passes = 0;
    double t0 = now_s(), t;
    do {
        for (size_t i = 0; i < n; i++) {
            wf_rules_result r;
            wf_rules_classify("query", rows[i].response, rows[i].feedback, &r);
            levels[r.level]++;
        }
        total += (long)n;
        passes++;
    } while ((t = now_s() - t0) < seconds);
    printf("rows %zu  passes %zu  classifications %ld  %.3f s\n", n, passes, total, t);
    printf("classifications/s %.0f  feedback MB/s %.1f\n", (double)total / t,
           (double)bytes_per_pass * (double)passes / t / 1e6);
    printf("levels 1:%ld 2:%ld 3:%ld 4:%ld 5:%ld\n", levels[1], levels[2], levels[3], levels[4],
           levels[5]);
    free(text);
    return 0;
}
