/* Message events and explicit feedback events. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

#include "ingest/ingest.h"

int wf_rec_common(wf_record *r)
{
    wf_event *ev = r->ev;
    if (wf_rec_string(r, WF_F_USER_ID, 1, &ev->user_id) < 0 ||
        wf_rec_string(r, WF_F_LANGUAGE, 0, &ev->language) < 0 ||
        wf_rec_string(r, WF_F_MODEL, 0, &ev->model) < 0)
        return WF_EPARSE;
    ev->timestamp = wf_timestamp_value(wf_rec_field(r, WF_F_TIMESTAMP));
    return 0;
}

int wf_parse_message(wf_record *r)
{
    wf_event *ev = r->ev;
    const char *role;
    if (wf_rec_string_req(r, WF_F_CONVERSATION_ID, 1, &ev->conversation_id) < 0 ||
        wf_rec_turn(r, WF_F_TURN, &ev->turn) < 0 || wf_rec_string_req(r, WF_F_ROLE, 0, &role) < 0)
        return WF_EPARSE;
    ev->message.role = wf_role_normalize(role);
    const wf_jval *content = wf_rec_field(r, WF_F_CONTENT);
    if (!content)
        return wf_rec_fail(r, WF_BAD_MISSING_FIELD, "missing field 'content'");
    wf_where w = {"content", -1, NULL};
    if (wf_content(r, content, &w, &ev->message) < 0)
        return WF_EPARSE;
    return wf_rec_common(r);
}

/* A whole number of stars in 1..5, from a number or a numeric string. */
static int stars(double v)
{
    return v >= 1 && v <= 5 && v == floor(v) ? (int)v : 0;
}

static int rating_from_string(const char *s)
{
    if (strcasecmp(s, "up") == 0)
        return 5;
    if (strcasecmp(s, "down") == 0)
        return 1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (end == s || *end != '\0' || errno != 0 || isspace((unsigned char)*s))
        return 0;
    return stars(v);
}

static int parse_rating(wf_record *r, int *out)
{
    const wf_jval *v = wf_rec_field(r, WF_F_RATING);
    if (!v)
        return wf_rec_fail(r, WF_BAD_MISSING_FIELD, "missing field 'rating'");
    if (wf_json_is(v, WF_JSON_STRING))
        *out = rating_from_string(v->u.s);
    else if (wf_json_is_number(v))
        *out = stars(wf_json_number(v));
    else
        return wf_rec_fail(r, WF_BAD_TYPE, "field 'rating': expected string or number, got %s",
                           wf_json_type_name(v));
    if (*out == 0)
        return wf_rec_fail(r, WF_BAD_VALUE, "field 'rating': expected \"up\", \"down\" or 1..5");
    return 0;
}

int wf_parse_feedback(wf_record *r)
{
    wf_event *ev = r->ev;
    if (wf_rec_string_req(r, WF_F_CONVERSATION_ID, 1, &ev->conversation_id) < 0 ||
        wf_rec_turn(r, WF_F_TURN, &ev->target_turn) < 0 || parse_rating(r, &ev->rating) < 0)
        return WF_EPARSE;
    return wf_rec_common(r);
}
