#!/bin/sh
# Installs the Debian 12 packages wildfeed's build and tests need. Run as root.
# Idempotent: when every package is present it only checks and exits.
set -eu

PACKAGES="build-essential cmake pkg-config clang libjansson-dev libcmocka-dev zlib1g-dev
libsqlite3-dev librdkafka-dev libcurl4-openssl-dev libmicrohttpd-dev libopenblas-dev curl jq python3-yaml"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
echo "install-deps: installing$missing"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "install-deps: run as root to install:$missing" >&2
        exit 1
    }
    sudo=sudo
fi
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
