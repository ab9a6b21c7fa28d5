/* In-flight tracking for the Kafka source: per partition the messages
 * delivered and not yet done, in delivery order, and the contiguous done
 * watermark that may be stored as the partition's offset.
 *
 * A tag packs the partition's slot (12 bits), the slot's assignment generation
 * (8 bits) and the message's delivery sequence number within that assignment
 * (44 bits), so done() finds its entry in O(1) and a tag from an earlier
 * assignment of the same partition is recognised as stale. Every function
 * takes the tracker's lock: done() comes from any thread.
 *
 * The tracker owns the rd_kafka_message_t of every tracked message and
 * destroys it when the message is done. Messages of a revoked partition that
 * are not done become orphans: still owned (their bytes may still be in use),
 * still counted in flight, freed when their stale tag is done or at free. */
#ifndef WF_SOURCE_TRACKER_H
#define WF_SOURCE_TRACKER_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define WF_SRC_MAX_SLOTS 4096

typedef struct wf_src_entry {
    int64_t offset;
    rd_kafka_message_t *msg; /* NULL once done */
} wf_src_entry;

typedef struct wf_src_slot {
    char *topic;
    int32_t partition;
    int assigned;
    uint32_t gen;
    uint64_t head_seq; /* sequence number of ring[head] */
    wf_src_entry *ring;
    size_t cap, head, count;
    int64_t watermark; /* offset to store (last contiguous done + 1), -1 none */
    int dirty;         /* watermark advanced since the last store */
    int64_t committed; /* last offset known committed, -1 unknown */
} wf_src_slot;

typedef struct wf_src_orphan {
    uint64_t tag;
    rd_kafka_message_t *msg;
} wf_src_orphan;

typedef struct wf_src_tracker {
    pthread_mutex_t lock;
    wf_src_slot *slots;
    size_t nslots, slot_cap;
    size_t last_slot; /* lookup cache: consecutive messages share a partition */
    wf_src_orphan *orphans;
    size_t norphans, orphan_cap;
    size_t in_flight; /* live entries not done plus orphans */
    uint64_t done, stale_done, forgotten;
} wf_src_tracker;

void wf_src_tracker_init(wf_src_tracker *t);
void wf_src_tracker_free(wf_src_tracker *t);

/* Starts a new assignment generation for the partition (creating its slot).
 * Returns 0, WF_ENOMEM, or WF_EINVAL when the slot table is full. */
int wf_src_tracker_assign(wf_src_tracker *t, const char *topic, int32_t partition);
/* Ends the partition's assignment; its not-done messages become orphans. */
void wf_src_tracker_revoke(wf_src_tracker *t, const char *topic, int32_t partition);

/* Takes ownership of msg (a message of an assigned partition; one not yet
 * known is assigned implicitly) and returns its tag in *tag. On error msg is
 * still the caller's. */
int wf_src_tracker_push(wf_src_tracker *t, rd_kafka_message_t *msg, uint64_t *tag);

/* Marks tag done; returns 1 when it advanced a watermark. */
int wf_src_tracker_done(wf_src_tracker *t, uint64_t tag);

size_t wf_src_tracker_in_flight(wf_src_tracker *t);

/* The advanced watermarks of assigned partitions, as a list to hand to
 * rd_kafka_offsets_store (caller destroys it), or NULL when none advanced.
 * Clears the dirty marks. */
rd_kafka_topic_partition_list_t *wf_src_tracker_take_dirty(wf_src_tracker *t);

/* Puts the dirty marks back for the entries of list whose err is set (a
 * store that failed) so the next store retries them. */
void wf_src_tracker_restore_dirty(wf_src_tracker *t, const rd_kafka_topic_partition_list_t *list);

/* Records committed offsets (from a commit result) for the gauges. */
void wf_src_tracker_committed(wf_src_tracker *t, const rd_kafka_topic_partition_list_t *list);

#endif
