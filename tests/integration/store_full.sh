#!/bin/bash
# The store fails in the middle of a run: the disk fills up while the daemon
# is consuming (a file size limit, RLIMIT_FSIZE, with SIGXFSZ ignored so that
# SQLite's writes past it fail with EFBIG). The batch whose commit fails is
# not committed and its messages' offsets are not stored: the daemon stops
# with a non-zero status and an error naming the store, the store is still a
# valid database holding what committed before, and a restart without the
# limit ends with exactly the samples of a fault-free run of the same events:
# none lost, none duplicated.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
wf_setup

store="$WF_TMP/store.db"
ref="$WF_TMP/ref.db"
margin_kb=${WF_MARGIN_KB:-256} # the limit: the store after phase A, plus this
# Small batches (of messages): several commits of phase B pass before one
# reaches the limit.
batch=(--set store.batch_max=50)

# copies FROM TO: the mixed fixture (message events and explicit feedback)
# once per r in FROM..TO under distinct conversation ids, one copy after the
# other: when the fault comes, the conversations of earlier copies are
# complete, those of the copy being consumed open (the fixture interleaves
# its conversations), later ones not begun. Every event has a fixed
# timestamp, so that a sample's created_at does not depend on when it was
# consumed.
copies() {
    awk -v from="$1" -v to="$2" '
        { line[NR] = $0 }
        END {
            for (r = from; r <= to; r++)
                for (i = 1; i <= NR; i++) {
                    l = line[i]
                    sub(/"conversation_id":"[^"]*/, "&-r" r, l)
                    sub(/^\{/, "{\"timestamp\":" (1767225600 + 1000 * r + i) ",", l)
                    print l
                }
        }' "$WF_FIXTURES/integration/feedback_mixed.jsonl"
}

# Phase A commits freely; phase B, five times as much, is consumed under the
# limit, and its writes must pass it: its samples alone take more room than
# the whole store after phase A.
copies 1 4 >"$WF_TMP/a.jsonl"
copies 5 24 >"$WF_TMP/b.jsonl"
cat "$WF_TMP/a.jsonl" "$WF_TMP/b.jsonl" >"$WF_TMP/all.jsonl"
wf_extract_triples "$WF_TMP/a.jsonl" >"$WF_TMP/a.want"
wf_extract_triples "$WF_TMP/all.jsonl" >"$WF_TMP/all.want"
want_a=$(wc -l <"$WF_TMP/a.want")
want=$(wc -l <"$WF_TMP/all.want")
echo "phase A: $(wc -l <"$WF_TMP/a.jsonl") events, $want_a samples;" \
    "both phases: $(wc -l <"$WF_TMP/all.jsonl") events, $want samples"

# run_limited NAME STORE LIMIT_KB: `wildfeed run` with wf_daemon_start's
# settings, in the foreground (at most 180 s), writing no file past LIMIT_KB
# KiB; its exit status in RUN_STATUS. The log goes to NAME.log through a pipe:
# written there directly, it would be subject to the limit too.
run_limited() {
    local name=$1 db=$2 limit_kb=$3
    set +e
    # A long drain deadline: a failed daemon must not wait it out.
    wf_daemon_args "$db" chat "${batch[@]}" --set source.drain_deadline_ms=120000
    (
        trap '' XFSZ
        ulimit -f "$limit_kb"
        exec timeout 180 "$WF_BIN" run "${WF_DAEMON_ARGS[@]}"
    ) 2>&1 | cat >>"$WF_TMP/$name.log"
    RUN_STATUS=${PIPESTATUS[0]}
    set -e
}

wf_mock_start --brokers 1 --topic chat --partitions 3
wf_produce chat conversation_id "$WF_TMP/a.jsonl"

# The reference: a fault-free run of both phases, in a group of its own.
WF_GROUP=wf-ref wf_daemon_start ref "$ref" chat "${batch[@]}"
ref_pid=$DAEMON_PID

# Phase A, without a limit; a clean stop leaves the store without a WAL.
export WF_GROUP=wf-fault
wf_daemon_start first "$store" chat "${batch[@]}"
wf_wait_count "$store" "$want_a" 60 || wf_die "phase A did not reach $want_a samples"
wf_daemon_stop "$DAEMON_PID"
size=$(stat -c %s "$store")
[ ! -e "$store-wal" ] || size=$((size + $(stat -c %s "$store-wal")))
limit_kb=$(((size + 1023) / 1024 + margin_kb))
echo "phase A: $want_a samples in $((size / 1024)) KiB; phase B runs with files limited to $limit_kb KiB"

# Phase B under the limit: the daemon must fail part-way and say why.
wf_produce chat conversation_id "$WF_TMP/b.jsonl"
start=$SECONDS
run_limited full "$store" "$limit_kb"
took=$((SECONDS - start))
echo "the limited run exited with status $RUN_STATUS after $took s"
[ "$took" -lt 60 ] ||
    wf_fail "the failed daemon took $took s to exit: it waited for messages that cannot finish"
