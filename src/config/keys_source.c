#include "config/keys.h"

/* kafka.group.id is the one librdkafka property with a wildfeed default; any
 * other kafka.<property> is accepted verbatim and needs no entry here. */
const wf_config_key wf_keys_source[] = {
    WF_KEY_LIST("source.topics", "[\"chat.logs\"]", "Kafka topics to consume the chat log from."),
    WF_KEY_STR("source.dlq_topic", "\"\"",
               "Dead-letter topic for records that cannot be parsed; empty means none."),
    WF_KEY_INT("source.max_in_flight", "10000", 1, 10000000,
               "Messages delivered and not yet durable; at the limit the consumer stops taking "
               "messages, pauses its partitions after a second, and resumes at half."),
    WF_KEY_INT("source.drain_deadline_ms", "10000", 0, 600000,
               "On shutdown and before giving up partitions: how long to wait for verdicts "
               "in flight and dead-letter deliveries before committing what is done."),
    WF_KEY_STR("kafka.group.id", "\"wildfeed\"",
               "Kafka consumer group. Every kafka.<property> key is passed to librdkafka "
               "verbatim (e.g. kafka.bootstrap.servers)."),
    WF_KEY_END,
};
