/* Serialized conversation state, so a restarted daemon continues every
 * conversation where the committed store left it. The form is JSON:
 * {"id","user_id","language","model","last_turn","exchanges","anchored",
 *  "dropped","msgs":[[role, content, turn, exchange], ...]}. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "session/session_internal.h"

static void save_conv(const conv *c, wf_strbuf *out)
{
    wf_strbuf_reset(out);
    wf_strbuf_puts(out, "{\"id\":");
    wf_strbuf_json_string(out, c->id, strlen(c->id));
    const char *meta[3][2] = {
        {"user_id", c->user_id}, {"language", c->language}, {"model", c->model}};
    for (int i = 0; i < 3; i++) {
        const char *v = meta[i][1] ? meta[i][1] : "";
        wf_strbuf_printf(out, ",\"%s\":", meta[i][0]);
        wf_strbuf_json_string(out, v, strlen(v));
    }
    wf_strbuf_printf(out, ",\"last_turn\":%lld,\"exchanges\":%d,\"anchored\":%d,\"dropped\":%zu",
                     (long long)c->last_turn, c->exchanges, c->anchored, c->dropped);
    wf_strbuf_puts(out, ",\"msgs\":[");
    for (size_t i = 0; i < c->n_msgs; i++) {
        const wf_kept_msg *m = &c->msgs[i];
        wf_strbuf_puts(out, i ? ",[" : "[");
        wf_strbuf_json_string(out, m->role, strlen(m->role));
        wf_strbuf_putc(out, ',');
        wf_strbuf_json_string(out, m->content, strlen(m->content));
        wf_strbuf_printf(out, ",%lld,%d]", (long long)m->turn, m->exchange);
    }
    wf_strbuf_puts(out, "]}");
}

void wf_session_track_changes(wf_session_table *t)
{
    t->track = 1;
}

void wf_session_note_change(wf_session_table *t, conv *c, const char *id)
{
    if (!t->track || (c && c->changed))
        return;
    char **grown = realloc(t->changes, (t->n_changes + 1) * sizeof *grown);
    char *copy = strdup(id);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            t->changes = grown;
        t->change_lost = 1;
        return;
    }
    t->changes = grown;
    t->changes[t->n_changes++] = copy;
    if (c)
        c->changed = 1;
}

int wf_session_take_changes(wf_session_table *t, wf_session_change_fn fn, void *ctx)
{
    wf_strbuf state;
    wf_strbuf_init(&state);
    size_t i = 0;
    int rc = 0;
    for (; i < t->n_changes && rc == 0; i++) {
        conv *c = wf_session_find(t, t->changes[i]);
        if (c) {
            save_conv(c, &state);
            rc = state.oom ? WF_ENOMEM : fn(ctx, c->id, &state, c->last_seen);
            if (rc == 0)
                c->changed = 0;
        } else {
            rc = fn(ctx, t->changes[i], NULL, 0);
        }
        if (rc == 0) {
            free(t->changes[i]);
            t->changes[i] = NULL;
        }
    }
    if (rc != 0)
        i--; /* the failed change stays */
    if (i < t->n_changes)
        memmove(t->changes, t->changes + i, (t->n_changes - i) * sizeof *t->changes);
    t->n_changes -= i;
    wf_strbuf_free(&state);
    return rc;
}

/* A state saved under a larger session.max_messages keeps its newest
 * messages; the older ones count as pushed out of the ring. */
static int restore_msgs(wf_session_table *t, conv *c, json_t *msgs)
{
    size_t n = json_array_size(msgs);
    size_t skip = n > t->max_messages ? n - t->max_messages : 0;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, i);
        const char *role = json_string_value(json_array_get(m, 0));
        const char *content = json_string_value(json_array_get(m, 1));
        if (!role || !content || !json_is_integer(json_array_get(m, 2)))
            return WF_ECORRUPT;
        if (i < skip) {
            c->dropped += wf_role_is_user(role) || wf_role_is_assistant(role);
            continue;
        }
        wf_kept_msg *k = &c->msgs[c->n_msgs];
        k->role = strdup(role);
        k->content = strdup(content);
        c->n_msgs++;
        if (!k->role || !k->content)
            return WF_ENOMEM;
        k->turn = json_integer_value(json_array_get(m, 2));
        k->exchange = (int)json_integer_value(json_array_get(m, 3));
        k->is_user = wf_role_is_user(role);
        k->is_assistant = wf_role_is_assistant(role);
    }
    return 0;
}

static int restore_meta(conv *c, json_t *doc)
{
    const char *keys[3] = {"user_id", "language", "model"};
    char **dst[3] = {&c->user_id, &c->language, &c->model};
    for (int i = 0; i < 3; i++) {
        const char *v = json_string_value(json_object_get(doc, keys[i]));
        if (v && v[0] && !(*dst[i] = strdup(v)))
            return WF_ENOMEM;
    }
    c->last_turn = json_integer_value(json_object_get(doc, "last_turn"));
    c->exchanges = (int)json_integer_value(json_object_get(doc, "exchanges"));
    c->anchored = json_is_true(json_object_get(doc, "anchored")) ||
                  json_integer_value(json_object_get(doc, "anchored")) == 1;
    c->dropped = (size_t)json_integer_value(json_object_get(doc, "dropped"));
    return 0;
}

int wf_session_restore(wf_session_table *t, const char *state, size_t len, int64_t last_seen,
                       wf_error *err)
{
    json_error_t je;
    json_t *doc = json_loadb(state, len, 0, &je);
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!id) {
        json_decref(doc);
        return wf_error_set(err, WF_ECORRUPT, "stored conversation state is unreadable");
    }
    conv *c = wf_session_find(t, id) ? NULL : wf_session_insert(t, id);
    int rc = c ? restore_meta(c, doc) : WF_ESTATE;
    if (rc == 0)
        rc = restore_msgs(t, c, json_object_get(doc, "msgs"));
    if (rc == WF_ESTATE)
        wf_error_set(err, rc, "conversation '%.100s' restored twice", id);
    else if (rc < 0)
        wf_error_set(err, rc, "stored state of conversation '%.100s' is %s", id,
                     rc == WF_ENOMEM ? "too large for memory" : "corrupt");
    json_decref(doc);
    /* A half-restored conversation would lose its history silently. */
    if (rc < 0 && c)
        wf_session_remove(t, c);
    else if (c)
        c->last_seen = last_seen;
    return rc;
}
