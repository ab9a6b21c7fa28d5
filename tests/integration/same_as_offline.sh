#!/bin/bash
# Every event shape sent through Kafka ends as exactly the samples that
# `wildfeed extract` makes of the same file: the sets of (id, label, source)
# are equal and non-empty. One daemon per shape, each with its own topic,
# consumer group and store, all against one mock cluster.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
wf_setup

fixtures="$WF_FIXTURES/integration"
shapes="messages snapshots gateway feedback_mixed"
declare -A key=([messages]=conversation_id [snapshots]=conversation_hash [gateway]=user_id
    [feedback_mixed]=conversation_id)
declare -A pid

topics=()
for s in $shapes; do
    topics+=(--topic "$s" --partitions 3)
done
wf_mock_start --brokers 1 "${topics[@]}"

for s in $shapes; do
    wf_extract_triples "$fixtures/$s.jsonl" >"$WF_TMP/$s.want"
    wf_produce "$s" "${key[$s]}" "$fixtures/$s.jsonl"
    WF_GROUP="same-$s" wf_daemon_start "daemon-$s" "$WF_TMP/$s.db" "$s"
    pid[$s]=$DAEMON_PID
done
for s in $shapes; do
    want=$(wc -l <"$WF_TMP/$s.want")
    wf_wait_count "$WF_TMP/$s.db" "$want" 60 || wf_fail "$s: the daemon did not reach $want samples"
    wf_daemon_stop "${pid[$s]}"
    wf_export "$WF_TMP/$s.db" | wf_triples >"$WF_TMP/$s.got"
    wf_same "$s" "$WF_TMP/$s.want" "$WF_TMP/$s.got"
done

# The fixtures cover what they claim: every label, both languages, hindsight
# and explicit feedback.
all="$WF_TMP/all.want"
cat "$WF_TMP"/*.want >"$all"
for label in 1 2 3 4; do
    grep -q " $label [a-z]*\$" "$all" || wf_fail "no sample with label $label in the fixtures"
done
for source in rules hindsight explicit; do
    grep -q " $source\$" "$all" || wf_fail "no sample from source $source in the fixtures"
done
grep -q '^zh-' "$WF_TMP/messages.want" || wf_fail "no Chinese sample in the fixtures"
wf_finish
