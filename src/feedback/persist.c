/* Pipeline state for persistence: the list of changed turns, their
 * serialized form, and restoring them after a restart. A turn is stored as
 * JSON: {"cw","conversation_id","t","state","level","source","is_refusal",
 * "refusal_kind","superseded","reason","evidence","cand"}, where "cand" holds
 * the candidate while the turn still needs it. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feedback/pipeline_internal.h"

static int push_change(wf_pipeline *p, turn *u, const char *cw_key, int t, int delete_stored)
{
    if (p->n_changes == p->cap_changes) {
        size_t cap = p->cap_changes ? p->cap_changes * 2 : 256;
        turn_change *grown = realloc(p->changes, cap * sizeof *grown);
        if (!grown)
            return -1;
        p->changes = grown;
        p->cap_changes = cap;
    }
    char *key = strdup(cw_key);
    if (!key)
        return -1;
    p->changes[p->n_changes] = (turn_change){u, key, t, delete_stored};
    return (int)p->n_changes++;
}

void wf_turn_changed(wf_pipeline *p, turn *u)
{
    if (p->track && u->change < 0)
        u->change = push_change(p, u, u->cw->key, u->t, 0);
}

void wf_turn_free(wf_pipeline *p, turn *u)
{
    if (p->track && u->change >= 0) {
        p->changes[u->change].u = NULL;
        p->changes[u->change].delete_stored = u->persisted;
    } else if (p->track && u->persisted) {
        push_change(p, NULL, u->cw->key, u->t, 1);
    }
    wf_candidate_free(u->cand);
    free(u->evidence);
    free(u);
}

void wf_pipeline_track_changes(wf_pipeline *p)
{
    p->track = 1;
    wf_session_track_changes(p->sessions);
}

static void put_str(wf_strbuf *b, const char *key, const char *v)
{
    wf_strbuf_printf(b, ",\"%s\":", key);
    wf_strbuf_json_string(b, v, strlen(v));
}

static void save_candidate(const wf_candidate *c, wf_strbuf *b)
{
    wf_strbuf_printf(b, ",\"cand\":{\"turn\":%d,\"response_turn\":%lld,\"created_at\":%lld",
                     c->turn, (long long)c->response_turn, (long long)c->created_at);
    put_str(b, "user_id", c->user_id);
    put_str(b, "language", c->language);
    put_str(b, "model", c->model);
    put_str(b, "query", c->query);
    put_str(b, "response", c->response);
    put_str(b, "feedback", c->feedback);
    wf_strbuf_puts(b, ",\"history\":[");
    for (size_t i = 0; i < c->n_history; i++) {
        wf_strbuf_puts(b, i ? ",[" : "[");
        wf_strbuf_json_string(b, c->history[i].role, strlen(c->history[i].role));
        wf_strbuf_putc(b, ',');
        wf_strbuf_json_string(b, c->history[i].content, c->history[i].content_len);
        wf_strbuf_putc(b, ']');
    }
    wf_strbuf_puts(b, "]}");
}

static void save_turn(const turn *u, wf_strbuf *b)
{
    wf_strbuf_reset(b);
    wf_strbuf_puts(b, "{\"cw\":");
    wf_strbuf_json_string(b, u->cw->key, strlen(u->cw->key));
    put_str(b, "conversation_id", u->cw->conversation_id);
    wf_strbuf_printf(b,
                     ",\"t\":%d,\"state\":%d,\"level\":%d,\"source\":%d,\"is_refusal\":%d,"
                     "\"refusal_kind\":%d,\"superseded\":%d",
                     u->t, u->state, u->level, u->judge_source, u->is_refusal, u->refusal_kind,
                     u->superseded);
    put_str(b, "reason", u->reason);
    if (u->evidence)
        put_str(b, "evidence", u->evidence);
    if (u->cand)
        save_candidate(u->cand, b);
    wf_strbuf_putc(b, '}');
}

/* The stored key of a turn: its convwork key, '/', its exchange number. */
static void turn_key(char *out, size_t n, const char *cw_key, int t)
{
    snprintf(out, n, "%s/%d", cw_key, t);
}

