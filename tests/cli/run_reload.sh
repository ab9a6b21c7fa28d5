#!/bin/bash
# `wildfeed run`: SIGHUP re-reads the configuration file (the log format
# switches from logfmt to JSON lines at once), a bad file on reload keeps the
# running configuration, and SIGTERM stops the daemon with status 0.
set -euo pipefail
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2> /dev/null; rm -rf "$tmp"' EXIT
printf '{"log": {"format": "logfmt"}}\n' > "$tmp/cfg.json"
"$WF_BIN" run -c "$tmp/cfg.json" --set kafka.bootstrap.servers=127.0.0.1:9 \
    --set "store.path=$tmp/store.db" --set "model.dir=$tmp/models" \
    --set server.listen=127.0.0.1:0 --set train.enabled=false 2> "$tmp/log" &
pid=$!
wait_for() { for _ in $(seq 100); do grep -q "$1" "$tmp/log" && return 0; sleep 0.05; done; return 1; }
pass=0
wait_for 'msg="daemon started"' && pass=$((pass + 1))
printf '{"log": {"format": "json"}}\n' > "$tmp/cfg.json"
kill -HUP "$pid"
wait_for '{"ts":.*"msg":"configuration reloaded"' && pass=$((pass + 1))
printf '{"log": {"format": "yaml"}}\n' > "$tmp/cfg.json"
kill -HUP "$pid"
wait_for 'reload failed' && pass=$((pass + 1))
kill -TERM "$pid"
wait "$pid" && pass=$((pass + 1))
pid=""
grep -q '{"ts":.*"msg":"daemon stopped"' "$tmp/log" && pass=$((pass + 1))
test "$pass" -eq 5 || { cat "$tmp/log" >&2; exit 1; }
echo "$pass passed, 0 failed"
