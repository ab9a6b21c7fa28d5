/* JSON bodies of /get_reward and /v1/score to model inputs, and back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serve/request.h"

void wf_serve_batch_free(wf_serve_batch *b)
{
    if (b->root)
        json_decref(b->root);
    free(b->in);
    free(b->msgs);
    memset(b, 0, sizeof *b);
}

/* Parses body and returns the array under key, checking its length. */
static int load_array(const char *body, size_t len, const char *key, size_t max_items,
                      wf_serve_batch *b, json_t **arr, wf_error *err)
{
    memset(b, 0, sizeof *b);
    json_error_t je;
    /* Without JSON_ALLOW_NUL jansson rejects \u0000, so every string is a
     * proper C string for the model. */
    b->root = json_loadb(body, len, 0, &je);
    if (!b->root)
        return wf_error_set(err, WF_EPARSE, "malformed JSON at line %d column %d: %s", je.line,
                            je.column, je.text);
    int rc = 0;
    *arr = json_is_object(b->root) ? json_object_get(b->root, key) : NULL;
    if (!json_is_object(b->root))
        rc = wf_error_set(err, WF_EPARSE, "the body must be a JSON object");
    else if (!json_is_array(*arr))
        rc = wf_error_set(err, WF_EPARSE, "\"%s\" must be an array", key);
    else if (json_array_size(*arr) > max_items)
        rc = wf_error_set(err, WF_EINVAL, "%zu items, more than the limit of %zu",
                          json_array_size(*arr), max_items);
    else if (json_array_size(*arr) > 0 && !(b->in = calloc(json_array_size(*arr), sizeof *b->in)))
        rc = wf_error_set(err, WF_ENOMEM, "out of memory");
    if (rc < 0)
        wf_serve_batch_free(b);
    return rc;
}

int wf_serve_parse_rewards(const char *body, size_t len, size_t max_items, wf_serve_batch *b,
                           wf_error *err)
{
    json_t *arr;
    int rc = load_array(body, len, "query", max_items, b, &arr, err);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v)) {
            wf_serve_batch_free(b);
            return wf_error_set(err, WF_EPARSE, "query[%zu] must be a string", i);
        }
        b->in[i].text = json_string_value(v);
    }
    b->n = json_array_size(arr);
    return 0;
}

static const char *string_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The history of one item, or NULL when absent or null; *bad when it is
 * something else. */
static json_t *history_of(json_t *item, int *bad)
{
    json_t *h = json_object_get(item, "history");
    *bad = h && !json_is_null(h) && !json_is_array(h);
    return json_is_array(h) ? h : NULL;
}

/* Checks each item's shape and counts the history messages. */
static int check_items(json_t *arr, size_t *n_msgs, wf_error *err)
{
    size_t i;
    json_t *item;
    *n_msgs = 0;
    json_array_foreach(arr, i, item)
    {
        int bad;
        if (!json_is_object(item))
            return wf_error_set(err, WF_EPARSE, "items[%zu] must be an object", i);
        if (!string_field(item, "query") || !string_field(item, "response"))
            return wf_error_set(err, WF_EPARSE,
                                "items[%zu] needs string \"query\" and \"response\"", i);
        json_t *h = history_of(item, &bad);
        if (bad)
            return wf_error_set(err, WF_EPARSE, "items[%zu].history must be an array", i);
        *n_msgs += json_array_size(h);
    }
    return 0;
}

/* Fills msgs from one item's history; role may be absent (""). */
static int fill_history(json_t *h, size_t item, wf_msg *msgs, wf_error *err)
{
    size_t j;
    json_t *m;
    json_array_foreach(h, j, m)
    {
        json_t *role = json_object_get(m, "role");
        json_t *content = json_object_get(m, "content");
        if (!json_is_object(m) || !json_is_string(content) || (role && !json_is_string(role)))
            return wf_error_set(err, WF_EPARSE,
                                "items[%zu].history[%zu] needs a string \"content\" (and an "
                                "optional string \"role\")",
                                item, j);
        msgs[j].role = role ? json_string_value(role) : "";
        msgs[j].content = json_string_value(content);
        msgs[j].content_len = json_string_length(content);
    }
    return 0;
}

static int fill_items(json_t *arr, wf_serve_batch *b, wf_error *err)
{
    size_t i, used = 0;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        int bad;
        json_t *h = history_of(item, &bad);
        wf_model_input *in = &b->in[i];
        in->query = string_field(item, "query");
        in->response = string_field(item, "response");
        in->n_history = json_array_size(h);
        if (in->n_history == 0)
            continue;
        in->history = b->msgs + used;
        int rc = fill_history(h, i, b->msgs + used, err);
        if (rc < 0)
            return rc;
        used += in->n_history;
    }
    return 0;
}

int wf_serve_parse_score(const char *body, size_t len, size_t max_items, wf_serve_batch *b,
                         wf_error *err)
{
    json_t *arr;
    int rc = load_array(body, len, "items", max_items, b, &arr, err);
    if (rc < 0)
        return rc;
    size_t n_msgs;
    rc = check_items(arr, &n_msgs, err);
    if (rc == 0 && n_msgs > 0 && !(b->msgs = calloc(n_msgs, sizeof *b->msgs)))
        rc = wf_error_set(err, WF_ENOMEM, "out of memory");
    if (rc == 0)
        rc = fill_items(arr, b, err);
    if (rc < 0) {
        wf_serve_batch_free(b);
        return rc;
    }
    b->n = json_array_size(arr);
    return 0;
}

static int all_finite(const float *logits, size_t n)
{
    for (size_t i = 0; i < n * WF_LOGITS; i++)
        if (!isfinite(logits[i]))
            return 0;
    return 1;
}

int wf_serve_render_rewards(wf_strbuf *out, const float *logits, size_t n)
{
    if (!all_finite(logits, n))
        return WF_EINVAL;
    wf_strbuf_puts(out, "{\"rewards\":[");
    for (size_t i = 0; i < n; i++)
        wf_strbuf_printf(out, "%s%.6f", i ? "," : "", wf_reward(logits + i * WF_LOGITS));
    wf_strbuf_puts(out, "]}");
    return 0;
}

static void render_result(wf_strbuf *out, const float *z)
{
    double p[WF_LABELS];
    wf_class_probs(z, p);
    wf_strbuf_printf(out, "{\"reward\":%.6f,\"level\":%d,\"probs\":[%.6f,%.6f,%.6f,%.6f]}",
                     wf_reward(z), wf_predicted_label(z), p[0], p[1], p[2], p[3]);
}

int wf_serve_render_score(wf_strbuf *out, const char *version, const float *logits, size_t n)
{
    if (!all_finite(logits, n))
        return WF_EINVAL;
    wf_strbuf_puts(out, "{\"model_version\":");
    wf_strbuf_json_string(out, version, strlen(version));
    wf_strbuf_puts(out, ",\"results\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            wf_strbuf_putc(out, ',');
        render_result(out, logits + i * WF_LOGITS);
    }
    wf_strbuf_puts(out, "]}");
    return 0;
}

void wf_serve_render_error(wf_strbuf *out, const char *msg)
{
    wf_strbuf_puts(out, "{\"error\":");
    wf_strbuf_json_string(out, msg, strlen(msg));
    wf_strbuf_puts(out, "}");
}
