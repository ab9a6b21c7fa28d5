#!/bin/bash
# `make bench`: builds the benchmarks and runs each on the real data in
# ../shared/data when it is there (benchmarks never run in the test suite).
set -euo pipefail
build=${1:-build}
data=${WF_DATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
if [ ! -f "$data/arena.jsonl" ]; then
    echo "bench: $data/arena.jsonl not found; set WF_DATA to the shared data folder" >&2
    exit 1
fi
for b in "$build"/bench/bench_*; do
    [ -x "$b" ] || continue
    name=$(basename "$b")
    echo "== $name"
    case "$name" in
    bench_feedback_extract) "$b" "$data/arena.jsonl" 20 ;;
    bench_ingest_parse) "$b" "$data/arena.jsonl" 20 ;;
    bench_feedback_similarity | bench_model_linear_score) "$b" "$data/arena.jsonl" ;;
    *) "$b" ;;
    esac
done
