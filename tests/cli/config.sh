#!/bin/bash
# wildfeed config: --print with -c and --set, errors naming the key, --keys.
set -u
source "$(dirname "$0")/lib.bash"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Defaults
"$WF_BIN" config --print >"$tmp/default.json" 2>"$tmp/err"
check "--print exits 0" test $? -eq 0
check "--print writes nothing to stderr" test ! -s "$tmp/err"
check "default log.level" has_line '    "level": "info"' "$tmp/default.json"
check "default store.path" has_line '    "path": "wildfeed.db",' "$tmp/default.json"
check "default kafka group" has_line '    "group.id": "wildfeed"' "$tmp/default.json"
check "default topics" grep -Fzq '"topics": [
      "chat.logs"
    ]' "$tmp/default.json"
check "dump starts with the first sorted section" test "$(head -2 "$tmp/default.json")" = '{
  "filter": {'

# -c FILE and --set (the override wins even when it comes first)
"$WF_BIN" config --set log.level=warn --print -c "$WF_FIXTURES/config/nested.json" \
    --set source.topics=x,y --set kafka.bootstrap.servers=k:1 >"$tmp/set.json"
check "-c/--set exit 0" test $? -eq 0
check "--set beats the file" has_line '    "level": "warn"' "$tmp/set.json"
check "file value kept" has_line '    "format": "json",' "$tmp/set.json"
check "list from --set" grep -Fzq '"topics": [
      "x",
      "y"
    ]' "$tmp/set.json"
check "kafka from --set" has_line '    "bootstrap.servers": "k:1",' "$tmp/set.json"
check "kafka from file" has_line '    "session.timeout.ms": "6000"' "$tmp/set.json"

# The dump is itself a valid configuration file that reproduces the dump.
"$WF_BIN" config --print -c "$tmp/set.json" >"$tmp/again.json"
check "dump round trip" cmp -s "$tmp/set.json" "$tmp/again.json"

# Errors: exit 2 and the key named on stderr
"$WF_BIN" config --print --set log.levle=debug >"$tmp/out" 2>"$tmp/err"
check "unknown key exits 2" test $? -eq 2
check "unknown key named" has_line "wildfeed: unknown configuration key 'log.levle'" "$tmp/err"
check "nothing printed on error" test ! -s "$tmp/out"

"$WF_BIN" config --print --set session.max_messages=1 2>"$tmp/err" >/dev/null
check "out of range exits 2" test $? -eq 2
check "out of range named" has_line "wildfeed: configuration key 'session.max_messages': expected integer in [2, 10000], got 1" "$tmp/err"

"$WF_BIN" config --print -c "$WF_FIXTURES/config/unknown.json" 2>"$tmp/err" >/dev/null
check "unknown key in file exits 2" test $? -eq 2
check "file and key named" has_line "wildfeed: $WF_FIXTURES/config/unknown.json: unknown configuration key 'log.levle'" "$tmp/err"

"$WF_BIN" config --print -c "$tmp/missing.json" 2>"$tmp/err" >/dev/null
check "missing file exits 2" test $? -eq 2
check "missing file named" grep -Fq "wildfeed: cannot read configuration file '$tmp/missing.json'" "$tmp/err"

"$WF_BIN" config --print -c 2>"$tmp/err" >/dev/null
check "-c without a file exits 2" test $? -eq 2

"$WF_BIN" config --frobnicate 2>"$tmp/err" >/dev/null
check "unknown argument exits 2" test $? -eq 2

# --keys: a Markdown table with one row per key
"$WF_BIN" config --keys >"$tmp/keys.md"
check "--keys exits 0" test $? -eq 0
check "--keys header" test "$(head -2 "$tmp/keys.md")" = '| key | type | default | meaning |
|---|---|---|---|'
check "--keys row for store.path" grep -q '^| `store.path` | string | `"wildfeed.db"` | .* |$' "$tmp/keys.md"
check "--keys escapes enum bars" grep -Fq '| `judge.kind` | one of rules\|llm\|cascade | `"rules"` |' "$tmp/keys.md"
for key in source.topics source.dlq_topic kafka.group.id input.shape store.path judge.kind \
    model.kind model.dir train.min_new_samples train.interval_s server.listen \
    server.admin_token_file log.level log.format; do
    check "--keys lists $key" grep -q "^| \`$key\` |" "$tmp/keys.md"
done
# Every row has exactly five unescaped bars, i.e. four cells.
check "every row has four cells" test -z "$(awk '{ s = $0; gsub(/\\\|/, "", s); if (gsub(/\|/, "", s) != 5) print }' "$tmp/keys.md")"
check "at least 50 key rows" test "$(grep -c '^| `' "$tmp/keys.md")" -ge 50

# The frame: help, version, unknown command
"$WF_BIN" --help >"$tmp/help"
check "--help exits 0" test $? -eq 0
check "--help lists config" grep -q '^  config ' "$tmp/help"
"$WF_BIN" >/dev/null 2>&1
check "no arguments exits 2" test $? -eq 2
"$WF_BIN" frobnicate >/dev/null 2>"$tmp/err"
check "unknown command exits 2" test $? -eq 2
check "unknown command named" has_line "wildfeed: unknown command 'frobnicate'" "$tmp/err"
check "--version" grep -Eq '^wildfeed [0-9]+\.[0-9]+\.[0-9]+$' <("$WF_BIN" --version)

cli_finish
