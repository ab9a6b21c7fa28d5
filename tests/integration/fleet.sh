#!/bin/bash
# A fleet (DESIGN §11): two labelling instances, each on its own part of the
# chat log, produce every sample they store to one samples topic; a trainer
# instance consumes that topic into its own store. The trainer ends with
# exactly the samples `wildfeed extract` finds in the whole log, each line of
# its export equal to the labeller's; it does so with input.shape sample and
# with auto detection; it trains and promotes a model in the registry the
# labellers follow, and both labellers serve that version; and a labeller
# restarted with nothing new to read sends nothing again.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
wf_setup

events="$WF_FIXTURES/integration/feedback_mixed.jsonl"
# Each conversation goes wholly to one labeller (by its id's length).
awk -v out="$WF_TMP/part" -F'"conversation_id":"' \
    '{ split($2, id, "\""); print > (out "." (length(id[1]) % 2 ? "a" : "b")) }' "$events"
[ -s "$WF_TMP/part.a" ] && [ -s "$WF_TMP/part.b" ] || wf_die "the split left a labeller nothing"
wf_extract_triples "$events" >"$WF_TMP/want"
want=$(wc -l <"$WF_TMP/want")

wf_mock_start --brokers 1 --topic chat.a --partitions 2 --topic chat.b --partitions 2 \
    --topic wf.samples --partitions 3
wf_produce chat.a conversation_id "$WF_TMP/part.a"
wf_produce chat.b conversation_id "$WF_TMP/part.b"

models="$WF_TMP/fleet.models"
labeller() { # NAME TOPIC
    WF_GROUP=wf-label-$1 wf_daemon_start "$1" "$WF_TMP/$1.db" "$2" --set sample.topic=wf.samples \
        --set "model.dir=$models" --set model.follow_interval_s=1
}
trainer() { # NAME SHAPE [--set k=v]...
    local name=$1 shape=$2
    shift 2
    WF_GROUP=wf-train-$name wf_daemon_start "$name" "$WF_TMP/$name.db" wf.samples \
        --set "input.shape=$shape" "$@"
}

labeller la chat.a
pid_a=$DAEMON_PID
labeller lb chat.b
pid_b=$DAEMON_PID
trainer tsample sample --set "model.dir=$models" --set train.enabled=true \
    --set train.min_samples=20 --set train.min_new_samples=20
pid_ts=$DAEMON_PID
trainer tauto auto
pid_ta=$DAEMON_PID

wf_wait_count "$WF_TMP/tsample.db" "$want" 90 ||
    wf_fail "the trainer (input.shape sample) did not store every sample"
wf_wait_count "$WF_TMP/tauto.db" "$want" 60 ||
    wf_fail "the trainer (input.shape auto) did not store every sample"

# The trainer's promotion reaches both labellers through the registry.
followed() { # LOG VERSION
    grep -q "msg=\"model active (followed from the registry)\" version=$2" "$WF_TMP/$1.log"
}
version= served=0
for _ in $(seq 300); do
    version=$(sed -nE 's/.*msg="model active" version=([^ ]+).*/\1/p' "$WF_TMP/tsample.log" | tail -n 1)
    if [ -n "$version" ] && followed la "$version" && followed lb "$version"; then
        served=1
        break
    fi
    sleep 0.1
done
if [ -z "$version" ]; then
    wf_fail "the trainer promoted no model"
elif [ "$served" -ne 1 ]; then
    wf_fail "the labellers do not serve the trainer's version $version within 30 s"
else
    echo "ok: both labellers serve the trainer's version $version"
fi
for pid in "$pid_a" "$pid_b" "$pid_ts" "$pid_ta"; do
    wf_daemon_stop "$pid"
done

wf_export "$WF_TMP/tsample.db" | wf_triples >"$WF_TMP/got"
wf_same fleet_trainer "$WF_TMP/want" "$WF_TMP/got"
{
    wf_export "$WF_TMP/la.db"
    wf_export "$WF_TMP/lb.db"
} | LC_ALL=C sort >"$WF_TMP/labellers.jsonl"
for t in tsample tauto; do
    wf_export "$WF_TMP/$t.db" | LC_ALL=C sort >"$WF_TMP/$t.jsonl"
    if cmp -s "$WF_TMP/labellers.jsonl" "$WF_TMP/$t.jsonl"; then
        echo "ok: $t: $(wc -l <"$WF_TMP/$t.jsonl") export lines equal to the labellers'"
    else
        wf_fail "$t: export differs from the labellers' (- labellers, + trainer):"
        diff -u "$WF_TMP/labellers.jsonl" "$WF_TMP/$t.jsonl" | head -n 20 >&2 || true
    fi
done

topic_keys() {
    "$KAFKA_TOOL" consume --bootstrap "$BOOT" --topic wf.samples --timeout-ms 20000 \
        2>>"$WF_TMP/consume.log" | sed -E 's/.*"key":"([^"]*)".*/\1/'
}
topic_keys >"$WF_TMP/keys.1"
distinct=$(LC_ALL=C sort -u "$WF_TMP/keys.1" | wc -l)
[ "$distinct" -eq "$want" ] || wf_fail "the samples topic holds $distinct ids, expected $want"
for l in la lb; do
    grep -E 'msg="(samples? topic|sample delivery failed|sample refused|sample too big)' \
        "$WF_TMP/$l.log" >&2 && wf_fail "labeller $l logged a samples topic problem"
done

# A restart finds its cursor at the end: nothing goes again.
before=$(wf_assignments la)
labeller la chat.a
wf_wait_assigned la "$before"
sleep 2
wf_daemon_stop "$DAEMON_PID"
topic_keys >"$WF_TMP/keys.2"
[ "$(wc -l <"$WF_TMP/keys.2")" -eq "$(wc -l <"$WF_TMP/keys.1")" ] ||
    wf_fail "the restarted labeller sent samples again:" \
        "$(wc -l <"$WF_TMP/keys.1") records before, $(wc -l <"$WF_TMP/keys.2") after"
wf_finish
