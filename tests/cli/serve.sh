#!/bin/bash
# `wildfeed serve` on an empty registry: alive (healthz 200), not ready
# (readyz 503, scoring 503), and a clean exit on SIGTERM.
set -euo pipefail
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2> /dev/null; rm -rf "$tmp"' EXIT
port=$((20000 + RANDOM % 20000))
"$WF_BIN" serve --set "server.listen=127.0.0.1:$port" --set "model.dir=$tmp/models" \
    --set "store.path=$tmp/store.db" --set train.enabled=false > "$tmp/log" 2>&1 &
pid=$!
code() { curl -s -o /dev/null -w '%{http_code}' "$@" || true; }
for _ in $(seq 100); do [ "$(code "http://127.0.0.1:$port/healthz")" = 200 ] && break; sleep 0.05; done
pass=0
[ "$(code "http://127.0.0.1:$port/healthz")" = 200 ] && pass=$((pass + 1))
[ "$(code "http://127.0.0.1:$port/readyz")" = 503 ] && pass=$((pass + 1))
[ "$(code -d '{"query":["x"]}' "http://127.0.0.1:$port/get_reward")" = 503 ] && pass=$((pass + 1))
kill -TERM "$pid"
wait "$pid" && pass=$((pass + 1))
pid=""
test "$pass" -eq 4 || { cat "$tmp/log" >&2; exit 1; }
echo "$pass passed, 0 failed"
