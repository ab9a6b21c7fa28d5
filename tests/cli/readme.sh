#!/bin/bash
# The README's configuration reference is exactly `wildfeed config --keys`, and
# the README shows the two set-up commands.
set -euo pipefail
readme="$WF_SOURCE/README.md"
grep -q '^make demo' "$readme"
grep -q '^make test' "$readme"
expected=$("$WF_BIN" config --keys)
actual=$(sed -n '/<!-- config:begin -->/,/<!-- config:end -->/p' "$readme" | sed '1d;$d')
if [ "$expected" != "$actual" ]; then
    echo "README.md's configuration reference is stale; regenerate it between the" >&2
    echo "config:begin/end markers with: wildfeed config --keys" >&2
    diff <(echo "$expected") <(echo "$actual") >&2 || true
    exit 1
fi
echo "1 passed, 0 failed"
