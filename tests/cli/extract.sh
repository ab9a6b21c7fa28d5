#!/bin/bash
# `wildfeed extract` end to end on a fixture: the exact samples, the exact
# per-stage report (throughput aside), the same result from stdin, from a
# gzip file, split over two files and read twice, explicit feedback
# replacing an implicit label, the temporary store's cleanup, and the exit
# statuses.
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
"$WF_BIN" extract -i "$fx/explicit_after.jsonl" -o "$tmp/explicit.jsonl" --report json \
    > "$tmp/explicit.report"
check "explicit replaces: one line" test "$(wc -l < "$tmp/explicit.jsonl")" -eq 1
check "explicit replaces: label" grep -q '"id":"c1_turn0".*"label":1,"annotation":1,"source":"explicit"' \
    "$tmp/explicit.jsonl"
check "explicit replaces: counted" \
    grep -q '"written":{"samples":1,"replaced":1,"kept_earlier":0}}$' "$tmp/explicit.report"

# The temporary store lives under $TMPDIR and is gone after a run that
# succeeded, one that could not open OUT and one stopped by SIGTERM; a run
# that fails (no TMPDIR for the store, a signal) leaves OUT as it was.
mkdir "$tmp/t"
TMPDIR="$tmp/t" "$WF_BIN" extract -i "$fx/input.jsonl" -o "$tmp/t.jsonl" > /dev/null 2>&1
check "temporary store removed" test -z "$(ls -A "$tmp/t")"
st=0
TMPDIR="$tmp/t" "$WF_BIN" extract -i "$fx/input.jsonl" -o "$tmp/no/dir/out.jsonl" \
    > /dev/null 2>&1 || st=$?
check "OUT not writable: status 1" test "$st" -eq 1
check "OUT not writable: temporary store removed" test -z "$(ls -A "$tmp/t")"
echo keep > "$tmp/kept.jsonl"
st=0
TMPDIR="$tmp/none" "$WF_BIN" extract -i "$fx/input.jsonl" -o "$tmp/kept.jsonl" \
    > /dev/null 2> "$tmp/err" || st=$?
check "TMPDIR unusable: status 1" test "$st" -eq 1
check "TMPDIR unusable: named" grep -qF "$tmp/none" "$tmp/err"
check "TMPDIR unusable: OUT untouched" grep -qx keep "$tmp/kept.jsonl"
# A gzip file corrupt past its start fails the run once OUT is open.
cp "$tmp/input.jsonl.gz" "$tmp/bad.gz"
head -c 60 /dev/zero | dd of="$tmp/bad.gz" bs=1 seek=200 conv=notrunc 2> /dev/null
st=0
"$WF_BIN" extract -i "$tmp/bad.gz" -o "$tmp/new.jsonl" > /dev/null 2> "$tmp/err" || st=$?
check "failed run: status 1" test "$st" -eq 1
check "failed run: says why" grep -q "bad.gz: read failed" "$tmp/err"
check "failed run: the OUT it made is gone" test ! -e "$tmp/new.jsonl"
mkfifo "$tmp/fifo"
echo keep > "$tmp/term.jsonl"
# --foreground: timeout passes the signal on once, to extract alone (a second
# one would end it at once, by design).
TMPDIR="$tmp/t" timeout --foreground 60 "$WF_BIN" extract -i "$tmp/fifo" -o "$tmp/term.jsonl" \
    > /dev/null 2> "$tmp/term.err" &
pid=$!
exec 4> "$tmp/fifo"
head -n 8 "$fx/input.jsonl" >&4
for _ in $(seq 100); do [ -n "$(ls -A "$tmp/t")" ] && break; sleep 0.05; done
kill -TERM "$pid"
sleep 0.2
# A read that the signal did not interrupt finds one more record (or, when
# it did, the run is gone and this write fails).
tail -n 1 "$fx/input.jsonl" >&4 2> /dev/null || true
exec 4>&-
st=0
wait "$pid" || st=$?
check "SIGTERM: status 1" test "$st" -eq 1
check "SIGTERM: said" grep -q "wildfeed: interrupted: nothing written" "$tmp/term.err"
check "SIGTERM: OUT as it was" grep -qx keep "$tmp/term.jsonl"
check "SIGTERM: temporary store removed" test -z "$(ls -A "$tmp/t")"

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
