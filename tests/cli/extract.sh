#!/bin/bash
# `wildfeed extract` end to end on a fixture: the exact samples, the exact
# per-stage report (throughput aside), the same result from stdin, from a
# gzip file, split over two files and read twice, explicit feedback
# replacing an implicit label, and the exit statuses.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
fx="$WF_FIXTURES/extract"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
strip_throughput() { sed 's/,"throughput":{[^}]*}//'; }

"$WF_BIN" extract -i "$fx/input.jsonl" -o "$tmp/out.jsonl" --report json > "$tmp/report.json"
check "samples" diff "$fx/expected.jsonl" "$tmp/out.jsonl"
strip_throughput < "$tmp/report.json" > "$tmp/report.stripped"
check "report" diff "$fx/expected_report.json" "$tmp/report.stripped"

"$WF_BIN" extract -i - < "$fx/input.jsonl" > "$tmp/stdin.jsonl" 2> /dev/null
check "stdin" diff "$fx/expected.jsonl" "$tmp/stdin.jsonl"

gzip -c "$fx/input.jsonl" > "$tmp/input.jsonl.gz"
"$WF_BIN" extract -i "$tmp/input.jsonl.gz" -o "$tmp/gz.jsonl" > /dev/null
check "gzip" diff "$fx/expected.jsonl" "$tmp/gz.jsonl"

# Records are independent of file boundaries (snapshots; the message events
# of one conversation stay in one half here).
head -n 8 "$fx/input.jsonl" > "$tmp/a.jsonl"
tail -n +9 "$fx/input.jsonl" > "$tmp/b.jsonl"
"$WF_BIN" extract -i "$tmp/a.jsonl" "$tmp/b.jsonl" -o "$tmp/split.jsonl" > /dev/null
check "two files" diff "$fx/expected.jsonl" "$tmp/split.jsonl"

# Each sample id once, as the daemon's store keeps it: the input read twice
# gives the same samples; a thumbs-down after "thanks, that works" replaces
# the implicit label (written once, explicit, label 1).
"$WF_BIN" extract -i "$fx/input.jsonl" "$fx/input.jsonl" -o "$tmp/twice.jsonl" > /dev/null 2>&1
check "replay written once" diff "$fx/expected.jsonl" "$tmp/twice.jsonl"
"$WF_BIN" extract -i "$fx/explicit_after.jsonl" -o "$tmp/explicit.jsonl" > /dev/null 2> "$tmp/log"
check "explicit replaces: one line" test "$(wc -l < "$tmp/explicit.jsonl")" -eq 1
check "explicit replaces: label" grep -q '"id":"c1_turn0".*"label":1,"annotation":1,"source":"explicit"' \
    "$tmp/explicit.jsonl"
check "explicit replaces: counted" grep -q 'written=1 replaced=1 kept_earlier=0' "$tmp/log"

# A record over the size limit is counted, the run goes on.
"$WF_BIN" extract -i "$fx/input.jsonl" -o "$tmp/small.jsonl" --report json \
    --set input.max_record_bytes=400 > "$tmp/small.json"
check "too_large counted" grep -q '"too_large":[1-9]' "$tmp/small.json"

# Exit statuses: 1 for an unreadable file, 2 for bad arguments.
set +e
"$WF_BIN" extract -i "$tmp/missing.jsonl" > /dev/null 2> "$tmp/err"
check "missing file status" test $? -eq 1
check "missing file message" grep -q "missing.jsonl" "$tmp/err"
"$WF_BIN" extract > /dev/null 2>&1
check "no input status" test $? -eq 2
"$WF_BIN" extract -i "$fx/input.jsonl" --report xml > /dev/null 2>&1
check "bad report status" test $? -eq 2
"$WF_BIN" extract -i "$fx/input.jsonl" --set filter.nope=1 > /dev/null 2> "$tmp/err"
check "unknown key status" test $? -eq 2
check "unknown key named" grep -q "filter.nope" "$tmp/err"
set -e
cli_finish
