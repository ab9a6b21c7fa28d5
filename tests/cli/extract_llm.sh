#!/bin/bash
# `extract --judge llm|cascade` against the OpenAI-compatible stub (a real
# HTTP server on loopback): the levels it answers, refusal validation (a
# correct refusal is a 5, a false refusal a 1, a non-refusal keeps its
# label), and the cascade keeping rules' confident verdicts. The stub reads
# "#level=N" and "#refusal=KIND" markers in the texts it is sent.
set -euo pipefail
fx="$WF_FIXTURES/llm"
tmp=$(mktemp -d)
stub_pid=""
cleanup() {
    [ -n "$stub_pid" ] && kill "$stub_pid" 2> /dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
"$WF_STUB" > "$tmp/url" 2> /dev/null &
stub_pid=$!
for _ in $(seq 100); do [ -s "$tmp/url" ] && break; sleep 0.05; done
url=$(head -n 1 "$tmp/url")
pass=0
ids() { sed 's/.*"id":"\([^"]*\)".*"label":\([0-9]\).*"source":"\([a-z]*\)".*/\1 \2 \3/' "$1" | sort; }

"$WF_BIN" extract -i "$fx/input.jsonl" -o "$tmp/llm.jsonl" --judge llm \
    --set "judge.llm.base_url=$url" --set judge.llm.model=stub > "$tmp/report" 2> "$tmp/log"
cat > "$tmp/want" << 'WANT'
l-false_turn0 1 refusal
l-harmful_turn0 4 refusal
l-level2_turn0 2 llm
l-level4_turn0 3 llm
l-notref_turn0 4 llm
WANT
diff "$tmp/want" <(ids "$tmp/llm.jsonl") && pass=$((pass + 1))
grep -q 'neutral .*2' "$tmp/report" && pass=$((pass + 1))

# The cascade keeps rules' confident "Thanks, that works perfectly now!" (the
# stub would have said 3), and asks the LLM about the rest.
"$WF_BIN" extract -i "$fx/input.jsonl" -o "$tmp/cascade.jsonl" --judge cascade \
    --set "judge.llm.base_url=$url" --set judge.llm.model=stub > /dev/null 2>&1
grep -q '"id":"l-rules_turn0".*"label":4.*"source":"rules"' "$tmp/cascade.jsonl" && pass=$((pass + 1))
grep -q '"id":"l-level2_turn0".*"source":"llm"' "$tmp/cascade.jsonl" && pass=$((pass + 1))
test "$pass" -eq 4
echo "$pass passed, 0 failed"
