#!/bin/bash
# Crash safety: while a few thousand message events (with explicit feedback)
# trickle into a topic, the daemon is SIGKILLed at 10 random moments after it
# started consuming, and restarted each time on the same store. At the end the
# store holds exactly the samples `wildfeed extract` makes of the same events:
# none lost, none duplicated, same labels and sources.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
wf_setup

seed=${WF_SEED:-$RANDOM}
RANDOM=$seed
echo "random seed $seed (rerun with WF_SEED=$seed)"

# 25 copies of the mixed fixture under distinct conversation ids, turn-major:
# every conversation is open from the first chunk to the last, so its state
# crosses every crash.
events="$WF_TMP/events.jsonl"
awk '{ for (r = 1; r <= 25; r++) { l = $0; sub(/"conversation_id":"[^"]*/, "&-r" r, l); print l } }' \
    "$WF_FIXTURES/integration/feedback_mixed.jsonl" >"$events"
wf_extract_triples "$events" >"$WF_TMP/want"
want=$(wc -l <"$WF_TMP/want")
echo "$(wc -l <"$events") events; extract makes $want samples"

wf_mock_start --brokers 1 --topic chat --partitions 3
split -l 40 "$events" "$WF_TMP/chunk."
(
    for chunk in "$WF_TMP"/chunk.*; do
        "$KAFKA_TOOL" produce --bootstrap "$BOOT" --topic chat --key-field conversation_id \
            "$chunk" 2>>"$WF_TMP/produce.log" || exit 1
        sleep 0.5
    done
) &
producer=$!
WF_PIDS+=("$producer")

midway=0
for kill in $(seq 10); do
    before=$(wf_assignments daemon)
    wf_daemon_start daemon "$WF_TMP/store.db" chat
    wf_wait_assigned daemon "$before"
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.2 + 1.3 * r / 32767 }')"
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null || true
    n=$(wf_export "$WF_TMP/store.db" | wc -l)
    echo "kill $kill: $n samples stored"
    [ "$n" -gt 0 ] && [ "$n" -lt "$want" ] && midway=$((midway + 1))
done
wait "$producer" || wf_die "producing the events failed"
[ "$midway" -gt 0 ] || wf_fail "no kill came while the daemon was part-way through the events"

wf_daemon_start daemon "$WF_TMP/store.db" chat
wf_wait_count "$WF_TMP/store.db" "$want" 90 || wf_fail "the last run did not reach $want samples"
wf_daemon_stop "$DAEMON_PID"

wf_export "$WF_TMP/store.db" >"$WF_TMP/export.jsonl"
dups=$(sed -E 's/^\{"id":"([^"]*)".*/\1/' "$WF_TMP/export.jsonl" | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || wf_fail "$dups sample ids exported more than once"
wf_triples <"$WF_TMP/export.jsonl" >"$WF_TMP/got"
wf_same crash_safety "$WF_TMP/want" "$WF_TMP/got"
wf_finish
