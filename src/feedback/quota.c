#include "feedback/quota.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char *user;
    int64_t day;
    int64_t count;
    struct entry *next;
} entry;

struct wf_quota {
    int64_t limit;
    int64_t newest_day;
    entry *buckets[4096];
};

wf_quota *wf_quota_new(int64_t limit)
{
    wf_quota *q = calloc(1, sizeof *q);
    if (q)
        q->limit = limit;
    return q;
}

static void prune(wf_quota *q, int64_t keep_from)
{
    for (size_t i = 0; i < sizeof q->buckets / sizeof q->buckets[0]; i++) {
        entry **e = &q->buckets[i];
        while (*e) {
            if ((*e)->day >= keep_from) {
                e = &(*e)->next;
                continue;
            }
            entry *dead = *e;
            *e = dead->next;
            free(dead->user);
            free(dead);
        }
    }
}

void wf_quota_free(wf_quota *q)
{
    if (!q)
        return;
    prune(q, INT64_MAX);
    free(q);
}

static size_t bucket_of(const char *user, int64_t day)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)day;
    for (; *user; user++)
        h = (h ^ (unsigned char)*user) * 1099511628211ULL;
    return h % 4096;
}

int wf_quota_take(wf_quota *q, const char *user_id, int64_t at)
{
    if (q->limit <= 0 || !user_id[0])
        return 1;
    int64_t day = at / 86400;
    if (day > q->newest_day) {
        q->newest_day = day;
        prune(q, day - 1);
    }
    entry **slot = &q->buckets[bucket_of(user_id, day)];
    for (entry *e = *slot; e; e = e->next) {
        if (e->day == day && strcmp(e->user, user_id) == 0) {
            if (e->count >= q->limit)
                return 0;
            e->count++;
            return 1;
        }
    }
    entry *e = calloc(1, sizeof *e);
    if (!e || !(e->user = strdup(user_id))) {
        free(e);
        return 1; /* out of memory: never lose a sample over bookkeeping */
    }
    e->day = day;
    e->count = 1;
    e->next = *slot;
    *slot = e;
    return 1;
}
