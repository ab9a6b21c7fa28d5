/* Stable snake_case names of the pipeline's enums: metric labels and report
 * keys that operators script against. */
#include "wildfeed/pipeline.h"

const char *wf_drop_reason_name(wf_drop_reason r)
{
    static const char *const names[WF_DROP_COUNT] = {
        "language",         "image_generation",    "web_search",      "url",
        "identity",         "uploaded_file",       "audio_video",     "pii",
        "history_too_long", "response_too_short",  "query_too_short", "text_too_long",
        "neutral",          "refusal_unvalidated", "judge_failed",    "quota",
    };
    return (unsigned)r < WF_DROP_COUNT ? names[r] : "unknown";
}

const char *wf_session_note_name(wf_session_note n)
{
    static const char *const names[WF_SESS_COUNT] = {
        "duplicate", "gap", "evicted_ttl", "evicted_capacity", "feedback_unknown_turn",
    };
    return (unsigned)n < WF_SESS_COUNT ? names[n] : "unknown";
}

const char *wf_hindsight_outcome_name(wf_hindsight_outcome o)
{
    static const char *const names[WF_HS_COUNT] = {
        "promoted",
        "blocked_topic",
        "later_negative",
        "expired",
    };
    return (unsigned)o < WF_HS_COUNT ? names[o] : "unknown";
}
