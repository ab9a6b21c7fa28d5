#!/bin/bash
# Dead letters: bad records (not JSON, invalid UTF-8, a missing field, over
# input.max_record_bytes) produced among good ones go to source.dlq_topic with
# the headers wf-reason, wf-topic, wf-partition and wf-offset naming the
# original record; the good records still become extract's samples; and once
# the daemon has stopped, a restart dead-letters nothing again (their offsets
# were stored).
set -euo pipefail
source "$(dirname "$0")/lib.bash"
wf_setup

max=2000
input="$WF_TMP/input.jsonl"
bad="$WF_TMP/bad.jsonl"
{
    echo 'this is not json {'
    printf '{"conversation_id":"dl-utf8","turn":0,"role":"user","content":"caf\xe9 au lait"}\n'
    echo '{"turn":0,"role":"user","content":"a message event without its conversation id"}'
    printf '{"conversation_id":"dl-large","turn":0,"role":"user","content":"%s"}\n' \
        "$(head -c 3000 /dev/zero | tr '\0' x)"
} >"$bad"
# The bad records spread through the good ones.
awk -v bad="$bad" 'NR % 30 == 0 && (getline line < bad) > 0 { print line } { print }
    END { while ((getline line < bad) > 0) print line }' \
    "$WF_FIXTURES/integration/messages.jsonl" >"$input"
declare -A want_reason=([not_json]=1 [bad_utf8]=1 [missing_field]=1 [too_large]=1)

wf_extract_triples "$input" --set "input.max_record_bytes=$max" >"$WF_TMP/want"
wf_mock_start --brokers 1 --topic chat --partitions 3 --topic chat.dlq --partitions 1
wf_produce chat conversation_id "$input"

dl=(--set source.dlq_topic=chat.dlq --set "input.max_record_bytes=$max")
wf_daemon_start daemon "$WF_TMP/store.db" chat "${dl[@]}"
wf_wait_count "$WF_TMP/store.db" "$(wc -l <"$WF_TMP/want")" 60 ||
    wf_fail "the daemon did not store extract's samples"
wf_daemon_stop "$DAEMON_PID"
wf_export "$WF_TMP/store.db" | wf_triples >"$WF_TMP/got"
wf_same good_records "$WF_TMP/want" "$WF_TMP/got"

consume() {
    "$KAFKA_TOOL" consume --bootstrap "$BOOT" --topic "$1" --timeout-ms 20000 \
        2>>"$WF_TMP/consume.log" || wf_die "reading topic $1 failed"
}
consume chat >"$WF_TMP/chat.out"
consume chat.dlq >"$WF_TMP/dlq.out"

header() { sed -nE "s/.*\"headers\":\{.*\"$1\":\"([^\"]*)\".*/\1/p"; }
value() { sed -E 's/.*,"value":(.*),"headers":\{.*/\1/'; }

n=$(wc -l <"$WF_TMP/dlq.out")
[ "$n" -eq 4 ] || wf_fail "expected 4 dead letters, found $n"
while IFS= read -r rec; do
    reason=$(header wf-reason <<<"$rec")
    topic=$(header wf-topic <<<"$rec")
    part=$(header wf-partition <<<"$rec")
    off=$(header wf-offset <<<"$rec")
    echo "dead letter: reason=$reason topic=$topic partition=$part offset=$off"
    if [ -n "$reason" ] && [ -n "${want_reason[$reason]:-}" ]; then
        unset "want_reason[$reason]"
    else
        wf_fail "unexpected or repeated wf-reason '$reason'"
    fi
    [ -n "$(header wf-error <<<"$rec")" ] || wf_fail "$reason: no wf-error header"
    [ "$topic" = chat ] || wf_fail "$reason: wf-topic is '$topic', expected chat"
    orig=$(grep -F "{\"topic\":\"chat\",\"partition\":$part,\"offset\":$off," "$WF_TMP/chat.out" |
        value || true)
    if [ -z "$orig" ]; then
        wf_fail "$reason: no record at chat partition '$part' offset '$off'"
    elif [ "$orig" != "$(value <<<"$rec")" ]; then
        wf_fail "$reason: the dead letter's value differs from the record at chat/$part/$off"
    fi
done <"$WF_TMP/dlq.out"
for reason in "${!want_reason[@]}"; do
    wf_fail "no dead letter with wf-reason $reason"
done

# A second run finds every offset stored: nothing is dead-lettered twice.
wf_daemon_start daemon2 "$WF_TMP/store.db" chat "${dl[@]}"
wf_wait_assigned daemon2 0
sleep 2
wf_daemon_stop "$DAEMON_PID"
n2=$(consume chat.dlq | wc -l)
[ "$n2" -eq 4 ] || wf_fail "after a restart the dead-letter topic holds $n2 records, not 4"
wf_finish
