#!/bin/bash
# wildfeed export: exit statuses and messages for good and bad stores; the
# exact JSONL is checked by tests/unit/test_store_export.c.
set -u
source "$(dirname "$0")/lib.bash"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# An empty file is an empty SQLite database: the export is empty, and the
# file now carries the schema.
: >"$tmp/empty.db"
"$WF_BIN" export --set store.path="$tmp/empty.db" >"$tmp/out" 2>"$tmp/err"
check "empty store exits 0" test $? -eq 0
check "empty store writes no lines" test ! -s "$tmp/out"
check "empty store reports the count" has "exported 0 samples" "$tmp/err"
check "the file became a store" test -s "$tmp/empty.db"

"$WF_BIN" export --set store.path="$tmp/empty.db" --split eval -o "$tmp/eval.jsonl" 2>"$tmp/err"
check "-o exits 0" test $? -eq 0
check "-o writes the file" test -f "$tmp/eval.jsonl"
check "-o leaves no temporary file" test ! -e "$tmp/eval.jsonl.tmp"

# A missing store is not created by an export.
"$WF_BIN" export --set store.path="$tmp/missing.db" >"$tmp/out" 2>"$tmp/err"
check "missing store exits 1" test $? -eq 1
check "missing store named" has "store $tmp/missing.db: No such file or directory" "$tmp/err"
check "missing store not created" test ! -e "$tmp/missing.db"

printf 'this is not a database, only text\n%.0s' {1..200} >"$tmp/junk.db"
"$WF_BIN" export --set store.path="$tmp/junk.db" >"$tmp/out" 2>"$tmp/err"
check "junk file exits 1" test $? -eq 1
check "junk file named" has "store $tmp/junk.db: not a SQLite database" "$tmp/err"

"$WF_BIN" export --set store.path="$tmp/empty.db" -o "$tmp/nodir/x.jsonl" 2>"$tmp/err"
check "unwritable output exits 1" test $? -eq 1
check "unwritable output named" has "$tmp/nodir/x.jsonl.tmp: cannot create" "$tmp/err"

"$WF_BIN" export --split test 2>"$tmp/err"
check "unknown split exits 2" test $? -eq 2
check "unknown split prints usage" has "usage: wildfeed export" "$tmp/err"

"$WF_BIN" export --set store.synchronous=sometimes 2>"$tmp/err"
check "bad key value exits 2" test $? -eq 2
check "bad key value named" has "store.synchronous" "$tmp/err"

"$WF_BIN" export --help >"$tmp/out"
check "--help exits 0" test $? -eq 0
check "--help prints usage" has "usage: wildfeed export" "$tmp/out"

cli_finish
