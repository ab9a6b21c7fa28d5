#!/bin/bash
# deploy/runtime-packages.sh, which the container builds use to install the
# runtime stage's libraries: for the built binary it names the package of
# every library wildfeed links, and it fails, naming the library, when one
# has no package. Needs dpkg-query, readelf and ldd (Debian 12 has them with
# build-essential); skipped, and said so, elsewhere.
set -u
source "$(dirname "$0")/lib.bash"
script="$WF_SOURCE/deploy/runtime-packages.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in dpkg-query readelf ldd cc; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "skipped: $tool not installed"
        skipped=1
        cli_finish
        exit
    fi
done

sh "$script" "$WF_BIN" >"$tmp/pkgs" 2>"$tmp/err"
check "exits 0 for wildfeed" test $? -eq 0
check "nothing on stderr" test ! -s "$tmp/err"
for p in libc6 libcurl4 libjansson4 libmicrohttpd12 librdkafka1 libsqlite3-0 zlib1g; do
    check "names $p" has_line "$p" "$tmp/pkgs"
done
check "sorted, one per line, no duplicates" cmp -s "$tmp/pkgs" <(sort -u "$tmp/pkgs")
check "one package per directly linked library at most" test "$(wc -l <"$tmp/pkgs")" -le \
    "$(readelf -d "$WF_BIN" | grep -c '(NEEDED)')"
check "every name is an installed package" \
    test -z "$(while read -r p; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
        grep -q 'install ok installed' || echo "$p"; done <"$tmp/pkgs")"

# A library that no package owns: exit 1, named on stderr.
printf 'int wf_dep_probe(void) { return 7; }\n' >"$tmp/dep.c"
printf 'int wf_dep_probe(void);\nint main(void) { return wf_dep_probe() == 7 ? 0 : 1; }\n' \
    >"$tmp/main.c"
cc -shared -fPIC -o "$tmp/libwfprobe.so" "$tmp/dep.c" &&
    cc -o "$tmp/probe" "$tmp/main.c" -L"$tmp" -lwfprobe -Wl,-rpath,"$tmp"
check "probe built" test -x "$tmp/probe"
sh "$script" "$tmp/probe" >"$tmp/out" 2>"$tmp/err"
check "unowned library: exit 1" test $? -eq 1
check "unowned library: named" grep -Fq "runtime-packages: no package owns libwfprobe.so ($tmp/libwfprobe.so)" "$tmp/err"
check "unowned library: the rest still listed" has_line libc6 "$tmp/out"
sh "$script" >/dev/null 2>&1
check "no argument: exit 2" test $? -eq 2

cli_finish
