/* The session table's private structures, shared by session.c (the table)
 * and persist.c (saving and restoring conversations). */
#ifndef WF_SESSION_SESSION_INTERNAL_H
#define WF_SESSION_SESSION_INTERNAL_H

#include "session/session.h"

typedef struct conv {
    char *id;
    char *user_id, *language, *model;
    int64_t last_turn;
    int64_t last_seen;
    int exchanges;     /* user->assistant exchanges completed */
    int anchored;      /* first message seen was the conversation's start */
    int changed;       /* listed in the table's changes */
    size_t dropped;    /* user/assistant messages pushed out of the ring */
    wf_kept_msg *msgs; /* ring of at most max_messages, oldest first */
    size_t n_msgs;
    struct conv *hnext;               /* hash chain */
    struct conv *lru_prev, *lru_next; /* most recent at head */
} conv;

struct wf_session_table {
    conv **buckets;
    size_t n_buckets;
    size_t count;
    size_t max_conversations;
    int64_t ttl_s;
    size_t max_messages;
    conv *lru_head, *lru_tail;
    wf_session_evict_fn on_evict;
    void *ctx;
    int track;      /* record changes for persistence */
    char **changes; /* ids of conversations changed since the last take */
    size_t n_changes;
    int change_lost; /* a change could not be recorded (out of memory) */
};

conv *wf_session_find(const wf_session_table *t, const char *id);
/* A new, empty conversation at the head of the LRU (evicting when full). */
conv *wf_session_insert(wf_session_table *t, const char *id);
/* Unlinks and frees c, telling nobody (a restore that failed). */
void wf_session_remove(wf_session_table *t, conv *c);
/* Lists conversation id as changed (c may be NULL for one leaving). */
void wf_session_note_change(wf_session_table *t, conv *c, const char *id);

#endif
