#include "source/tracker.h"

#include <stdlib.h>
#include <string.h>

#include "wildfeed/err.h"

#define SEQ_BITS 44
#define GEN_BITS 8
#define SEQ_MASK ((UINT64_C(1) << SEQ_BITS) - 1)
#define GEN_MASK ((UINT64_C(1) << GEN_BITS) - 1)

static uint64_t make_tag(size_t slot, uint32_t gen, uint64_t seq)
{
    return ((uint64_t)slot << (SEQ_BITS + GEN_BITS)) | (((uint64_t)gen & GEN_MASK) << SEQ_BITS) |
           (seq & SEQ_MASK);
}

static size_t tag_slot(uint64_t tag)
{
    return (size_t)(tag >> (SEQ_BITS + GEN_BITS));
}
static uint32_t tag_gen(uint64_t tag)
{
    return (uint32_t)((tag >> SEQ_BITS) & GEN_MASK);
}
static uint64_t tag_seq(uint64_t tag)
{
    return tag & SEQ_MASK;
}

void wf_src_tracker_init(wf_src_tracker *t)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
}

static void slot_clear(wf_src_slot *sl)
{
    for (size_t i = 0; i < sl->count; i++) {
        wf_src_entry *e = &sl->ring[(sl->head + i) % sl->cap];
        if (e->msg)
            rd_kafka_message_destroy(e->msg);
    }
    sl->head = sl->count = 0;
}

void wf_src_tracker_free(wf_src_tracker *t)
{
    for (size_t i = 0; i < t->nslots; i++) {
        slot_clear(&t->slots[i]);
        free(t->slots[i].ring);
        free(t->slots[i].topic);
    }
    for (size_t i = 0; i < t->norphans; i++)
        rd_kafka_message_destroy(t->orphans[i].msg);
    free(t->slots);
    free(t->orphans);
    pthread_mutex_destroy(&t->lock);
}

static long find_slot(wf_src_tracker *t, const char *topic, int32_t partition)
{
    if (t->last_slot < t->nslots) {
        wf_src_slot *sl = &t->slots[t->last_slot];
        if (sl->partition == partition && strcmp(sl->topic, topic) == 0)
            return (long)t->last_slot;
    }
    for (size_t i = 0; i < t->nslots; i++)
        if (t->slots[i].partition == partition && strcmp(t->slots[i].topic, topic) == 0) {
            t->last_slot = i;
            return (long)i;
        }
    return -1;
}

static long add_slot(wf_src_tracker *t, const char *topic, int32_t partition)
{
    if (t->nslots == WF_SRC_MAX_SLOTS)
        return WF_EINVAL;
    if (t->nslots == t->slot_cap) {
        size_t cap = t->slot_cap ? t->slot_cap * 2 : 16;
        wf_src_slot *bigger = realloc(t->slots, cap * sizeof *bigger);
        if (!bigger)
            return WF_ENOMEM;
        t->slots = bigger;
        t->slot_cap = cap;
    }
    wf_src_slot *sl = &t->slots[t->nslots];
    memset(sl, 0, sizeof *sl);
    sl->topic = strdup(topic);
    if (!sl->topic)
        return WF_ENOMEM;
    sl->partition = partition;
    sl->watermark = -1;
    sl->committed = -1;
    return (long)t->nslots++;
}

static int orphan_add(wf_src_tracker *t, uint64_t tag, rd_kafka_message_t *msg)
{
    if (t->norphans == t->orphan_cap) {
        size_t cap = t->orphan_cap ? t->orphan_cap * 2 : 16;
        wf_src_orphan *bigger = realloc(t->orphans, cap * sizeof *bigger);
        if (!bigger)
            return WF_ENOMEM;
        t->orphans = bigger;
        t->orphan_cap = cap;
    }
    t->orphans[t->norphans].tag = tag;
    t->orphans[t->norphans].msg = msg;
    t->norphans++;
    return 0;
}

/* Moves the slot's not-done messages to the orphan list (their stale tags may
 * still be completed by the caller). Without memory for that, the bytes are
 * freed now: correct for every caller that copied what it needed. */
static void slot_orphan(wf_src_tracker *t, size_t idx)
{
    wf_src_slot *sl = &t->slots[idx];
    for (size_t i = 0; i < sl->count; i++) {
        wf_src_entry *e = &sl->ring[(sl->head + i) % sl->cap];
        if (!e->msg)
            continue;
        t->forgotten++;
        if (orphan_add(t, make_tag(idx, sl->gen, sl->head_seq + i), e->msg) < 0) {
            rd_kafka_message_destroy(e->msg);
            t->in_flight--;
        }
        e->msg = NULL;
    }
    sl->head = sl->count = 0;
}

static void slot_start(wf_src_slot *sl)
{
    sl->assigned = 1;
    sl->gen = (sl->gen + 1) & GEN_MASK;
    sl->head_seq = 0;
    sl->watermark = -1;
    sl->dirty = 0;
}

int wf_src_tracker_assign(wf_src_tracker *t, const char *topic, int32_t partition)
{
    pthread_mutex_lock(&t->lock);
    long idx = find_slot(t, topic, partition);
    if (idx < 0)
        idx = add_slot(t, topic, partition);
    if (idx >= 0) {
        slot_orphan(t, (size_t)idx);
        slot_start(&t->slots[idx]);
    }
    pthread_mutex_unlock(&t->lock);
    return idx < 0 ? (int)idx : 0;
}

