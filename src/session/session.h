/* Conversation state for message events (DESIGN §3, shape 1).
 *
 * Message events carry one message each; to turn them into candidates the
 * daemon remembers, per conversation, the last messages (bounded), the count
 * of user->assistant exchanges so far, and the last turn number seen, so that
 * replays are recognised. The table is bounded in conversations (LRU) and in
 * idle time (TTL); both evictions are counted by the caller through the
 * evict callback. Single-threaded; owned by its creator. */
#ifndef WF_SESSION_SESSION_H
#define WF_SESSION_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "wildfeed/event.h"
#include "wildfeed/pipeline.h"
#include "wildfeed/sample.h"
#include "wildfeed/strbuf.h"

typedef struct wf_session_table wf_session_table;

/* A message kept in state; strings owned by the table. */
typedef struct wf_kept_msg {
    char *role;
    char *content;
    int64_t turn;     /* the log's turn number */
    int exchange;     /* for an assistant message closing an exchange: its t; else -1 */
    int is_user;      /* role is a user role */
    int is_assistant; /* role is an assistant role */
} wf_kept_msg;

/* Called for each conversation leaving the table (TTL or capacity), before
 * its state is freed: the pipeline closes its hindsight windows. */
typedef void (*wf_session_evict_fn)(void *ctx, const char *conversation_id, wf_session_note why);

wf_session_table *wf_session_table_new(size_t max_conversations, int64_t ttl_s, size_t max_messages,
                                       wf_session_evict_fn on_evict, void *ctx);
void wf_session_table_free(wf_session_table *t);

/* What applying one message event produced. */
typedef struct wf_session_result {
    int new_conversation;    /* first message of this conversation seen */
    int note;                /* -1, or a wf_session_note (duplicate, gap) */
    wf_candidate *candidate; /* owned by the caller when non-NULL */
    /* A candidate was due but its history is longer than the state keeps:
     * candidate is NULL and the turn counts as history_too_long. */
    int history_overflow;
    int overflow_turn;
} wf_session_result;

/* Applies a message event at time now. A user message that follows an
 * assistant message yields a candidate (history, query, response, feedback).
 * Returns WF_ENOMEM on allocation failure, else 0. */
int wf_session_apply(wf_session_table *t, const wf_event *ev, int64_t now, wf_session_result *out);

/* Builds the candidate that explicit feedback on the assistant message with
 * turn number response_turn rates (feedback text empty). Returns NULL with
 * *note = WF_SESS_FEEDBACK_UNKNOWN_TURN when that message is not in state. */
wf_candidate *wf_session_explicit_candidate(wf_session_table *t, const wf_event *ev, int64_t now,
                                            int *note);

/* Evicts conversations idle for longer than the TTL at time now. */
void wf_session_expire(wf_session_table *t, int64_t now);
/* Evicts everything (end of input), reporting each as TTL expiry. */
void wf_session_clear(wf_session_table *t);

size_t wf_session_count(const wf_session_table *t);
/* 1 when the conversation is in the table. */
int wf_session_has(const wf_session_table *t, const char *conversation_id);

/* ---- persistence: the daemon writes changed conversations at each commit ---- */

/* Starts recording which conversations change (applied messages, evictions). */
void wf_session_track_changes(wf_session_table *t);

/* Called per changed conversation: state is its serialized form (JSON) and
 * last_seen its idle clock, or state is NULL when it left the table. */
typedef int (*wf_session_change_fn)(void *ctx, const char *conversation_id, const wf_strbuf *state,
                                    int64_t last_seen);
/* Hands out every change since the last call and forgets them. Stops at the
 * first non-zero return of fn (the remaining changes are kept). */
int wf_session_take_changes(wf_session_table *t, wf_session_change_fn fn, void *ctx);

/* Restores one conversation from a state made by the change callback. */
int wf_session_restore(wf_session_table *t, const char *state, size_t len, int64_t last_seen,
                       wf_error *err);

/* 1 for roles that mean the user or the assistant in the logs we read. */
int wf_role_is_user(const char *role);
int wf_role_is_assistant(const char *role);

#endif
