/* Human wording of a key's type, shared by error messages and the key
 * reference of `wildfeed config --keys`. */
#ifndef WF_CONFIG_DESCRIBE_H
#define WF_CONFIG_DESCRIBE_H

#include <stddef.h>

#include "wildfeed/config.h"

/* Writes e.g. "integer in [1, 100]", "integer >= 1", "one of a|b|c" into buf
 * (always NUL-terminated, truncated to n bytes). */
void wf_config_describe(const wf_config_key *k, char *buf, size_t n);

#endif