static int take_turn(const turn_change *c, wf_strbuf *state, int (*fn)(void *, const wf_change *),
                     void *ctx)
{
    turn *u = c->u;
    if (!u && !c->delete_stored)
        return 0; /* came and went between two takes: never stored */
    char key[512];
    turn_key(key, sizeof key, c->cw_key, c->t);
    if (!u) {
        wf_change ch = {WF_CHANGE_TURN, key, "", NULL, 0};
        return fn(ctx, &ch);
    }
    save_turn(u, state);
    if (state->oom)
        return WF_ENOMEM;
    wf_change ch = {WF_CHANGE_TURN, key, u->cw->conversation_id, state,
                    u->cand ? u->cand->created_at : 0};
    int rc = fn(ctx, &ch);
    if (rc == 0) {
        u->persisted = 1;
        u->change = -1;
    }
    return rc;
}

typedef struct conv_relay {
    int (*fn)(void *, const wf_change *);
    void *ctx;
} conv_relay;

static int relay_conversation(void *ctx, const char *id, const wf_strbuf *state, int64_t at)
{
    conv_relay *r = ctx;
    wf_change ch = {WF_CHANGE_CONVERSATION, id, id, state, at};
    return r->fn(r->ctx, &ch);
}

int wf_pipeline_take_changes(wf_pipeline *p, int (*fn)(void *ctx, const wf_change *c), void *ctx)
{
    conv_relay relay = {fn, ctx};
    int rc = wf_session_take_changes(p->sessions, relay_conversation, &relay);
    wf_strbuf state;
    wf_strbuf_init(&state);
    size_t i = 0;
    for (; rc == 0 && i < p->n_changes; i++) {
        rc = take_turn(&p->changes[i], &state, fn, ctx);
        if (rc == 0)
            free(p->changes[i].cw_key);
    }
    if (rc != 0 && i > 0)
        i--;
    /* Entries kept for the next call move down; their turns' indexes follow. */
    if (i < p->n_changes)
        memmove(p->changes, p->changes + i, (p->n_changes - i) * sizeof *p->changes);
    p->n_changes -= i;
    for (size_t k = 0; k < p->n_changes; k++)
        if (p->changes[k].u)
            p->changes[k].u->change = (long)k;
    wf_strbuf_free(&state);
    return rc;
}

int wf_pipeline_restore_conversation(wf_pipeline *p, const char *state, size_t len,
                                     int64_t last_seen, wf_error *err)
{
    return wf_session_restore(p->sessions, state, len, last_seen, err);
}

static const char *str_of(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

static wf_candidate *load_candidate(json_t *c, const char *conversation_id)
{
    json_t *hist = json_object_get(c, "history");
    size_t n = json_array_size(hist);
    wf_msg *msgs = calloc(n ? n : 1, sizeof *msgs);
    if (!msgs)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(hist, i);
        msgs[i].role = json_string_value(json_array_get(m, 0));
        msgs[i].content = json_string_value(json_array_get(m, 1));
        msgs[i].content_len = json_string_length(json_array_get(m, 1));
        if (!msgs[i].role || !msgs[i].content) {
            free(msgs);
            return NULL;
        }
    }
    wf_candidate_parts parts = {
        .conversation_id = conversation_id,
        .turn = (int)json_integer_value(json_object_get(c, "turn")),
        .response_turn = json_integer_value(json_object_get(c, "response_turn")),
        .user_id = str_of(c, "user_id"),
        .language = str_of(c, "language"),
        .model = str_of(c, "model"),
        .created_at = json_integer_value(json_object_get(c, "created_at")),
        .history = msgs,
        .n_history = n,
        .query = str_of(c, "query"),
        .response = str_of(c, "response"),
        .feedback = str_of(c, "feedback"),
    };
    wf_candidate *cand = wf_candidate_new(&parts);
    free(msgs);
    return cand;
}

