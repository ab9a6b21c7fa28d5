# Helpers shared by the integration tests (sourced, not run: only *.sh files
# are tests). A test calls wf_setup first; everything it starts in the
# background is killed and its temporary directory removed when it exits.
#
# Environment (set by CTest): WF_BIN (the wildfeed binary), WF_TOOLS (dir of
# wf-kafka_tool), WF_FIXTURES (tests/fixtures).

: "${WF_BIN:?WF_BIN must name the wildfeed binary}"
: "${WF_TOOLS:?WF_TOOLS must name the directory holding wf-kafka_tool}"
: "${WF_FIXTURES:?WF_FIXTURES must name tests/fixtures}"

KAFKA_TOOL="$WF_TOOLS/wf-kafka_tool"
WF_PIDS=()  # background processes to kill at exit
WF_FAILED=0 # checks that failed so far

wf_cleanup() {
    local status=$?
    local pid mock_status=0
    if [ -n "${MOCK_PID:-}" ] && ! kill -0 "$MOCK_PID" 2>/dev/null; then
        wait "$MOCK_PID" 2>/dev/null || mock_status=$?
        echo "FAIL: the mock cluster (pid $MOCK_PID) died during the test, status $mock_status" >&2
        [ "$status" -ne 0 ] || status=1
    fi
    for pid in "${WF_PIDS[@]}"; do
        pkill -KILL -P "$pid" 2>/dev/null || true # a producer loop's current child
        kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in "${WF_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    exec 3>&-
    if [ "$status" -ne 0 ] && [ -n "${WF_TMP:-}" ]; then
        echo "--- logs of the failed run (last lines of each) ---" >&2
        local f
        for f in "$WF_TMP"/*.log; do
            [ -f "$f" ] || continue
            echo "--- $f" >&2
            tail -n 25 "$f" >&2
        done
    fi
    [ -n "${WF_TMP:-}" ] && rm -rf "$WF_TMP"
    exit "$status"
}

wf_setup() {
    WF_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wf-integration.XXXXXX")
    trap wf_cleanup EXIT
    trap 'exit 130' INT TERM
}

wf_fail() {
    echo "FAIL: $*" >&2
    WF_FAILED=$((WF_FAILED + 1))
}

wf_die() {
    echo "FAIL: $*" >&2
    exit 1
}

# wf_mock_start [mock args]: runs the mock cluster in its own process; sets
# BOOT to its bootstrap address and opens fd 3 for its fault commands.
wf_mock_start() {
    mkfifo "$WF_TMP/mock.ctl"
    "$KAFKA_TOOL" mock "$@" <"$WF_TMP/mock.ctl" >"$WF_TMP/mock.boot" 2>"$WF_TMP/mock.log" &
    MOCK_PID=$!
    WF_PIDS+=("$MOCK_PID")
    exec 3>"$WF_TMP/mock.ctl"
    local i
    for i in $(seq 100); do
        if [ -s "$WF_TMP/mock.boot" ]; then
            BOOT=$(head -n 1 "$WF_TMP/mock.boot")
            return 0
        fi
        sleep 0.1
    done
    wf_die "mock cluster did not start"
}

# wf_fault COMMAND: one fault-injection command to the mock cluster.
wf_fault() {
    echo "$*" >&3
}

# wf_produce TOPIC KEY_FIELD FILE
wf_produce() {
    "$KAFKA_TOOL" produce --bootstrap "$BOOT" --topic "$1" --key-field "$2" "$3" \
        2>>"$WF_TMP/produce.log" || wf_die "producing $3 to $1 failed"
}

# wf_daemon_start NAME STORE TOPIC [--set k=v]...: `wildfeed run` in the
# background against the mock cluster; sets DAEMON_PID. Logs to NAME.log.
#
# Session timeout: a member that leaves is not forgotten at once by the mock
# cluster of librdkafka 2.0.2 (the LeaveGroup goes out with an empty member
# id), and a killed one stays until its session times out, so the next member
# waits for that timeout (45 s by default). The mock coordinator also delays a
# group's first join by 3 s, and a session timeout at or below that never lets
# a member in: 3.5 s is the shortest that works.
#
# Several daemons run at once: each serves on an ephemeral port and keeps its
# model registry beside its store; the trainer is off (these tests are about
# ingest, and a training run would only compete for the CPU).
wf_daemon_start() {
    local name=$1
    shift
    wf_daemon_args "$@"
    "$WF_BIN" run "${WF_DAEMON_ARGS[@]}" >>"$WF_TMP/$name.log" 2>&1 &
    DAEMON_PID=$!
    WF_PIDS+=("$DAEMON_PID")
}

# wf_daemon_args STORE TOPIC [--set k=v]...: wf_daemon_start's arguments to
# `wildfeed run`, in WF_DAEMON_ARGS, for a test that runs it otherwise.
wf_daemon_args() {
    local store=$1 topic=$2
    shift 2
    WF_DAEMON_ARGS=(--set "kafka.bootstrap.servers=$BOOT" --set kafka.auto.offset.reset=earliest
        --set "kafka.group.id=${WF_GROUP:-wf-it}" --set "source.topics=$topic"
        --set "store.path=$store" --set store.commit_interval_ms=200
        --set kafka.session.timeout.ms=3500 --set kafka.heartbeat.interval.ms=500
        --set server.listen=127.0.0.1:0 --set "model.dir=$store.models" --set train.enabled=false
        --set log.level=info "$@")
}

# wf_assignments NAME: how many times the daemon(s) logging to NAME.log got
# partitions assigned.
wf_assignments() {
    local n
    n=$(grep -c 'msg="partitions assigned"' "$WF_TMP/$1.log" 2>/dev/null) || true
    echo "${n:-0}"
}

# wf_wait_assigned NAME BEFORE: waits up to 20 s for NAME.log to show more
# than BEFORE assignments; fails the test otherwise.
wf_wait_assigned() {
    local i
    for i in $(seq 200); do
        [ "$(wf_assignments "$1")" -gt "$2" ] && return 0
        sleep 0.1
    done
    wf_fail "$1: no partitions assigned within 20 s"
}

# wf_daemon_stop PID: SIGTERM and wait; fails the test when the daemon does
# not exit by itself within 30 s or exits with an error.
wf_daemon_stop() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        wf_fail "daemon $pid did not stop within 30 s of SIGTERM"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    local status=0
    wait "$pid" || status=$?
    [ "$status" -eq 0 ] || wf_fail "daemon $pid exited with status $status after SIGTERM"
}

# wf_export STORE: the store's samples, one JSON line each, on stdout.
wf_export() {
    "$WF_BIN" export --set "store.path=$1" 2>>"$WF_TMP/export.log"
}

# wf_triples: WildFB JSONL on stdin -> "id label source" per line, sorted by
# id, one per id: where the input joins several stores' exports (a consumer
# group's members) an id may come more than once, and the one kept is the
# one a single store would keep (explicit outranks refusal, which outranks
# the rest; an equal rank replaces).
wf_triples() {
    sed -E 's/^\{"id":"([^"]*)".*,"label":([0-9]),"annotation":[0-9],"source":"([a-z]+)".*$/\1 \2 \3/' |
        awk '
        function rank(src) { return src == "explicit" ? 2 : src == "refusal" ? 1 : 0 }
        NF != 3 { print "unparsable sample line: " $0 > "/dev/stderr"; exit 1 }
        !($1 in label) || rank($3) >= rank(source[$1]) { label[$1] = $2; source[$1] = $3 }
        END { for (id in label) print id, label[id], source[id] }' |
        LC_ALL=C sort
}

# wf_extract_triples FILE [--set k=v]...: what `wildfeed extract` makes of FILE.
wf_extract_triples() {
    local file=$1
    shift
    "$WF_BIN" extract -i "$file" "$@" 2>>"$WF_TMP/extract.log" | wf_triples
}

# wf_wait_count STORE WANT TIMEOUT_S: waits until the store holds WANT
# samples and that count has not changed for a second. Returns 1 on timeout.
wf_wait_count() {
    local store=$1 want=$2 timeout=$3 n=-1 last=-2 start=$SECONDS
    while [ $((SECONDS - start)) -lt "$timeout" ]; do
        if [ -f "$store" ]; then
            n=$(wf_export "$store" | wc -l)
            if [ "$n" -eq "$want" ] && [ "$n" -eq "$last" ]; then
                return 0
            fi
            last=$n
        fi
        sleep 1
    done
    echo "store $store: $n samples after ${timeout}s, expected $want" >&2
    return 1
}

# wf_same NAME EXPECTED ACTUAL: the two triple files are equal and non-empty.
wf_same() {
    local name=$1 want=$2 got=$3
    if [ ! -s "$want" ]; then
        wf_fail "$name: the expected sample set is empty"
    elif ! diff -u "$want" "$got" >"$WF_TMP/$name.diff"; then
        wf_fail "$name: samples differ from extract's (- extract, + daemon):"
        head -n 40 "$WF_TMP/$name.diff" >&2
    else
        echo "ok: $name: $(wc -l <"$want") samples equal to extract's"
    fi
}

wf_finish() {
    if [ "$WF_FAILED" -ne 0 ]; then
        echo "$WF_FAILED check(s) failed" >&2
        exit 1
    fi
    echo "all checks passed"
}
