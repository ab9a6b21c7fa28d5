/* The bundled demo conversations (data/demo/conversations.jsonl), embedded
 * at build time; NUL-terminated JSONL. */
#ifndef WF_CLI_DEMO_DATA_H
#define WF_CLI_DEMO_DATA_H

#include <stddef.h>

extern const unsigned char wf_demo_conversations[];
extern const size_t wf_demo_conversations_len;

#endif
