#!/bin/bash
# The GPU check of issue 7, for one short run on a lent GPU machine (or any
# machine with a GPU that can build wildfeed). From the repository root:
#
#   bash tests/gpu/run.sh
#
# Uses the programs tests/gpu/pack.sh put in .gpu/ (carry it), or else
# builds them with CMake (WF_GPU_BUILD, default build-gpu). Then, each step
# timed, under a time limit, and never stopping the others:
#   a. check_kernels and check_attention: every kernel, and both attention
#      paths, against the CPU reference;
#   b. check_model: whole tiny models' logits, gradients and engine steps;
#      check_plan: training in smaller packed batches when memory is short;
#      both again with WF_CUDA_FLASH=forward (flash forward, cuBLAS backward);
#   c. the oracle: transformers' Qwen3ForSequenceClassification against our
#      tokenizer, CPU and CUDA logits (oracle.py make, check_oracle), and
#      PEFT loading our adapters (oracle.py peft); then, on the oracle's
#      model, the backend surviving a GPU that fails for good (check_lost);
#   d. the benchmark: transformers' baseline (baseline.py, which also saves
#      the model) and ours (bench_kernels_transformer) on the same model;
# and prints a summary table last. Logs go to $OUT when it is set (run.log,
# summary.txt and one per step), else to a temporary folder.
#
# Env: WF_GPU_DEADLINE (seconds for everything, default 460), WF_BENCH_SECONDS
# (per benchmark case, default 2), WF_SCORE_TOKENS (16384), WF_TRAIN_TOKENS
# (8192).
set -u -o pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
deadline=${WF_GPU_DEADLINE:-460}
bench_seconds=${WF_BENCH_SECONDS:-2}
score_tokens=${WF_SCORE_TOKENS:-16384}
train_tokens=${WF_TRAIN_TOKENS:-8192}
work=$(mktemp -d "${TMPDIR:-/tmp}/wf-gpu.XXXXXX")
logs=${OUT:-$work/logs}
mkdir -p "$logs"

names=() results=() secs=() notes=()
record() { names+=("$1") results+=("$2") secs+=("$3") notes+=("$4"); }

