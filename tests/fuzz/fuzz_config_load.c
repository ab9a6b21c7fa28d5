/* Arbitrary bytes as a configuration text and as a --set assignment: never a
 * crash, and whatever loads must dump to a text that loads to the same dump. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wildfeed/config.h"

static void check_round_trip(const wf_config *c)
{
    char *first = wf_config_dump(c);
    wf_config *copy = wf_config_new();
    if (!first || !copy)
        abort();
    if (wf_config_load_string(copy, first, NULL) != 0)
        abort();
    char *second = wf_config_dump(copy);
    if (!second || strcmp(first, second) != 0)
        abort();
    free(first);
    free(second);
    wf_config_free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    wf_config *c = wf_config_new();
    if (!text || !c)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    wf_error err;
    if (wf_config_load_string(c, text, &err) == 0)
        check_round_trip(c);
    else if (err.code == 0 || err.msg[0] == '\0')
        abort(); /* a failure always says why */
    if (wf_config_set(c, text, &err) == 0)
        check_round_trip(c);
    wf_config_free(c);
    free(text);
    return 0;
}
