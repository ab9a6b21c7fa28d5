#!/bin/bash
# wildfeed tokenize on the hand-written fixture tokenizer: exact ids, stdin
# and -i, and the exit statuses and messages of bad input.
set -u
source "$(dirname "$0")/lib.bash"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tok=$WF_FIXTURES/tokenizer/tokenizer.json

printf '%s\n' '"hello world"' '""' '"<sep><sep><sep>"' '"e\u0301\u4e2d\n"' >"$tmp/texts"
printf '%s\n' '[259,265]' '[]' '[302,301]' '[195,169,269,10]' >"$tmp/want"

"$WF_BIN" tokenize --tokenizer "$tok" -i "$tmp/texts" >"$tmp/out" 2>"$tmp/err"
check "-i: exit 0" [ $? -eq 0 ]
check "-i: one id array per line" cmp -s "$tmp/out" "$tmp/want"

"$WF_BIN" tokenize --tokenizer "$tok" <"$tmp/texts" >"$tmp/out" 2>"$tmp/err"
check "stdin: exit 0" [ $? -eq 0 ]
check "stdin: same ids" cmp -s "$tmp/out" "$tmp/want"

printf '%s\n' '"ok"' '42' >"$tmp/bad"
"$WF_BIN" tokenize --tokenizer "$tok" -i "$tmp/bad" >"$tmp/out" 2>"$tmp/err"
check "non-string line: exit 1" [ $? -eq 1 ]
check "non-string line: lines before it printed" [ "$(cat "$tmp/out")" = "[111,107]" ]
check "non-string line: named" has "$tmp/bad: line 2: not a JSON string" "$tmp/err"

"$WF_BIN" tokenize --tokenizer "$tmp/missing.json" </dev/null >"$tmp/out" 2>"$tmp/err"
check "missing tokenizer: exit 1" [ $? -eq 1 ]
check "missing tokenizer: named" has "missing.json" "$tmp/err"

"$WF_BIN" tokenize </dev/null >"$tmp/out" 2>"$tmp/err"
check "no --tokenizer: exit 2" [ $? -eq 2 ]
check "no --tokenizer: usage" has "usage: wildfeed tokenize" "$tmp/err"

"$WF_BIN" tokenize --help >"$tmp/out"
check "--help: usage on stdout" has "--tokenizer FILE" "$tmp/out"

cli_finish
