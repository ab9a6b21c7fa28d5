#!/bin/bash
# Where the CUDA path's time goes, on a GPU machine, from the repository
# root (with .gpu/ from tests/gpu/pack.sh carried, as for run.sh):
#
#   bash tests/gpu/profile.sh
#
# 1. The benchmark with its variants (training without dropout, and of the
#    head alone), at 512 and 2048 tokens per sequence: what the adapters
#    cost.
# 2. When Nsight Compute (ncu) works here: one scoring call and one training
#    step at 512, each kernel's GPU time summed by kernel name, largest
#    first, with its share of the total. Clocks and caches are left as the
#    benchmark has them, so the sum compares with its wall time (the rest
#    is time the GPU waits for launches).
# Writes profile.csv and kernels.txt to $OUT when it is set.
set -u -o pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/wf-prof.XXXXXX")
out=${OUT:-$work}
tar -xzf .gpu/payload.tar.gz -C "$work" || exit 1
cublas=$(dirname "$(ls /usr/local/cuda*/lib64/libcublas.so.13* 2>/dev/null | head -1)")
export LD_LIBRARY_PATH="$work/lib:$cublas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bench=$work/bin/bench_kernels_transformer

echo "== benchmark variants"
timeout 240 "$bench" --variants --seconds 2

ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null |
    head -1)
if [ -z "$ncu" ]; then
    echo "== no ncu here: per-kernel times skipped"
    exit 0
fi
echo "== per-kernel GPU time ($ncu), one scoring call and one training step at 512"
timeout 300 "$ncu" --csv --metrics gpu__time_duration.sum --print-units base \
    --clock-control none --cache-control none \
    "$bench" --quick --len 512 --score-tokens 8192 --train-tokens 8192 >"$out/profile.csv" \
    2>"$work/ncu.err" || { tail -5 "$work/ncu.err"; exit 0; }
python3 - "$out/profile.csv" <<'PY' | tee "$out/kernels.txt"
import csv, sys, collections
total = collections.Counter()
calls = collections.Counter()
lines = [l for l in open(sys.argv[1]) if l.startswith('"')]
for row in csv.DictReader(lines):
    if row.get("Metric Name") != "gpu__time_duration.sum":
        continue
    name = row["Kernel Name"].split("(")[0][:70]
    total[name] += float(row["Metric Value"].replace(",", ""))
    calls[name] += 1
all_ns = sum(total.values())
print(f"{'kernel':70s} {'calls':>6s} {'ms':>9s} {'share':>6s}")
for name, ns in total.most_common(40):
    print(f"{name:70s} {calls[name]:6d} {ns / 1e6:9.3f} {100 * ns / all_ns:5.1f}%")
print(f"{'all kernels':70s} {sum(calls.values()):6d} {all_ns / 1e6:9.3f}")
PY
