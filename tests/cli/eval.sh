#!/bin/bash
# wildfeed eval through the binary: dispatch, usage and exit statuses; the
# evaluation itself, with a trained model, is checked by
# tests/unit/test_cli_eval.c.
set -u
source "$(dirname "$0")/lib.bash"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$WF_BIN" eval --help >"$tmp/out"
check "--help exits 0" test $? -eq 0
check "--help prints usage" has "usage: wildfeed eval [--model DIR]" "$tmp/out"
"$WF_BIN" --help >"$tmp/out"
check "the command list names eval" has "  eval      print a model's metrics" "$tmp/out"

"$WF_BIN" eval --format yaml 2>"$tmp/err"
check "bad --format exits 2" test $? -eq 2
check "bad --format prints usage" has "usage: wildfeed eval" "$tmp/err"
"$WF_BIN" eval -i "$WF_FIXTURES/eval/wildfb.jsonl" --split train 2>"$tmp/err"
check "-i with --split exits 2" test $? -eq 2
check "-i with --split explained" has "--split and -i exclude each other" "$tmp/err"

"$WF_BIN" eval --set model.dir="$tmp/models" -i "$WF_FIXTURES/eval/wildfb.jsonl" \
    >"$tmp/out" 2>"$tmp/err"
check "no active model exits 1" test $? -eq 1
check "no active model named" has "no active model: $tmp/models/CURRENT" "$tmp/err"
check "nothing printed on stdout" test ! -s "$tmp/out"

mkdir -p "$tmp/models/v1"
echo v1 >"$tmp/models/CURRENT"
"$WF_BIN" eval --set model.dir="$tmp/models" --set store.path="$tmp/none.db" 2>"$tmp/err"
check "model without meta.json exits 1" test $? -eq 1
check "the model folder is named" has "model $tmp/models/v1:" "$tmp/err"
check "missing store not created" test ! -e "$tmp/none.db"

cli_finish
