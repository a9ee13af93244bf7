#!/bin/sh
# SPDX-License-Identifier: MIT
# make demo: creates a factory-fresh simulated chip and shows it.
set -eu
build=${1:-build}
work=$(mktemp -d "${TMPDIR:-/tmp}/trustx-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== simulated chip in $work/chip.json"
"$build/trustx-sim" init "$work/chip.json"
echo "== trustx info"
"$build/trustx" -d "sim:$work/chip.json" info