# run_step NAME LOG CAP CMD...: runs CMD for at most CAP seconds (less when
# the deadline is near), echoing its output and appending it to LOG.log;
# records the step's result from its PASS/FAIL/SKIP lines and exit status.
run_step() {
    local name=$1 log=$2 cap=$3
    shift 3
    local left=$((deadline - SECONDS - 20))
    ((left < cap)) && cap=$left
    if ((cap < 10)); then
        echo "== $name: not run, the deadline is near"
        record "$name" SKIPPED 0 "out of time"
        return 124
    fi
    echo "== $name (limit ${cap} s)"
    local out=$work/$name.out t0=$SECONDS rc
    timeout -k 10 "$cap" "$@" 2>&1 | tee "$out" | tee -a "$logs/$log.log"
    rc=${PIPESTATUS[0]}
    local pass fail skip result note
    pass=$(grep -c '^PASS' "$out")
    fail=$(grep -c '^FAIL' "$out")
    skip=$(grep -m1 -E '^(SKIP|no CUDA device)' "$out")
    if ((rc == 124 || rc == 137)); then
        result=TIMEOUT
    elif ((fail > 0)); then
        result=FAIL
    elif [ -n "$skip" ] && ((rc == 0 || rc == 2)); then
        result=SKIP
    elif ((rc != 0)); then
        result=ERROR
    elif ((pass > 0)); then
        result=PASS
    else
        result=ok
    fi
    note="$pass pass, $fail fail"
    if grep -q '^BENCH' "$out"; then
        local bad
        bad=$(grep '^BENCH' "$out" | grep -vc 'status=ok')
        note="$(grep -c '^BENCH.*status=ok' "$out") cases ok, $bad not"
        [ "$result" = ok ] && ((bad > 0)) && result=PARTIAL
    fi
    ((rc != 0)) && note="$note, exit $rc"
    [ -n "$skip" ] && note=${skip#SKIP }
    record "$name" "$result" $((SECONDS - t0)) "$note"
    return "$rc"
}

# Sets prog to the command running program $1 with the packed libraries (and
# through the packed loader when this glibc is too old for them); records
# the step as missing and fails when the program is nowhere.
prog=()
set_prog() {
    local f found=""
    for f in "$bindir/$1" "$build/gpu/$1" "$build/bench/$1"; do
        [ -x "$f" ] && found=$f && break
    done
    if [ -z "$found" ]; then
        echo "== $1: MISSING (not in .gpu/ nor $build)"
        record "$1" MISSING 0 "program not built"
        return 1
    fi
    f=$found
    if [ -n "$loader" ]; then
        prog=("$loader" --library-path "$libpath" "$f")
    else
        prog=(env "LD_LIBRARY_PATH=$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$f")
    fi
}

# The directory of libcublas.so.13: the CUDA toolkit's, else pip's wheels.
cublas_dir() {
    local d
    for d in ${CUDA_HOME:+$CUDA_HOME/lib64} /usr/local/cuda/lib64 \
        /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib64 \
        /usr/lib/x86_64-linux-gnu; do
        if compgen -G "$d/libcublas.so.13*" >/dev/null; then
            echo "$d"
            return
        fi
    done
    python3 -c '
import glob, os, site
for s in site.getsitepackages():
    for p in glob.glob(os.path.join(s, "nvidia", "**", "libcublas.so.13*"), recursive=True):
        print(os.path.dirname(p))
        raise SystemExit' 2>/dev/null
}

setup_gpu() {
    local smi
    if smi=$(nvidia-smi --query-gpu=name,memory.total,driver_version \
        --format=csv,noheader 2>&1) && [ -n "$smi" ]; then
        gpu=$(echo "$smi" | head -1)
        echo "GPU: $gpu"
    else
        gpu=none
        echo "no GPU: nvidia-smi found none (${smi:0:200}); the device steps skip"
    fi
    local cuda_libs cuda_drv
    cuda_libs=$(cublas_dir)
    cuda_drv=$(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 / { print $NF; exit }')
    echo "libcublas.so.13 from: ${cuda_libs:-not found}; libcuda.so.1: ${cuda_drv:-not found}"
    [ -n "$cuda_drv" ] && cuda_drv=$(dirname "$cuda_drv")
    libpath=$(echo "$libdir:$cuda_libs:$cuda_drv" | tr -s ':' | sed 's/^://; s/:$//')
}

# Asks this machine's loader whether the packed programs can start here;
# when its glibc or libstdc++ is too old for them, they run under the
# packed loader with the packed system libraries.
choose_loader() {
    [ -d "$work/pack/bin" ] || return 0
    local f probe problems="" have
    for f in "$work/pack/bin"/*; do
        probe=$(env LD_TRACE_LOADED_OBJECTS=1 "LD_LIBRARY_PATH=$libpath" "$f" 2>&1)
        problems+=$(echo "$probe" | grep 'not found')$'\n'
    done
    problems=$(echo "$problems" | sort -u | sed '/^$/d')
    have=$(getconf GNU_LIBC_VERSION 2>/dev/null)
    if echo "$problems" | grep -q 'version .* not found'; then
        loader=$work/pack/sys/ld-linux-x86-64.so.2
        libpath=$work/pack/sys:$libpath
        record pack ok 0 "packed programs under the packed loader (${have:-glibc ?} here is too old)"
    else
        record pack ok 0 "packed programs (${have:-glibc ?} here)"
    fi
    [ -n "$problems" ] && echo "the loader reports:" && echo "$problems" | head -8
    return 0
}

# The packed programs, or a build here.
setup_programs() {
    build=${WF_GPU_BUILD:-$root/build-gpu}
    loader="" libdir="" bindir=$work/none
    tokenizer=${WF_TOKENIZER:-}
    if [ -f .gpu/payload.tar.gz ]; then
        mkdir -p "$work/pack"
        tar -xzf .gpu/payload.tar.gz -C "$work/pack"
        bindir=$work/pack/bin libdir=$work/pack/lib
        [ -f "$work/pack/tokenizer.json" ] && tokenizer=$work/pack/tokenizer.json
        head -1 "$work/pack/MANIFEST"
    else
        run_step build build 300 bash -c "cmake -S . -B '$build' -DCMAKE_BUILD_TYPE=Release \
            -DWF_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=${WF_CUDA_ARCH:-90} >/dev/null && \
            for t in check_kernels check_attention check_model check_plan check_oracle check_lost \
                bench_kernels_transformer; do \
            cmake --build '$build' -j $(nproc) --target \$t || echo FAIL check=build target=\$t; done"
    fi
}

step_checks() {
    set_prog check_kernels && run_step check_kernels check_kernels 60 "${prog[@]}"
    set_prog check_attention && run_step check_attention check_kernels 90 "${prog[@]}"
    set_prog check_model && run_step check_model check_model 150 "${prog[@]}"
    set_prog check_plan && run_step check_plan check_model 60 "${prog[@]}"
    # The paths of a GPU whose shared memory takes the flash forward but not
    # its backward (sm_86/sm_89 at head width 128).
    set_prog check_model &&
        run_step check_model_flash_fwd check_model 150 env WF_CUDA_FLASH=forward "${prog[@]}"
    set_prog check_plan &&
        run_step check_plan_flash_fwd check_model 60 env WF_CUDA_FLASH=forward "${prog[@]}"
}

step_oracle() {
    if [ -z "$tokenizer" ]; then
        record oracle SKIPPED 0 "no Qwen3 tokenizer.json (pack.sh packs it; or set WF_TOKENIZER)"
        return
    fi
    local dir=$work/oracle
    run_step oracle_make oracle 150 python3 tests/gpu/oracle.py make "$dir" --tokenizer "$tokenizer"
    if [ -f "$dir/oracle.json" ]; then
        set_prog check_oracle && run_step check_oracle oracle 90 "${prog[@]}" "$dir"
        run_step oracle_peft oracle 120 python3 tests/gpu/oracle.py peft "$dir"
        set_prog check_lost && run_step check_lost check_model 90 "${prog[@]}" "$dir/model"
    fi
}

step_bench() {
    local model=$work/qwen3-0.6b-random left=$((deadline - SECONDS - 120))
    run_step baseline bench 240 python3 tests/gpu/baseline.py --save "$model" \
        --seconds "$bench_seconds" --score-tokens "$score_tokens" \
        --train-tokens "$train_tokens" --deadline $((left > 30 ? left : 30))
    local args=(--seconds "$bench_seconds" --score-tokens "$score_tokens"
        --train-tokens "$train_tokens")
    [ -f "$model/config.json" ] && args+=(--model "$model")
    set_prog bench_kernels_transformer && run_step bench bench 150 "${prog[@]}" "${args[@]}"
}

# Ours beside transformers' for each (mode, length), from the BENCH lines.
bench_table() {
    [ -f "$logs/bench.log" ] || return 0
    awk '
    /^BENCH / {
        delete f
        for (i = 2; i <= NF; i++) { eq = index($i, "="); if (eq) f[substr($i, 1, eq - 1)] = substr($i, eq + 1) }
        k = f["impl"] SUBSEP f["mode"] SUBSEP f["seq"]
        val[k] = f["status"] == "ok" ? f["tok_s"] : f["status"]
        mfu[k] = f["mfu"]
        ms = f["mode"] SUBSEP f["seq"]
        if (f["impl"] == "wildfeed" && !(ms in seen)) { seen[ms] = 1; order[++n] = ms }
    }
    function num(x) { return x ~ /^[0-9.]+$/ }
    function ratio(a, b) { return num(a) && num(b) && b + 0 > 0 ? sprintf("%.2fx", a / b) : "-" }
    END {
        if (!n) exit
        print ""
        print "benchmark, tokens/s (ratio = wildfeed / transformers)"
        printf "%-10s %5s %10s %10s %7s %10s %7s %6s  %s\n", "mode", "seq", "wildfeed", "hf-eager", "ratio", "hf-sdpa", "ratio", "MFU", "goal"
        for (i = 1; i <= n; i++) {
            split(order[i], p, SUBSEP); mode = p[1]; seq = p[2]
            hm = mode == "score_lora" ? "score" : mode
            o = val["wildfeed" SUBSEP mode SUBSEP seq]
            e = val["hf-eager" SUBSEP hm SUBSEP seq]; s = val["hf-sdpa" SUBSEP hm SUBSEP seq]
            m = mfu["wildfeed" SUBSEP mode SUBSEP seq]
            goal = "(info: scoring with LoRA)"
            if (mode == "score")
                goal = !num(o) || !num(e) ? "?" : o + 0 >= 2 * e ? "met (>= 2x eager)" : "MISSED (>= 2x eager)"
            if (mode == "train") {
                best = num(e) && (!num(s) || e + 0 > s + 0) ? e : s
                goal = !num(o) || !num(best) ? "?" : o + 0 >= 1.5 * best ? "met (>= 1.5x PEFT)" : "MISSED (>= 1.5x PEFT)"
                goal = goal (num(m) && m + 0 >= 0.40 ? ", MFU met (>= 40%)" : ", MFU MISSED (>= 40%)")
            }
            printf "%-10s %5s %10s %10s %7s %10s %7s %6s  %s\n", mode, seq, o == "" ? "-" : o, e == "" ? "-" : e, ratio(o, e), s == "" ? "-" : s, ratio(o, s), num(m) ? sprintf("%.1f%%", 100 * m) : "-", goal
        }
        print "(training goal against the faster of hf-eager and hf-sdpa)"
    }' "$logs/bench.log"
}

summary() {
    echo
    echo "==================== summary (wall $SECONDS s, deadline $deadline s) ===================="
    echo "GPU: $gpu; logs: $logs"
    printf "%-14s %-8s %5s  %s\n" step result secs notes
    local i
    for i in "${!names[@]}"; do
        printf "%-14s %-8s %5s  %s\n" "${names[$i]}" "${results[$i]}" "${secs[$i]}" "${notes[$i]}"
    done
    bench_table
    local fails
    fails=$(cd "$logs" && cat build.log check_kernels.log check_model.log oracle.log bench.log \
        2>/dev/null | grep '^FAIL' | head -15)
    if [ -n "$fails" ]; then
        echo
        echo "first failures:"
        echo "$fails" | cut -c1-200
    fi
}

main() {
    echo "wildfeed GPU check: $(git rev-parse --short HEAD 2>/dev/null) in $root; logs in $logs"
    setup_programs
    setup_gpu
    choose_loader
    step_checks
    step_oracle
    step_bench
    summary | tee "$logs/summary.txt"
    # The exit status: 1 when any step did not pass or finish cleanly.
    ! printf '%s\n' "${results[@]}" | grep -qE '^(FAIL|ERROR|TIMEOUT|MISSING)$'
}

main 2>&1 | tee "$logs/run.log"
status=${PIPESTATUS[0]}
rm -rf "$work/pack" "$work/oracle" "$work/qwen3-0.6b-random"
exit "$status"
