#!/bin/sh
# Prints, one per line and sorted, the Debian (or Ubuntu) packages that own
# the shared libraries BINARY loads directly. The container builds install
# exactly these in their runtime stage, so the image follows the binary's
# real link line (a new dependency cannot be forgotten there) and the same
# script serves the Debian image and the Ubuntu-based CUDA image, whose
# package names differ (t64 suffixes). Exits 1 when a library has no owner.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: runtime-packages.sh BINARY" >&2
    exit 2
fi
bin=$1

# dpkg knows a file by the path its package installed, which on a merged-/usr
# system may differ from the one the loader reports by a leading /usr.
owner() {
    for p in "$1" "/usr$1" "${1#/usr}"; do
        out=$(dpkg-query -S "$p" 2>/dev/null) && {
            printf '%s\n' "$out" | sed -n '1s/[:,].*//p'
            return 0
        }
    done
    return 1
}

libs=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
paths=$(ldd "$bin")
status=0
found=""
for lib in $libs; do
    # "name => /path (addr)", or "/path (addr)" for the loader itself, which
    # C++ and CUDA-runtime links name directly.
    path=$(printf '%s\n' "$paths" | awk -v l="$lib" '
        $1 == l && $2 == "=>" { print $3; exit }
        { n = split($1, p, "/") } n > 1 && p[n] == l { print $1; exit }')
    if [ -n "$path" ] && pkg=$(owner "$path"); then
        found="$found$pkg
"
    else
        echo "runtime-packages: no package owns $lib (${path:-not found})" >&2
        status=1
    fi
done
printf '%s' "$found" | sort -u
exit "$status"
