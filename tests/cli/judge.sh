#!/bin/bash
# `wildfeed judge`: one verdict line per candidate, filters off (the URL and
# refusal turns that extract drops are judged here), bad records skipped
# with a message, and the exit statuses.
set -euo pipefail
fx="$WF_FIXTURES/extract"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$WF_BIN" judge -i "$fx/input.jsonl" > "$tmp/out" 2> "$tmp/err"
diff "$fx/expected_judge.jsonl" "$tmp/out"
test "$(grep -c 'skipped a record' "$tmp/err")" -eq 4
grep -q '"id":"s-url_turn0"' "$tmp/out"
set +e
"$WF_BIN" judge > /dev/null 2>&1
test $? -eq 2 || exit 1
"$WF_BIN" judge -i "$tmp/nope" > /dev/null 2>&1
test $? -eq 1 || exit 1
"$WF_BIN" judge -i "$fx/input.jsonl" --judge nope > /dev/null 2>&1
test $? -eq 2 || exit 1
echo "6 passed, 0 failed"