static int int_of(json_t *o, const char *key)
{
    return (int)json_integer_value(json_object_get(o, key));
}

/* Fills a restored turn; 0, or WF_ECORRUPT when a needed part is missing. */
static int load_turn(turn *u, json_t *doc, const char *conversation_id)
{
    u->state = int_of(doc, "state");
    u->level = int_of(doc, "level");
    u->judge_source = int_of(doc, "source");
    u->is_refusal = int_of(doc, "is_refusal");
    u->refusal_kind = int_of(doc, "refusal_kind");
    u->superseded = int_of(doc, "superseded");
    u->persisted = 1;
    snprintf(u->reason, sizeof u->reason, "%s", str_of(doc, "reason"));
    json_t *ev = json_object_get(doc, "evidence");
    if (json_is_string(ev) && !(u->evidence = strdup(json_string_value(ev))))
        return WF_ENOMEM;
    json_t *c = json_object_get(doc, "cand");
    if (c && !(u->cand = load_candidate(c, conversation_id)))
        return WF_ECORRUPT;
    if (u->state < TURN_JUDGING || u->state > TURN_FINISHED || u->refusal_kind < 0 ||
        u->refusal_kind > WF_REFUSAL_FALSE || (u->state != TURN_FINISHED && !u->cand))
        return WF_ECORRUPT;
    return 0;
}

int wf_pipeline_restore_turn(wf_pipeline *p, const char *state, size_t len, wf_error *err)
{
    json_error_t je;
    json_t *doc = json_loadb(state, len, 0, &je);
    const char *key = json_string_value(json_object_get(doc, "cw"));
    const char *conversation_id = json_string_value(json_object_get(doc, "conversation_id"));
    convwork *cw = key && conversation_id ? wf_cw_get(p, key, conversation_id, 1) : NULL;
    int track = p->track;
    p->track = 0; /* its stored copy is current: no change to list */
    turn *u = cw ? wf_turn_new(p, cw, int_of(doc, "t")) : NULL;
    p->track = track;
    int rc = u ? load_turn(u, doc, conversation_id) : WF_ECORRUPT;
    json_decref(doc);
    if (rc < 0) {
        if (u)
            u->state = TURN_FINISHED; /* unusable, and no verdict is out: dropped */
        return wf_error_set(err, rc, "a stored pending turn is %s",
                            rc == WF_ENOMEM ? "too large for memory" : "corrupt");
    }
    if (u->state == TURN_NEUTRAL)
        p->stats.neutral_waiting++;
    if (u->state != TURN_JUDGING)
        return 0;
    /* A verdict applied inside wf_submit (a judge that fails at once) may
     * finish and free the turn: nothing is read from it afterwards. */
    int refusal = u->is_refusal;
    u->need = refusal ? 2 : 1;
    rc = wf_submit(p, u, WF_TASK_FEEDBACK);
    if (rc == 0 && refusal)
        rc = wf_submit(p, u, WF_TASK_REFUSAL);
    if (rc < 0)
        return wf_error_set(err, rc, "out of memory resubmitting a stored turn");
    return 0;
}

void wf_pipeline_restore_done(wf_pipeline *p)
{
    size_t prefix = strlen("snap:");
    for (size_t i = 0; i < WF_CW_BUCKETS; i++) {
        convwork *cw = p->cw_buckets[i];
        while (cw) {
            convwork *next = cw->hnext;
            /* Snapshots are complete, and a message-event conversation that
             * left the table (expired) will see no further turns. */
            if (strncmp(cw->key, "snap:", prefix) == 0 || !wf_session_has(p->sessions, cw->key))
                wf_cw_close(p, cw);
            else
                wf_turns_resolve(p, cw);
            cw = next;
        }
    }
}
