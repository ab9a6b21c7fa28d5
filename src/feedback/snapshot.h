/* Candidates from a conversation snapshot (DESIGN §3, shape 2). */
#ifndef WF_FEEDBACK_SNAPSHOT_H
#define WF_FEEDBACK_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/event.h"
#include "wildfeed/sample.h"

/* Called once per exchange t followed by a user message. cand is owned by
 * the callee, or NULL when the history is longer than max_history messages
 * (the candidate would be dropped anyway, so it is not built). A non-zero
 * return stops the walk and is returned. */
typedef int (*wf_snapshot_fn)(void *ctx, int t, wf_candidate *cand);

/* Walks ev's messages (system and tool messages are neither history nor
 * feedback). Returns WF_ENOMEM when a candidate cannot be built. */
int wf_snapshot_candidates(const wf_event *ev, size_t max_history, int64_t now, wf_snapshot_fn fn,
                           void *ctx);

#endif
