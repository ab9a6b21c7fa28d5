#!/bin/bash
# Dead letters that cannot go as they are never hold a partition back: its
# offset must move past every bad record, or it never advances again.
#   1. A bad record over librdkafka's default message limit (1,000,000
#      bytes) but within input.max_record_bytes (1 MiB) is dead-lettered
#      whole: the dead-letter producer's limit is raised to fit.
#   2. When the broker answers MSG_SIZE_TOO_LARGE, the dead letter goes again
#      cut to 65536 bytes, with wf-truncated giving the record's size.
#   3. A record over input.max_record_bytes (too_large) is over that limit
#      too: it goes cut at once.
#   4. When the broker refuses the cut copy as too large as well, the dead
#      letter is given up, logged with the record's origin.
# A restart then dead-letters nothing again: the offsets moved on.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
wf_setup

MSG_SIZE_TOO_LARGE=10
mid_len=1020000  # over 1,000,000, under 1 MiB
big_len=1200000  # over 1 MiB

# event ID CONTENT: a user message opening conversation ID.
event() { printf '{"conversation_id":"%s","turn":0,"role":"user","content":"%s"}\n' "$1" "$2"; }
xs() { head -c "$1" /dev/zero | tr '\0' x; }
# A message event without its conversation id (missing_field) of N bytes of text.
headless() { printf '{"turn":0,"role":"user","content":"%s"}\n' "$(xs "$1")"; }

consume() {
    "$KAFKA_TOOL" consume --bootstrap "$BOOT" --topic "$1" --timeout-ms 20000 \
        2>>"$WF_TMP/consume.log" || wf_die "reading topic $1 failed"
}
header() { sed -nE "s/.*\"headers\":\{.*\"$1\":\"([^\"]*)\".*/\1/p"; }
value_len() { sed -nE 's/.*"value_len":([0-9]+).*/\1/p'; }

# fault COUNT CODE: the next COUNT Produce requests fail with CODE
# (acknowledged first).
fault() {
    local before
    before=$(grep -c ': ok$' "$WF_TMP/mock.log" || true)
    wf_fault errors Produce "$1" "$2"
    for _ in $(seq 50); do
        [ "$(grep -c ': ok$' "$WF_TMP/mock.log" || true)" -gt "$before" ] && return 0
        sleep 0.1
    done
    wf_die "the mock cluster did not take the fault"
}

# round NAME BAD_LINE FAULTS WAIT...: one bad record then a good one
# through a daemon, with FAULTS Produce requests failing MSG_SIZE_TOO_LARGE
# once they are in the topic, until the command WAIT... succeeds; the clean
# stop commits the offsets of what it handled.
round() {
    local name=$1 line=$2 faults=$3
    shift 3
    { echo "$line"; event "good-$name" "a good message after the bad one"; } >"$WF_TMP/$name.jsonl"
    wf_produce chat conversation_id "$WF_TMP/$name.jsonl"
    [ "$faults" -eq 0 ] || fault "$faults" "$MSG_SIZE_TOO_LARGE"
    wf_daemon_start "$name" "$WF_TMP/store.db" chat "${dl[@]}"
    for _ in $(seq 150); do
        "$@" && break
        sleep 0.2
    done
    "$@" || wf_fail "$name: the dead letter was not handled within 30 s"
    wf_daemon_stop "$DAEMON_PID"
}
dead_letters_at_least() { [ "$(consume chat.dlq | wc -l)" -ge "$1" ]; }
logged() { grep -q "$1" "$WF_TMP/$2.log" 2>/dev/null; }

wf_mock_start --brokers 1 --topic chat --partitions 1 --topic chat.dlq --partitions 1
dl=(--set source.dlq_topic=chat.dlq)

# 1. Whole.
round whole "$(headless "$mid_len")" 0 dead_letters_at_least 1
consume chat.dlq >"$WF_TMP/dlq1.out"
[ "$(wc -l <"$WF_TMP/dlq1.out")" -eq 1 ] || wf_fail "1: expected 1 dead letter"
len=$(value_len <"$WF_TMP/dlq1.out")
[ "$len" -gt "$mid_len" ] || wf_fail "1: the dead letter holds $len bytes, not the whole record"
[ -z "$(header wf-truncated <"$WF_TMP/dlq1.out")" ] || wf_fail "1: the whole record is marked truncated"
[ "$(header wf-reason <"$WF_TMP/dlq1.out")" = missing_field ] || wf_fail "1: wf-reason is not missing_field"

# cut N REASON: the last dead letter is the head of a record over N bytes.
cut() {
    consume chat.dlq | tail -n 1 >"$WF_TMP/cut.out"
    local len
    len=$(value_len <"$WF_TMP/cut.out")
    [ "$len" -eq 65536 ] || wf_fail "$2: the cut dead letter holds $len bytes"
    [ "$(header wf-truncated <"$WF_TMP/cut.out")" -gt "$1" ] ||
        wf_fail "$2: wf-truncated does not give the record's size"
    [ "$(header wf-reason <"$WF_TMP/cut.out")" = "$2" ] || wf_fail "$2: wf-reason differs"
}

# 2. Cut short after the broker's refusal.
round refused "$(headless "$mid_len")" 1 dead_letters_at_least 2
cut "$mid_len" missing_field

# 3. Cut short at once.
round big "$(event big "$(xs "$big_len")")" 0 dead_letters_at_least 3
cut "$big_len" too_large

# 4. Given up.
round dropped "$(headless "$mid_len")" 2 logged 'dead letter given up' dropped
grep -q 'msg="dead letter given up: the bad record is dropped" err=MSG_SIZE_TOO_LARGE topic=chat partition=0' \
    "$WF_TMP/dropped.log" || wf_fail "4: no log line names the dropped dead letter and its origin"
[ "$(consume chat.dlq | wc -l)" -eq 3 ] || wf_fail "4: the dropped dead letter reached the topic"

# A restart has nothing to dead-letter again: the offsets moved past them.
# A new bad record behind them, dead-lettered, shows that the restart read
# that far.
echo 'sentinel: not json' >"$WF_TMP/sentinel.jsonl"
wf_produce chat conversation_id "$WF_TMP/sentinel.jsonl"
wf_daemon_start again "$WF_TMP/store.db" chat "${dl[@]}"
for _ in $(seq 150); do
    dead_letters_at_least 4 && break
    sleep 0.2
done
wf_daemon_stop "$DAEMON_PID"
consume chat.dlq >"$WF_TMP/dlq.out"
[ "$(wc -l <"$WF_TMP/dlq.out")" -eq 4 ] ||
    wf_fail "after a restart the dead-letter topic holds $(wc -l <"$WF_TMP/dlq.out") records, not 4"
[ "$(tail -n 1 "$WF_TMP/dlq.out" | header wf-offset)" = 8 ] ||
    wf_fail "the restart's dead letter is not the new record at offset 8"
! grep -q 'dead letter given up' "$WF_TMP/again.log" || wf_fail "a restart met the dropped record again"
echo "dead letters: 3 (one whole, two cut short), one given up, and the restart's one"
wf_finish
