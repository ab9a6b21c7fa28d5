/* The local buffer of messages fetched beyond the in-flight limit. */
#include <stdlib.h>

#include "source/source_int.h"

int wf_src_held_init(wf_source *s, size_t cap)
{
    s->held = calloc(cap, sizeof *s->held);
    if (!s->held)
        return WF_ENOMEM;
    s->held_cap = cap;
    return 0;
}

void wf_src_held_free(wf_source *s)
{
    while (s->held_count)
        rd_kafka_message_destroy(wf_src_held_pop(s));
    free(s->held);
    s->held = NULL;
}

/* Only reached if librdkafka kept delivering long after the pause; growing
 * beats both losing the message and letting a later one overtake it. */
static int grow(wf_source *s)
{
    size_t cap = s->held_cap * 2;
    rd_kafka_message_t **ring = malloc(cap * sizeof *ring);
    if (!ring)
        return WF_ENOMEM;
    for (size_t i = 0; i < s->held_count; i++)
        ring[i] = s->held[(s->held_head + i) % s->held_cap];
    free(s->held);
    s->held = ring;
    s->held_cap = cap;
    s->held_head = 0;
    return 0;
}

int wf_src_held_push(wf_source *s, rd_kafka_message_t *m)
{
    if (s->held_count == s->held_cap && grow(s) < 0)
        return WF_ENOMEM;
    s->held[(s->held_head + s->held_count++) % s->held_cap] = m;
    s->held_gauge = s->held_count;
    return 0;
}

rd_kafka_message_t *wf_src_held_pop(wf_source *s)
{
    rd_kafka_message_t *m = s->held[s->held_head];
    s->held_head = (s->held_head + 1) % s->held_cap;
    s->held_count--;
    s->held_gauge = s->held_count;
    return m;
}

static int revoked(const rd_kafka_message_t *m, const rd_kafka_topic_partition_list_t *parts)
{
    return rd_kafka_topic_partition_list_find(parts, rd_kafka_topic_name(m->rkt), m->partition) !=
           NULL;
}

void wf_src_held_purge(wf_source *s, const rd_kafka_topic_partition_list_t *parts)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->held_count; i++) {
        rd_kafka_message_t *m = s->held[(s->held_head + i) % s->held_cap];
        if (revoked(m, parts))
            rd_kafka_message_destroy(m);
        else
            s->held[(s->held_head + kept++) % s->held_cap] = m;
    }
    s->held_count = kept;
    s->held_gauge = kept;
}
