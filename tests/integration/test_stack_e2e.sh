#!/bin/bash
# SPDX-License-Identifier: MIT
# Host stack against the simulator over every simulator transport: 1,000 UID
# reads with 1 % of frames corrupted in both directions, a response longer
# than one frame, a chip that never answers, and a missing I2C device.
. "$(dirname "$0")/lib.sh"

state="$TEST_TMP/chip.json"
"$TRUSTX_SIM" init "$state" >/dev/null || fail "trustx-sim init failed"

# One clean read gives the reference UID.
expect_status 0 "clean UID read" -- "$TRUSTX" -d "sim:$state" object read E0C2
uid=$out
[ ${#uid} -eq 54 ] && pass || fail "UID has ${#uid} hex digits, expected 54"

check_noisy() {
    device=$1
    expect_status 0 "1000 noisy UID reads over $device" -- \
        "$TRUSTX" -d "$device" --json diag --count 1000 || return
    python3 - "$out" <<'PY' || fail "diag report over $device: $out"
import json, sys
r = json.loads(sys.argv[1])
assert r["reads"] == 1000 and r["mismatches"] == 0, r
# With 1 % of frames corrupted, recovery must actually have happened.
assert r["frames_resent"] + r["naks_sent"] > 0, r
PY
    pass
}

check_noisy "sim:$state,flip=0.01,seed=7"

start_server "$state" --socket "$TEST_TMP/sim.sock" --faults flip=0.01,seed=11 &&
    check_noisy "socket:$TEST_TMP/sim.sock"
cleanup; server_pids=""

start_server "$state" --tcp 127.0.0.1:0 --faults flip=0.01,seed=13 &&
    check_noisy "tcp:127.0.0.1:$server_port"
cleanup; server_pids=""

# The factory certificate in 0xE0E0 is longer than one frame, so its read chains.
expect_status 0 "chained read of 0xE0E0" -- "$TRUSTX" -d "sim:$state" object read E0E0 -o "$TEST_TMP/e0e0.bin"
size=$(stat -c %s "$TEST_TMP/e0e0.bin")
[ "$size" -gt 277 ] && pass || fail "0xE0E0 holds $size bytes; expected more than one frame"
# The identity header is 9 bytes; the rest must be a certificate openssl can parse.
tail -c +10 "$TEST_TMP/e0e0.bin" | openssl x509 -inform DER -noout -subject >/dev/null 2>&1 &&
    pass || fail "0xE0E0 does not hold a DER certificate after the 9-byte header"

# A chip that never answers: the command gives up after the stack's bound of
# virtual time and names the layer. timeout(1) turns a hang into a failure.
expect_status 2 "chip that never answers" -- timeout 120 "$TRUSTX" -d "sim:$state,neverready" info
expect_contains "$err" "layer" "never-ready message names the layer"

# A missing I2C adapter fails at once with the path and the OS error.
expect_status 2 "missing /dev/i2c-99" -- timeout 60 "$TRUSTX" -d /dev/i2c-99 info
expect_contains "$err" "/dev/i2c-99" "message names the path"
expect_contains "$err" "No such file or directory" "message names the OS error"

finish
