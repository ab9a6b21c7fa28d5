/* Conversation state for message events: a hash table of conversations with
 * an LRU list for capacity and TTL eviction. */
#include "session/session_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int wf_role_is_user(const char *role)
{
    return strcasecmp(role, "user") == 0 || strcasecmp(role, "human") == 0;
}

int wf_role_is_assistant(const char *role)
{
    return strcasecmp(role, "assistant") == 0 || strcasecmp(role, "gpt") == 0 ||
           strcasecmp(role, "bot") == 0 || strcasecmp(role, "model") == 0 ||
           strcasecmp(role, "chatbot") == 0;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

wf_session_table *wf_session_table_new(size_t max_conversations, int64_t ttl_s, size_t max_messages,
                                       wf_session_evict_fn on_evict, void *ctx)
{
    wf_session_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->n_buckets = 1024;
    while (t->n_buckets < max_conversations && t->n_buckets < (1u << 24))
        t->n_buckets *= 2;
    t->buckets = calloc(t->n_buckets, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->max_conversations = max_conversations;
    t->ttl_s = ttl_s;
    t->max_messages = max_messages;
    t->on_evict = on_evict;
    t->ctx = ctx;
    return t;
}

static void kept_free(wf_kept_msg *m)
{
    free(m->role);
    free(m->content);
}

static void conv_free(conv *c)
{
    for (size_t i = 0; i < c->n_msgs; i++)
        kept_free(&c->msgs[i]);
    free(c->msgs);
    free(c->id);
    free(c->user_id);
    free(c->language);
    free(c->model);
    free(c);
}

static void lru_unlink(wf_session_table *t, conv *c)
{
    if (c->lru_prev)
        c->lru_prev->lru_next = c->lru_next;
    else
        t->lru_head = c->lru_next;
    if (c->lru_next)
        c->lru_next->lru_prev = c->lru_prev;
    else
        t->lru_tail = c->lru_prev;
    c->lru_prev = c->lru_next = NULL;
}

static void lru_push_head(wf_session_table *t, conv *c)
{
    c->lru_next = t->lru_head;
    c->lru_prev = NULL;
    if (t->lru_head)
        t->lru_head->lru_prev = c;
    t->lru_head = c;
    if (!t->lru_tail)
        t->lru_tail = c;
}

static conv **find_slot(const wf_session_table *t, const char *id)
{
    conv **slot = &t->buckets[hash_str(id) & (t->n_buckets - 1)];
    while (*slot && strcmp((*slot)->id, id) != 0)
        slot = &(*slot)->hnext;
    return slot;
}

conv *wf_session_find(const wf_session_table *t, const char *id)
{
    return *find_slot(t, id);
}

void wf_session_remove(wf_session_table *t, conv *c)
{
    conv **slot = find_slot(t, c->id);
    *slot = c->hnext;
    lru_unlink(t, c);
    t->count--;
    conv_free(c);
}

static void evict(wf_session_table *t, conv *c, wf_session_note why)
{
    if (!c->changed)
        wf_session_note_change(t, NULL, c->id);
    if (t->on_evict)
        t->on_evict(t->ctx, c->id, why);
    wf_session_remove(t, c);
}

int wf_session_has(const wf_session_table *t, const char *conversation_id)
{
    return *find_slot(t, conversation_id) != NULL;
}

void wf_session_table_free(wf_session_table *t)
{
    if (!t)
        return;
    while (t->lru_head) {
        conv *c = t->lru_head;
        t->lru_head = c->lru_next;
        conv_free(c);
    }
    for (size_t i = 0; i < t->n_changes; i++)
        free(t->changes[i]);
    free(t->changes);
    free(t->buckets);
    free(t);
}

void wf_session_expire(wf_session_table *t, int64_t now)
{
    while (t->lru_tail && t->lru_tail->last_seen + t->ttl_s < now)
        evict(t, t->lru_tail, WF_SESS_EVICTED_TTL);
}

void wf_session_clear(wf_session_table *t)
{
    while (t->lru_tail)
        evict(t, t->lru_tail, WF_SESS_EVICTED_TTL);
}

size_t wf_session_count(const wf_session_table *t)
{
    return t->count;
}

static int replace_str(char **dst, const char *src)
{
    if (*dst && strcmp(*dst, src) == 0)
        return 0;
    char *copy = strdup(src);
    if (!copy)
        return WF_ENOMEM;
    free(*dst);
    *dst = copy;
    return 0;
}

conv *wf_session_insert(wf_session_table *t, const char *id)
{
    conv *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->msgs = calloc(t->max_messages, sizeof *c->msgs);
    c->id = strdup(id);
    if (!c->msgs || !c->id) {
        conv_free(c);
        return NULL;
    }
    c->last_turn = -1;
    if (t->count >= t->max_conversations && t->lru_tail)
        evict(t, t->lru_tail, WF_SESS_EVICTED_CAPACITY);
    conv **slot = find_slot(t, id);
    *slot = c;
    lru_push_head(t, c);
    t->count++;
    return c;
}

/* Pushes a message into the ring, dropping the oldest when full. */
static int push_msg(wf_session_table *t, conv *c, const wf_event *ev, int exchange)
{
    wf_kept_msg m = {.turn = ev->turn, .exchange = exchange};
    m.role = strdup(ev->message.role);
    m.content = strdup(ev->message.content);
    if (!m.role || !m.content) {
        kept_free(&m);
        return WF_ENOMEM;
    }
    m.is_user = wf_role_is_user(m.role);
    m.is_assistant = wf_role_is_assistant(m.role);
    if (c->n_msgs == t->max_messages) {
        if (c->msgs[0].is_user || c->msgs[0].is_assistant)
            c->dropped++;
        kept_free(&c->msgs[0]);
        memmove(c->msgs, c->msgs + 1, (c->n_msgs - 1) * sizeof *c->msgs);
        c->n_msgs--;
    }
    c->msgs[c->n_msgs++] = m;
    return 0;
}

/* Index of the last user or assistant message before index end, or -1. */
static long last_dialogue_msg(const conv *c, size_t end)
{
    for (size_t i = end; i-- > 0;)
        if (c->msgs[i].is_user || c->msgs[i].is_assistant)
            return (long)i;
    return -1;
}

/* Candidate for the exchange closed by the assistant message at index ai,
 * with the given feedback text. NULL with *overflow when history was cut. */
static wf_candidate *build_candidate(const conv *c, long ai, const char *feedback,
                                     int64_t created_at, int *overflow)
{
    /* Messages pushed out of the ring (the query itself, when many tool or
     * system messages followed it) leave the history incomplete. */
    long qi = last_dialogue_msg(c, (size_t)ai);
    *overflow = c->dropped > 0 || qi < 0 || !c->msgs[qi].is_user;
    if (*overflow)
        return NULL;
    wf_msg hist[c->n_msgs ? c->n_msgs : 1];
    size_t nh = 0;
    for (long i = 0; i < qi; i++) {
        if (!c->msgs[i].is_user && !c->msgs[i].is_assistant)
            continue;
        hist[nh].role = c->msgs[i].role;
        hist[nh].content = c->msgs[i].content;
        hist[nh].content_len = strlen(c->msgs[i].content);
        nh++;
    }
    wf_candidate_parts parts = {
        .conversation_id = c->id,
        .turn = c->msgs[ai].exchange,
        .response_turn = c->msgs[ai].turn,
        .user_id = c->user_id ? c->user_id : "",
        .language = c->language ? c->language : "",
        .model = c->model ? c->model : "",
        .created_at = created_at,
        .history = hist,
        .n_history = nh,
        .query = c->msgs[qi].content,
        .response = c->msgs[ai].content,
        .feedback = feedback,
    };
    return wf_candidate_new(&parts);
}

static int update_meta(conv *c, const wf_event *ev)
{
    int rc = 0;
    if (ev->user_id[0])
        rc |= replace_str(&c->user_id, ev->user_id);
    if (ev->language[0])
        rc |= replace_str(&c->language, ev->language);
    if (ev->model[0])
        rc |= replace_str(&c->model, ev->model);
    return rc ? WF_ENOMEM : 0;
}

/* Turn numbers 0 and 1 both count as a conversation's start, since logs
 * number messages from 0 or from 1. A conversation first seen later (the
 * daemon started mid-stream, or the state expired) is unanchored: its
 * exchange numbers are unknown, so it yields no candidates. */
static int starts_conversation(const wf_event *ev)
{
    return ev->turn <= 1 && !wf_role_is_assistant(ev->message.role);
}

static conv *lookup_or_create(wf_session_table *t, const wf_event *ev, wf_session_result *out)
{
    conv *c = *find_slot(t, ev->conversation_id);
    if (c) {
        lru_unlink(t, c);
        lru_push_head(t, c);
        return c;
    }
    c = wf_session_insert(t, ev->conversation_id);
    if (c) {
        out->new_conversation = 1;
        c->anchored = starts_conversation(ev);
        if (!c->anchored)
            out->note = WF_SESS_GAP;
    }
    return c;
}

int wf_session_apply(wf_session_table *t, const wf_event *ev, int64_t now, wf_session_result *out)
{
    memset(out, 0, sizeof *out);
    out->note = -1;
    conv *c = lookup_or_create(t, ev, out);
    if (!c)
        return WF_ENOMEM;
    if (c->last_turn >= 0 && ev->turn <= c->last_turn) {
        out->note = WF_SESS_DUPLICATE;
        return 0;
    }
    if (c->last_turn >= 0 && ev->turn > c->last_turn + 1) {
        /* Messages are missing: the exchange count can no longer be trusted. */
        out->note = WF_SESS_GAP;
        c->anchored = 0;
    }
    c->last_turn = ev->turn;
    c->last_seen = now;
    wf_session_note_change(t, c, c->id);
    if (update_meta(c, ev) < 0)
        return WF_ENOMEM;

    long prev = last_dialogue_msg(c, c->n_msgs);
    int is_user = wf_role_is_user(ev->message.role);
    int is_assistant = wf_role_is_assistant(ev->message.role);
    int closes_exchange = is_assistant && prev >= 0 && c->msgs[prev].is_user;
    if (is_user && prev >= 0 && c->msgs[prev].is_assistant && c->msgs[prev].exchange >= 0 &&
        c->anchored) {
        int64_t at = ev->timestamp ? ev->timestamp : now;
        out->candidate = build_candidate(c, prev, ev->message.content, at, &out->history_overflow);
        out->overflow_turn = c->msgs[prev].exchange;
        if (!out->candidate && !out->history_overflow && c->msgs[prev].exchange >= 0)
            return WF_ENOMEM;
    }
    return push_msg(t, c, ev, closes_exchange ? c->exchanges++ : -1);
}

wf_candidate *wf_session_explicit_candidate(wf_session_table *t, const wf_event *ev, int64_t now,
                                            int *note)
{
    *note = WF_SESS_FEEDBACK_UNKNOWN_TURN;
    conv *c = *find_slot(t, ev->conversation_id);
    if (!c || !c->anchored)
        return NULL;
    for (size_t i = c->n_msgs; i-- > 0;) {
        if (c->msgs[i].turn != ev->target_turn)
            continue;
        if (!c->msgs[i].is_assistant || c->msgs[i].exchange < 0)
            return NULL;
        int overflow = 0;
        wf_candidate *cand =
            build_candidate(c, (long)i, "", ev->timestamp ? ev->timestamp : now, &overflow);
        if (cand)
            *note = -1;
        return cand;
    }
    return NULL;
}
