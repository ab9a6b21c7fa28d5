/* Per-user daily sample quota: at most `limit` samples per user per UTC day
 * (0 = unlimited). Counts live in memory, keyed by (user, day); days older
 * than the newest day seen minus one are pruned, so memory follows the
 * number of active users. Owned by the pipeline. */
#ifndef WF_FEEDBACK_QUOTA_H
#define WF_FEEDBACK_QUOTA_H

#include <stdint.h>

typedef struct wf_quota wf_quota;

wf_quota *wf_quota_new(int64_t limit);
void wf_quota_free(wf_quota *q);

/* 1 when user may add one more sample on the day of unix time `at`, and
 * counts it; 0 when the quota is spent. Users with no id are not limited. */
int wf_quota_take(wf_quota *q, const char *user_id, int64_t at);

#endif
