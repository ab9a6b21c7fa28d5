#!/bin/bash
# model.kind=transformer through the binary: `wildfeed train --once` on a
# tiny random base model and a store of samples (both written by
# wf-transformer-fixture), `wildfeed eval` of the new version, then
# `wildfeed serve`: /get_reward and /v1/score answer with the same score
# for a rendered text and its parts, and activating the served version
# again (a hot swap) shares the loaded base instead of reading it again.
set -u
source "$(dirname "$0")/lib.bash"
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

matches() { grep -Eq -- "$1" "$2"; }

# The matrices are tiny: BLAS threads would only contend with other tests.
export OPENBLAS_NUM_THREADS=1
mkdir "$tmp/base"
"$WF_TF_FIXTURE" "$tmp/base" "$WF_FIXTURES/tokenizer/tokenizer.json" "$tmp/wf.db" 20 || exit 1
base=$(realpath "$tmp/base")
cat >"$tmp/config.json" <<EOF
{"store": {"path": "$tmp/wf.db"},
 "model": {"kind": "transformer", "dir": "$tmp/models", "base": "$base",
           "lora": {"rank": 4, "alpha": 8, "dropout": 0}},
 "train": {"min_samples": 10,
           "lora": {"lr": 0.02, "epochs": 2, "micro_batch": 4, "accum": 1}}}
EOF

"$WF_BIN" train --once --json -c "$tmp/config.json" >"$tmp/out" 2>"$tmp/err"
check "train exits 0" test $? -eq 0
check "the first candidate is promoted" has '{"result":"promoted"' "$tmp/out"
check "the run logs its device and speed" \
    matches 'msg="transformer trained" device=(cpu|"cuda:0[^"]*") examples=16 skipped_too_long=0 tokens_per_s=[0-9]+ ' \
    "$tmp/err"
version=$(cat "$tmp/models/CURRENT" 2>/dev/null)
dir="$tmp/models/$version"
for f in adapter_config.json adapter_model.safetensors transformer.json meta.json; do
    check "the version holds $f" test -s "$dir/$f"
done
check "no base weights are copied" test ! -e "$dir/model.safetensors"
check "meta.json names the backend" has '"kind": "transformer"' "$dir/meta.json"
check "transformer.json names the base" has "\"base\": \"$base\"" "$dir/transformer.json"
check "adapter_config.json is PEFT's LoRA" has '"peft_type": "LORA"' "$dir/adapter_config.json"

"$WF_BIN" eval -c "$tmp/config.json" --format json >"$tmp/eval" 2>"$tmp/err"
check "eval exits 0" test $? -eq 0
check "eval scores the eval split" matches '"accuracy":[0-9.]+' "$tmp/eval"
check "eval counts its 4 samples" matches '"n":4[,}]' "$tmp/eval"

port=$((20000 + RANDOM % 20000))
echo "s3cret" >"$tmp/token"
"$WF_BIN" serve -c "$tmp/config.json" --set "server.listen=127.0.0.1:$port" \
    --set "server.admin_token_file=$tmp/token" --set train.enabled=false >"$tmp/log" 2>&1 &
pid=$!
url="http://127.0.0.1:$port"
code() { curl -s -o "$tmp/body" -w '%{http_code}' "$@" || true; }
for _ in $(seq 200); do [ "$(code "$url/readyz")" = 200 ] && break; sleep 0.05; done
check "serve gets ready" test "$(code "$url/readyz")" = 200

# The default template rendered by hand for the parts sent to /v1/score.
text='# Task Description\nYou are an expert conversation evaluator. Your task is to judge the'
text+=" **User's Satisfaction** with the Assistant's response based on the conversation context."
text+='\nPlease rate the response on a scale of 1 to 5 integers.\n\n# Scoring Criteria\n'
text+='[1] CLEARLY NEGATIVE / REJECTION\n[2] CORRECTION / ERROR POINTER (Negative)\n'
text+='[3] NEUTRAL\n[4] POSITIVE ENGAGEMENT\n[5] CLEAR SATISFACTION\n\n# Input Data\n'
text+='## Context (History)\nNo previous context.\n\n## User Query\nHow do I do it?\n\n'
text+='## Assistant Response\nreply 99: great thanks\n\n# Output\nBased on the criteria above,'
text+=' please output ONLY the integer score (1, 2, 3, 4, or 5).'
check "/get_reward answers 200" \
    test "$(code -d "{\"query\":[\"$text\"]}" "$url/get_reward")" = 200
check "/get_reward has the reference shape" matches '^\{"rewards":\[[1-4]\.[0-9]{6}\]\}$' \
    "$tmp/body"
reward=$(sed -E 's/.*\[([0-9.]+)\].*/\1/' "$tmp/body")
item='{"items":[{"history":[],"query":"How do I do it?","response":"reply 99: great thanks"}]}'
check "/v1/score answers 200" test "$(code -d "$item" "$url/v1/score")" = 200
prob='0\.[0-9]{6}|1\.000000'
check "/v1/score has the documented shape" \
    matches "^\\{\"model_version\":\"$version\",\"results\":\\[\\{\"reward\":[1-4]\\.[0-9]{6},\"level\":[1-4],\"probs\":\\[($prob),($prob),($prob),($prob)\\]\\}\\]\\}$" \
    "$tmp/body"
check "the rendered text scores as its parts" has "{\"reward\":$reward," "$tmp/body"

check "activating the served version again answers 200" \
    test "$(code -X POST -H 'Authorization: Bearer s3cret' "$url/v1/models/$version/activate")" = 200
check "the hot swap shares the base" has 'msg="transformer adapters loaded"' "$tmp/log"
check "the hot swap shares the base" has 'base=shared' "$tmp/log"
check "the base was read once" test "$(grep -c 'msg="transformer base loaded"' "$tmp/log")" -eq 1
check "still scoring after the swap" test "$(code -d "$item" "$url/v1/score")" = 200

kill -TERM "$pid"
wait "$pid"
check "serve exits 0 on SIGTERM" test $? -eq 0
pid=""

cli_finish || { cat "$tmp/log" >&2; exit 1; }
