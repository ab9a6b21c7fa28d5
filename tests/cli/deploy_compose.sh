#!/bin/bash
# The one-shot producer of deploy/docker-compose.yml without Docker: its jq
# program turns the bundled snapshots into message events keyed by
# conversation id, which wildfeed reads as the same conversations (the same
# samples as the snapshots themselves). Needs jq (Debian: jq); the compose
# file is also checked with `docker compose config` or `docker-compose
# config` when either is installed (neither needs a Docker engine).
set -u
source "$(dirname "$0")/lib.bash"
fx="$WF_FIXTURES/deploy"
prog="$WF_SOURCE/deploy/demo-events.jq"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ids() { sed -n 's/^{"id":"\([^"]*\)".*/\1/p' "$1" | sort -u; }

if command -v jq >/dev/null 2>&1; then
    jq -r -f "$prog" "$WF_SOURCE/data/demo/conversations.jsonl" >"$tmp/events.tsv"
    check "jq exits 0" test $? -eq 0
    check "252 events from the 60 demo conversations" test "$(wc -l <"$tmp/events.tsv")" -eq 252
    check "every line is key<TAB>event" \
        test -z "$(awk -F '\t' 'NF != 2 || $1 !~ /^demo-[0-9][0-9][0-9]$/' "$tmp/events.tsv")"
    check "the key is the event's conversation id" \
        test -z "$(awk -F '\t' 'index($2, "{\"conversation_id\":\"" $1 "\",") != 1' "$tmp/events.tsv")"
    check "first event" test "$(head -n 1 "$tmp/events.tsv" | cut -f2 | cut -c1-80)" = \
        '{"conversation_id":"demo-001","turn":0,"role":"user","content":"How do I reverse'
    # The checked-in message-event fixture is this program's output.
    jq -r -f "$prog" "$fx/snapshots.jsonl" | cut -f2- >"$tmp/messages.jsonl"
    check "fixture messages.jsonl is up to date" cmp -s "$tmp/messages.jsonl" "$fx/messages.jsonl"
    # The whole sample through the daemon's parser: the same samples as the
    # snapshots (the demo's 23).
    cut -f2- "$tmp/events.tsv" >"$tmp/all.jsonl"
    "$WF_BIN" extract -i "$tmp/all.jsonl" -o "$tmp/msg.out" --report json >"$tmp/msg.report" 2>&1
    check "events: extract exits 0" test $? -eq 0
    "$WF_BIN" extract -i "$WF_SOURCE/data/demo/conversations.jsonl" -o "$tmp/snap.out" >/dev/null 2>&1
    check "events read as message events" grep -Fq '"records_by_shape":{"message":252,' "$tmp/msg.report"
    check "23 samples" test "$(ids "$tmp/msg.out" | wc -l)" -eq 23
    check "the snapshots' samples" cmp -s <(ids "$tmp/msg.out") <(ids "$tmp/snap.out")
else
    echo "skipped: jq not installed (Debian: jq)"
    skipped=$((skipped + 1))
fi

compose=""
if docker compose version >/dev/null 2>&1; then
    compose="docker compose"
elif command -v docker-compose >/dev/null 2>&1; then
    compose="docker-compose"
fi
if [ -n "$compose" ]; then
    $compose -f "$WF_SOURCE/deploy/docker-compose.yml" config -q >"$tmp/compose" 2>&1
    status=$?
    cat "$tmp/compose"
    check "$compose config" test "$status" -eq 0
else
    echo "skipped: neither docker compose nor docker-compose installed (Debian: docker-compose)"
    skipped=$((skipped + 1))
fi

cli_finish
