#!/bin/bash
# Broker faults: on a 3-broker mock cluster, brokers go down for several
# seconds while the daemon consumes and more events are produced, and request
# errors are injected (Fetch, OffsetCommit, Heartbeat, Metadata). The daemon
# recovers by itself: events produced after the faults are consumed too, and
# it ends with exactly extract's samples.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
wf_setup

# 10 copies of the mixed fixture under distinct conversation ids, turn-major,
# cut in three parts (before, during and after the faults): every
# conversation spans all three.
events="$WF_TMP/events.jsonl"
awk '{ for (r = 1; r <= 10; r++) { l = $0; sub(/"conversation_id":"[^"]*/, "&-f" r, l); print l } }' \
    "$WF_FIXTURES/integration/feedback_mixed.jsonl" >"$events"
third=$(($(wc -l <"$events") / 3 + 1))
split -l "$third" "$events" "$WF_TMP/part."
wf_extract_triples "$events" >"$WF_TMP/want"

wf_mock_start --brokers 3 --topic chat --partitions 3
wf_produce chat conversation_id "$WF_TMP/part.aa"
wf_daemon_start daemon "$WF_TMP/store.db" chat
wf_wait_assigned daemon 0
sleep 1

# Broker 1 goes down while the second part is being produced (the producer
# waits for it), then comes back.
wf_fault down 1
wf_produce chat conversation_id "$WF_TMP/part.ab" &
producer=$!
WF_PIDS+=("$producer")
sleep 5
wf_fault up 1
wf_fault errors Fetch 10
wf_fault errors OffsetCommit 5
wf_fault errors Heartbeat 3
wf_fault errors Metadata 3
sleep 2
wf_fault down 2
sleep 4
wf_fault up 2
wait "$producer" || wf_die "producing the second part failed"
sleep 1
wf_produce chat conversation_id "$WF_TMP/part.ac"

wf_wait_count "$WF_TMP/store.db" "$(wc -l <"$WF_TMP/want")" 90 ||
    wf_fail "the daemon did not recover and store every sample"
kill -0 "$DAEMON_PID" 2>/dev/null || wf_fail "the daemon exited during the faults"
wf_daemon_stop "$DAEMON_PID"

acked=$(grep -c ': ok$' "$WF_TMP/mock.log" || true)
[ "$acked" -eq 8 ] || wf_fail "the mock cluster applied $acked of 8 fault commands"
wf_export "$WF_TMP/store.db" | wf_triples >"$WF_TMP/got"
wf_same broker_faults "$WF_TMP/want" "$WF_TMP/got"
wf_finish
