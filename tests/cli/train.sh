#!/bin/bash
# wildfeed train: exit statuses and messages; a training run end to end is
# checked by tests/unit/test_train_trainer.c.
set -u
source "$(dirname "$0")/lib.bash"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# An empty store: the run is skipped, which is no error for cron.
: >"$tmp/empty.db"
"$WF_BIN" train --once --set store.path="$tmp/empty.db" --set model.dir="$tmp/models" \
    >"$tmp/out" 2>"$tmp/err"
check "empty store exits 0" test $? -eq 0
check "empty store is skipped" has "result:  skipped" "$tmp/out"
check "the reason names the key" \
    has "too few samples: 0 in the store (0 in the train split), train.min_samples is 50" "$tmp/out"
check "the registry folder exists" test -d "$tmp/models"
check "no CURRENT without a model" test ! -e "$tmp/models/CURRENT"

"$WF_BIN" train --once --json --set store.path="$tmp/empty.db" --set model.dir="$tmp/models" \
    >"$tmp/out" 2>"$tmp/err"
check "--json exits 0" test $? -eq 0
check "--json prints the outcome" has '{"result":"skipped","version":"","parent":""' "$tmp/out"

# A missing store is an error and is not created.
"$WF_BIN" train --once --set store.path="$tmp/missing.db" >"$tmp/out" 2>"$tmp/err"
check "missing store exits 1" test $? -eq 1
check "missing store named" has "store $tmp/missing.db: No such file or directory" "$tmp/err"
check "missing store not created" test ! -e "$tmp/missing.db"

# A registry that cannot be created is an error.
: >"$tmp/file"
"$WF_BIN" train --once --set store.path="$tmp/empty.db" --set model.dir="$tmp/file/models" \
    >"$tmp/out" 2>"$tmp/err"
check "unusable model.dir exits 1" test $? -eq 1
check "unusable model.dir named" has "registry $tmp/file/models: cannot create" "$tmp/err"

"$WF_BIN" train 2>"$tmp/err"
check "without --once exits 2" test $? -eq 2
check "without --once prints usage" has "usage: wildfeed train --once" "$tmp/err"
"$WF_BIN" train --once --bogus 2>"$tmp/err"
check "unknown option exits 2" test $? -eq 2
"$WF_BIN" train --once --set train.min_samples=0 2>"$tmp/err"
check "bad key value exits 2" test $? -eq 2
check "bad key value named" has "train.min_samples" "$tmp/err"

"$WF_BIN" train --help >"$tmp/out"
check "--help exits 0" test $? -eq 0
check "--help prints usage" has "usage: wildfeed train --once" "$tmp/out"

cli_finish
