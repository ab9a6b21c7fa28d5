#!/bin/bash
# The store at start-up and across restarts: a store path in a missing
# directory, a directory, or a file that is not a database makes `wildfeed
# run` exit quickly with a non-zero status and a message naming the path,
# without touching the file; and a store survives a restart with its contents
# intact (run, SIGTERM, export; run again on nothing new, export: identical).
set -euo pipefail
source "$(dirname "$0")/lib.bash"
wf_setup

# expect_startup_failure NAME PATH: runs the daemon against PATH (and a broker
# address nobody listens on: the store must fail first).
expect_startup_failure() {
    local name=$1 path=$2 status=0 start=$SECONDS
    timeout 30 "$WF_BIN" run --set "store.path=$path" --set kafka.bootstrap.servers=127.0.0.1:9 \
        >"$WF_TMP/$name.out" 2>&1 || status=$?
    local took=$((SECONDS - start))
    if [ "$status" -eq 0 ] || [ "$status" -eq 124 ]; then
        wf_fail "$name: wildfeed run exited with status $status, expected a start-up error"
    elif ! grep -qF "$path" "$WF_TMP/$name.out"; then
        wf_fail "$name: the error does not name $path:"
        cat "$WF_TMP/$name.out" >&2
    elif [ "$took" -gt 5 ]; then
        wf_fail "$name: the start-up error took ${took}s"
    else
        echo "ok: $name: status $status: $(grep -F "$path" "$WF_TMP/$name.out" | head -n 1)"
    fi
}

expect_startup_failure missing_dir "$WF_TMP/no/such/dir/store.db"
[ ! -e "$WF_TMP/no" ] || wf_fail "missing_dir: the daemon created $WF_TMP/no"

mkdir "$WF_TMP/a-directory"
expect_startup_failure directory "$WF_TMP/a-directory"

garbage="$WF_TMP/garbage.db"
for i in $(seq 200); do echo "this is not an SQLite database, line $i"; done >"$garbage"
cp "$garbage" "$WF_TMP/garbage.orig"
expect_startup_failure garbage "$garbage"
cmp -s "$garbage" "$WF_TMP/garbage.orig" || wf_fail "garbage: the file was modified"

# Survival across restarts.
store="$WF_TMP/store.db"
wf_extract_triples "$WF_FIXTURES/integration/messages.jsonl" >"$WF_TMP/want"
wf_mock_start --brokers 1 --topic chat --partitions 3
wf_produce chat conversation_id "$WF_FIXTURES/integration/messages.jsonl"
wf_daemon_start first "$store" chat
wf_wait_count "$store" "$(wc -l <"$WF_TMP/want")" 60 || wf_fail "the first run did not finish"
wf_daemon_stop "$DAEMON_PID"
wf_export "$store" >"$WF_TMP/first.jsonl"
wf_triples <"$WF_TMP/first.jsonl" >"$WF_TMP/got"
wf_same first_run "$WF_TMP/want" "$WF_TMP/got"

wf_daemon_start second "$store" chat
wf_wait_assigned second 0
sleep 2
wf_daemon_stop "$DAEMON_PID"
wf_export "$store" >"$WF_TMP/second.jsonl"
if cmp -s "$WF_TMP/first.jsonl" "$WF_TMP/second.jsonl"; then
    echo "ok: restart: the export after the second run is identical ($(wc -l <"$WF_TMP/second.jsonl") samples)"
else
    wf_fail "restart: the export changed across a restart with nothing new"
    diff "$WF_TMP/first.jsonl" "$WF_TMP/second.jsonl" | head -n 10 >&2
fi
wf_finish