void wf_src_tracker_revoke(wf_src_tracker *t, const char *topic, int32_t partition)
{
    pthread_mutex_lock(&t->lock);
    long idx = find_slot(t, topic, partition);
    if (idx >= 0) {
        slot_orphan(t, (size_t)idx);
        t->slots[idx].assigned = 0;
        t->slots[idx].dirty = 0;
    }
    pthread_mutex_unlock(&t->lock);
}

static int ring_grow(wf_src_slot *sl)
{
    size_t cap = sl->cap ? sl->cap * 2 : 64;
    wf_src_entry *ring = malloc(cap * sizeof *ring);
    if (!ring)
        return WF_ENOMEM;
    for (size_t i = 0; i < sl->count; i++)
        ring[i] = sl->ring[(sl->head + i) % sl->cap];
    free(sl->ring);
    sl->ring = ring;
    sl->cap = cap;
    sl->head = 0;
    return 0;
}

int wf_src_tracker_push(wf_src_tracker *t, rd_kafka_message_t *msg, uint64_t *tag)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    long idx = find_slot(t, topic, msg->partition);
    if (idx < 0)
        idx = add_slot(t, topic, msg->partition);
    if (idx < 0) {
        rc = (int)idx;
        goto out;
    }
    wf_src_slot *sl = &t->slots[idx];
    if (!sl->assigned)
        slot_start(sl);
    if (sl->count == sl->cap && (rc = ring_grow(sl)) < 0)
        goto out;
    uint64_t seq = sl->head_seq + sl->count;
    sl->ring[(sl->head + sl->count) % sl->cap] = (wf_src_entry){msg->offset, msg};
    sl->count++;
    t->in_flight++;
    *tag = make_tag((size_t)idx, sl->gen, seq);
out:
    pthread_mutex_unlock(&t->lock);
    return rc;
}

static int orphan_done(wf_src_tracker *t, uint64_t tag)
{
    for (size_t i = 0; i < t->norphans; i++)
        if (t->orphans[i].tag == tag) {
            rd_kafka_message_destroy(t->orphans[i].msg);
            t->orphans[i] = t->orphans[--t->norphans];
            t->in_flight--;
            return 1;
        }
    return 0;
}

/* Pops the done prefix; the watermark follows the last popped offset. */
static int slot_advance(wf_src_slot *sl)
{
    int advanced = 0;
    while (sl->count > 0 && !sl->ring[sl->head].msg) {
        sl->watermark = sl->ring[sl->head].offset + 1;
        sl->head = (sl->head + 1) % sl->cap;
        sl->head_seq++;
        sl->count--;
        advanced = 1;
    }
    if (advanced)
        sl->dirty = 1;
    return advanced;
}

int wf_src_tracker_done(wf_src_tracker *t, uint64_t tag)
{
    size_t idx = tag_slot(tag);
    uint64_t seq = tag_seq(tag);
    int advanced = 0;
    pthread_mutex_lock(&t->lock);
    wf_src_slot *sl = idx < t->nslots ? &t->slots[idx] : NULL;
    if (sl && sl->assigned && sl->gen == tag_gen(tag) && seq >= sl->head_seq &&
        seq - sl->head_seq < sl->count) {
        wf_src_entry *e = &sl->ring[(sl->head + (seq - sl->head_seq)) % sl->cap];
        if (e->msg) {
            rd_kafka_message_destroy(e->msg);
            e->msg = NULL;
            t->in_flight--;
            t->done++;
            advanced = slot_advance(sl);
        } else {
            t->stale_done++;
        }
    } else {
        orphan_done(t, tag);
        t->stale_done++;
    }
    pthread_mutex_unlock(&t->lock);
    return advanced;
}

size_t wf_src_tracker_in_flight(wf_src_tracker *t)
{
    pthread_mutex_lock(&t->lock);
    size_t n = t->in_flight;
    pthread_mutex_unlock(&t->lock);
    return n;
}

rd_kafka_topic_partition_list_t *wf_src_tracker_take_dirty(wf_src_tracker *t)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->nslots; i++) {
        wf_src_slot *sl = &t->slots[i];
        if (!sl->assigned || !sl->dirty)
            continue;
        if (!list)
            list = rd_kafka_topic_partition_list_new(8);
        rd_kafka_topic_partition_list_add(list, sl->topic, sl->partition)->offset = sl->watermark;
        sl->dirty = 0;
    }
    pthread_mutex_unlock(&t->lock);
    return list;
}

void wf_src_tracker_restore_dirty(wf_src_tracker *t, const rd_kafka_topic_partition_list_t *list)
{
    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < list->cnt; i++) {
        if (!list->elems[i].err)
            continue;
        long idx = find_slot(t, list->elems[i].topic, list->elems[i].partition);
        if (idx >= 0 && t->slots[idx].assigned)
            t->slots[idx].dirty = 1;
    }
    pthread_mutex_unlock(&t->lock);
}

void wf_src_tracker_committed(wf_src_tracker *t, const rd_kafka_topic_partition_list_t *list)
{
    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < list->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &list->elems[i];
        if (p->err || p->offset < 0)
            continue;
        long idx = find_slot(t, p->topic, p->partition);
        if (idx >= 0)
            t->slots[idx].committed = p->offset;
    }
    pthread_mutex_unlock(&t->lock);
}
