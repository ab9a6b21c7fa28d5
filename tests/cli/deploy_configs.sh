#!/bin/bash
# deploy/config/*.json: every example loads with `config --print`, alone and
# (the input-shape examples) under each judge overlay; and the field pointers
# of each input example really read their log shape: the same conversations
# as message events and as snapshots give the same samples, and a gateway log
# whose records carry request ids still deduplicates by conversation.
set -u
source "$(dirname "$0")/lib.bash"
cfg="$WF_SOURCE/deploy/config"
fx="$WF_FIXTURES/deploy"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Loads the files given with -c, in order; the dump goes to $tmp/print.json.
loads() {
    local args=()
    for f in "$@"; do args+=(-c "$f"); done
    "$WF_BIN" config --print "${args[@]}" >"$tmp/print.json" 2>"$tmp/err" && test ! -s "$tmp/err"
}
ids() { sed -n 's/^{"id":"\([^"]*\)".*/\1/p' "$1" | sort -u; }

files=("$cfg"/*.json)
check "five example files" test "${#files[@]}" -eq 5
for f in "${files[@]}"; do
    check "$(basename "$f") loads" loads "$f"
done

# Each input shape with each judge: rules as written, llm and cascade overlays.
for base in message-events snapshots gateway; do
    loads "$cfg/$base.json"
    check "$base: judge rules" has_line '    "kind": "rules",' "$tmp/print.json"
    check "$base: store in the state directory" \
        has_line '    "path": "/var/lib/wildfeed/wildfeed.db",' "$tmp/print.json"
    for judge in llm cascade; do
        check "$base + judge-$judge loads" loads "$cfg/$base.json" "$cfg/judge-$judge.json"
        check "$base + judge-$judge: judge.kind" has_line "    \"kind\": \"$judge\"," "$tmp/print.json"
        check "$base + judge-$judge: endpoint" \
            has_line '      "base_url": "http://vllm:8000/v1",' "$tmp/print.json"
        check "$base + judge-$judge: input kept" grep -Fq "/var/lib/wildfeed/models" "$tmp/print.json"
    done
done
loads "$cfg/message-events.json"
check "message-events: shape" has_line '    "shape": "message"' "$tmp/print.json"
loads "$cfg/gateway.json"
check "gateway: request messages" grep -Fzq '"conversation": [
        "/request/messages"
      ],' "$tmp/print.json"

# The same twelve demo conversations, as snapshots and as message events.
"$WF_BIN" extract -c "$cfg/snapshots.json" -i "$fx/snapshots.jsonl" -o "$tmp/snap.jsonl" \
    >/dev/null 2>&1
check "snapshots: extract exits 0" test $? -eq 0
"$WF_BIN" extract -c "$cfg/message-events.json" -i "$fx/messages.jsonl" -o "$tmp/msg.jsonl" \
    >/dev/null 2>&1
check "message events: extract exits 0" test $? -eq 0
ids "$tmp/snap.jsonl" >"$tmp/snap.ids"
ids "$tmp/msg.jsonl" >"$tmp/msg.ids"
check "snapshots: 8 samples" test "$(wc -l <"$tmp/snap.ids")" -eq 8
check "message events: the same 8 sample ids" cmp -s "$tmp/snap.ids" "$tmp/msg.ids"
check "a known sample id" has_line "demo-004_turn1" "$tmp/msg.ids"

# Gateway records carry a per-request "id": the default pointers would take
# it as the conversation id, so every request would make new samples of the
# same turns. gateway.json ignores it; the id is derived from the opening.
"$WF_BIN" extract -i "$fx/gateway_request_ids.jsonl" -o "$tmp/gw_default.jsonl" >/dev/null 2>&1
"$WF_BIN" extract -c "$cfg/gateway.json" -i "$fx/gateway_request_ids.jsonl" \
    -o "$tmp/gw.jsonl" >/dev/null 2>&1
check "gateway: extract exits 0" test $? -eq 0
ids "$tmp/gw_default.jsonl" >"$tmp/gw_default.ids"
ids "$tmp/gw.jsonl" >"$tmp/gw.ids"
check "gateway, default pointers: request ids leak into sample ids" \
    test "$(grep -c '^chatcmpl-' "$tmp/gw_default.ids")" -eq 58
check "gateway.json: 41 distinct samples" test "$(wc -l <"$tmp/gw.ids")" -eq 41
check "gateway.json: every id derived" test "$(grep -c '^anon-[0-9a-f]\{16\}_turn[0-9]*$' "$tmp/gw.ids")" -eq 41

# Each combination starts the daemon and stops on SIGTERM with status 0. The
# broker is a closed port (the daemon keeps trying), the LLM endpoint is not
# called before a candidate exists, and the server is off, so no port is taken.
starts() { # config files...
    local args=() p i
    for f in "$@"; do args+=(-c "$f"); done
    rm -rf "$tmp/run"
    mkdir "$tmp/run"
    "$WF_BIN" run "${args[@]}" --set "store.path=$tmp/run/wildfeed.db" \
        --set "model.dir=$tmp/run/models" --set server.enabled=false \
        --set server.admin_token_file= --set kafka.bootstrap.servers=127.0.0.1:1 \
        --set log.format=logfmt 2>"$tmp/run/log" &
    p=$!
    for i in $(seq 200); do
        grep -q 'msg="daemon started"' "$tmp/run/log" && break
        kill -0 "$p" 2>/dev/null || break
        sleep 0.05
    done
    kill -TERM "$p" 2>/dev/null
    wait "$p" && grep -q 'msg="daemon stopped"' "$tmp/run/log"
}
for base in message-events snapshots gateway; do
    check "$base: the daemon starts and stops" starts "$cfg/$base.json"
    for judge in llm cascade; do
        check "$base + judge-$judge: the daemon starts and stops" \
            starts "$cfg/$base.json" "$cfg/judge-$judge.json"
    done
done
# The examples name a token file: without it the daemon refuses to start.
timeout 20 "$WF_BIN" run -c "$cfg/message-events.json" --set "store.path=$tmp/run/wildfeed.db" \
    --set "model.dir=$tmp/run/models" --set kafka.bootstrap.servers=127.0.0.1:1 \
    --set server.listen=127.0.0.1:0 >/dev/null 2>"$tmp/err" </dev/null
check "a missing token file stops the start" test $? -ne 0
check "the token file is named" \
    grep -Fq "server.admin_token_file: cannot open /run/secrets/wildfeed-admin-token" "$tmp/err"

cli_finish
