/* Linear-model training speed: samples per second of mini-batch Adam over
 * synthetic labelled items of typical chat length (a 50-word query, a
 * 200-word response), CORAL head, 2^20 weights, batch 64, no eval split (so
 * every epoch runs).
 *
 * usage: bench_model_linear_train [SAMPLES] [EPOCHS]  (default 20000 3) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_linear/linear.h"

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Words from a 20000-word vocabulary, so n-grams repeat across samples. */
static char *words(int n, uint64_t *s)
{
    char *out = malloc((size_t)n * 12 + 1), *p = out;
    for (int i = 0; i < n; i++) {
        uint64_t w = rnd(s) % 20000 + 1;
        int len = 2 + (int)(w % 8);
        for (int c = 0; c < len; c++)
            *p++ = (char)('a' + (w * (c + 7) / 3) % 26);
        *p++ = ' ';
    }
    *p = '\0';
    return out;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    int epochs = argc > 2 ? atoi(argv[2]) : 3;
    wf_example *ex = calloc(n, sizeof *ex);
    uint64_t s = 2463534242ull;
    for (size_t i = 0; i < n; i++)
        ex[i] = (wf_example){{.query = words(50, &s), .response = words(200, &s)},
                             (int)(rnd(&s) % 4) + 1};
    wf_train_opts o = {.head = WF_HEAD_CORAL,
                       .seed = 42,
                       .epochs = epochs,
                       .batch = 64,
                       .patience = 2,
                       .hash_bits = 20,
                       .lr = 0.5,
                       .l2 = 1e-6};
    wf_model *m;
    wf_train_report rep;
    wf_error err = {0};
    if (wf_linear_train(ex, n, NULL, 0, &o, &m, &rep, &err)) {
        fprintf(stderr, "train: %s\n", err.msg);
        return 1;
    }
    printf("linear train: %zu samples x %d epochs in %.2f s: %.0f samples/s "
           "(train loss %.4f)\n",
           n, rep.epochs_run, rep.seconds, (double)n * rep.epochs_run / rep.seconds,
           rep.train_loss);
    wf_model_free(m);
    for (size_t i = 0; i < n; i++) {
        free((char *)ex[i].in.query);
        free((char *)ex[i].in.response);
    }
    free(ex);
    return 0;
}