if [ "$RUN_STATUS" -eq 0 ] || [ "$RUN_STATUS" -eq 124 ] || [ "$RUN_STATUS" -gt 128 ]; then
    wf_fail "the limited run exited with status $RUN_STATUS, expected an error exit (1)"
fi
[ "$(wf_assignments full)" -gt 0 ] ||
    wf_fail "the limited run failed before it was assigned partitions (a start-up failure)"
grep -q 'msg="daemon stopping on error"' "$WF_TMP/full.log" ||
    wf_fail "the limited run did not log 'daemon stopping on error'"
errline=$(grep -F "wildfeed: store $store:" "$WF_TMP/full.log" | tail -n 1) || true
if [ -z "$errline" ]; then
    wf_fail "the limited run's last error does not name the store $store"
elif ! grep -qE 'database or disk is full|disk I/O error' <<<"$errline"; then
    wf_fail "the limited run's error does not name the write failure: $errline"
else
    echo "ok: limited run: $errline"
fi

# The fault left a valid database (quick_check passes, export works) holding
# phase A and part of phase B: the batches that committed before the fault.
if ! "$WF_BIN" export --set "store.path=$store" --set store.quick_check=true \
    >"$WF_TMP/fault.jsonl" 2>"$WF_TMP/fault-export.log"; then
    wf_fail "the store cannot be exported after the fault: $(cat "$WF_TMP/fault-export.log")"
fi
n_fault=$(wc -l <"$WF_TMP/fault.jsonl")
echo "after the fault: $n_fault samples stored (phase A $want_a, all $want)"
if [ "$n_fault" -lt "$want_a" ]; then
    wf_fail "the fault lost samples committed before it: $n_fault < $want_a"
elif [ "$n_fault" -eq "$want_a" ]; then
    wf_fail "no batch of phase B committed before the fault: it did not come part-way"
fi
[ "$n_fault" -lt "$want" ] || wf_fail "the limit did not stop the run: $n_fault samples of $want"

# The reference is complete and what extract makes of the same events.
wf_wait_count "$ref" "$want" 60 || wf_fail "the reference run did not reach $want samples"
wf_daemon_stop "$ref_pid"
wf_export "$ref" >"$WF_TMP/ref.jsonl"
wf_triples <"$WF_TMP/ref.jsonl" >"$WF_TMP/ref.got"
wf_same reference "$WF_TMP/all.want" "$WF_TMP/ref.got"

# Every sample stored before the fault is the reference's sample of that id,
# but for one difference a prefix of the events explains: a sample that a
# later explicit rating (not yet committed) replaces in the reference.
awk -v bad="$WF_TMP/prefix.bad" '
    function id(l) { return l ~ /^\{"id":"[^"]*"/ ? substr(l, 8, index(substr(l, 8), "\"") - 1) : "" }
    function source(l) { return match(l, /,"source":"[a-z]+"/) ? substr(l, RSTART + 11, RLENGTH - 12) : "" }
    NR == FNR { ref[id($0)] = $0; next }
    { k = id($0) }
    k == "" || !(k in ref) { print "not in the reference: " substr($0, 1, 120) > bad; next }
    ref[k] == $0 { same++; next }
    source(ref[k]) == "explicit" && source($0) != "explicit" { superseded++; next }
    { print "differs from the reference: " k > bad }
    END { printf "%d identical to the reference, %d rated later\n", same, superseded }
' "$WF_TMP/ref.jsonl" "$WF_TMP/fault.jsonl" >"$WF_TMP/prefix.out"
if [ -s "$WF_TMP/prefix.bad" ]; then
    wf_fail "samples stored before the fault are not the reference's:"
    head -n 10 "$WF_TMP/prefix.bad" >&2
else
    echo "ok: after the fault: $(cat "$WF_TMP/prefix.out")"
fi

# The restart without the limit replays what did not commit.
wf_daemon_start restart "$store" chat "${batch[@]}"
wf_wait_count "$store" "$want" 60 || wf_fail "the restart did not reach $want samples"
wf_daemon_stop "$DAEMON_PID"
wf_export "$store" >"$WF_TMP/final.jsonl"
n_final=$(wc -l <"$WF_TMP/final.jsonl")
dups=$(sed -E 's/^\{"id":"([^"]*)".*/\1/' "$WF_TMP/final.jsonl" | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || wf_fail "$dups sample ids exported more than once"
[ "$n_final" -eq "$want" ] || wf_fail "the restart ended with $n_final samples, the reference has $want"
if cmp -s "$WF_TMP/ref.jsonl" "$WF_TMP/final.jsonl"; then
    echo "ok: after the restart: the export is identical to the reference's ($n_final samples)"
else
    wf_fail "after the restart the export differs from the reference's (- reference, + restart):"
    diff "$WF_TMP/ref.jsonl" "$WF_TMP/final.jsonl" | cut -c 1-200 | head -n 20 >&2
fi
wf_finish
