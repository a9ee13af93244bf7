#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages that building and testing trustx need.
# Runs apt-get only when something is missing, so repeated calls are fast.
set -eu

packages="build-essential cmake pkg-config libssl-dev openssl libcurl4-openssl-dev
libcjson-dev libsqlite3-dev libcmocka-dev libhidapi-dev python3"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
