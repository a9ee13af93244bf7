# SPDX-License-Identifier: MIT
# The ft260: transport end to end: trustx talks HID reports to the FT260
# emulator, which bridges them to a trustx-sim serve process. Covers info,
# multi-report writes read back, a whole personalization checked with
# openssl, late acknowledge and bus recovery through the bridge, and the fast
# failures: no bridge, a NACKing chip, a stuck bus, a silent bridge and a
# bridge already in use.
. "$(dirname "$0")/lib.sh"

EMU="$TRUSTX_SOURCE_DIR/tests/ft260emu/ft260emu.py"
STATE="$TEST_TMP/chip.json"
SIM_SOCKET="$TEST_TMP/sim.sock"
EMU_SOCKET="$TEST_TMP/ft260.sock"
EMU_LOG="$TEST_TMP/ft260emu.log"
DEVICE="ft260:emu=$EMU_SOCKET"
emu_pid=""

# start_emu ARGS...: starts the emulator in front of the simulator and waits for its socket.
start_emu() {
    rm -f "$EMU_SOCKET"
    : >"$EMU_LOG"
    python3 "$EMU" --listen "$EMU_SOCKET" --sim "$SIM_SOCKET" --log "$EMU_LOG" "$@" &
    emu_pid=$!
    server_pids="$server_pids $emu_pid"
    for _ in $(seq 1 200); do
        [ -S "$EMU_SOCKET" ] && return 0
        sleep 0.05
    done
    fail "ft260emu.py $* did not start: $(cat "$EMU_LOG")"
    return 1
}

# stop_emu: stops the emulator so that its summary line is in the log and the simulator is free.
stop_emu() {
    kill "$emu_pid" 2>/dev/null
    wait "$emu_pid" 2>/dev/null
    log=$(cat "$EMU_LOG")
}

expect_no_violations() {
    case $log in
    *"violation:"*) fail "$1: the emulator saw protocol violations: $log" ;;
    *"violations=0"*) pass ;;
    *) fail "$1: no emulator summary in: $log" ;;
    esac
}

"$TRUSTX_SIM" init "$STATE" >/dev/null 2>&1 || fail "trustx-sim init $STATE"
uid=$("$TRUSTX_SIM" show "$STATE" | awk '$1 == "UID" { print tolower($2) }')
[ -n "$uid" ] || fail "trustx-sim show printed no UID"
start_server "$STATE" --socket "$SIM_SOCKET" || finish

# A whole command through the bridge; the UID must be the one in the state file.
start_emu
if expect_status 0 "info through the FT260 emulator" -- "$TRUSTX" -d "$DEVICE" info; then
    expect_contains "$out" "$uid" "info through the bridge shows the simulator's UID"
    expect_contains "$out" "0xE0F1" "info through the bridge lists the key slots"
fi

# 100 bytes make a command frame of more than 60 bytes, so the write spans several reports.
data=$(python3 -c 'print("".join("%02x" % ((i * 37 + 11) % 256) for i in range(100)))')
expect_status 0 "object write of 100 bytes through the bridge" -- \
    "$TRUSTX" -d "$DEVICE" object write F1D0 --hex "$data" --erase
if expect_status 0 "object read back through the bridge" -- \
    "$TRUSTX" -d "$DEVICE" object read F1D0 -o "$TEST_TMP/f1d0.bin"; then
    got=$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().hex())' "$TEST_TMP/f1d0.bin")
    [ "$got" = "$data" ] && pass || fail "read back $got, wrote $data"
fi

# The whole personalization through the bridge, checked with openssl.
openssl ecparam -name prime256v1 -genkey -noout -out "$TEST_TMP/ca.key"
openssl req -x509 -new -key "$TEST_TMP/ca.key" -subj "/CN=FT260 Test CA" -days 30 \
    -out "$TEST_TMP/ca.pem" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>/dev/null
expect_status 0 "personalize through the bridge" -- "$TRUSTX" -d "$DEVICE" personalize \
    --subject "/CN=ft260-device/O=Acme" --ca-cert "$TEST_TMP/ca.pem" --ca-key "$TEST_TMP/ca.key" \
    --out-dir "$TEST_TMP/out"
cert=$(ls "$TEST_TMP"/out/*.cert.pem 2>/dev/null | head -n 1)
if [ -n "$cert" ]; then
    openssl verify -CAfile "$TEST_TMP/ca.pem" "$cert" >/dev/null && pass ||
        fail "the certificate issued through the bridge does not verify against the CA"
    expect_status 0 "cert read through the bridge" -- \
        "$TRUSTX" -d "$DEVICE" cert read -o "$TEST_TMP/readback.pem"
    cmp -s "$TEST_TMP/readback.pem" "$cert" && pass ||
        fail "the certificate read back through the bridge differs from the issued one"
else
    fail "personalize through the bridge left no certificate in $TEST_TMP/out"
fi
stop_emu
expect_no_violations "info, object write and read, personalize"
longest=$(printf '%s\n' "$log" | awk '$2 == "write" && $4 > max { max = $4 } END { print max + 0 }')
[ "$longest" -gt 60 ] && pass || fail "no write spanned several reports (longest $longest bytes)"
expect_contains "$log" "clock 400 kHz" "the bridge clock follows the default speed"

# Late acknowledge: the stack retries NACKed transactions, here NACKed by the bridge itself.
start_emu --nack-first 5
expect_status 0 "info with the first 5 transactions NACKed" -- "$TRUSTX" -d "$DEVICE" info
stop_emu
expect_contains "$log" "nacks=5" "the emulator NACKed 5 transactions"
expect_no_violations "info after NACKs"

# A bus that reads busy until the controller is reset twice: opening recovers it.
start_emu --stuck-resets 2
expect_status 0 "info on a bus that needs two controller resets" -- \
    "$TRUSTX" -d "$DEVICE,speed=100" info
stop_emu
expect_contains "$log" "resets=2" "opening reset the I2C controller twice"
expect_contains "$log" "clock 100 kHz" "speed=100 sets the bridge clock"
expect_no_violations "info after bus recovery"

# A bridge with its I2C function switched off gets it switched on.
start_emu --i2c-disabled
expect_status 0 "info with I2C disabled in the bridge" -- "$TRUSTX" -d "$DEVICE" info
stop_emu
expect_contains "$log" "i2c enabled" "opening enabled I2C"
expect_no_violations "info after enabling I2C"

# No chip at the address: the stack gives up after its retries, with exit status 2.
start_emu
if expect_status 2 "info at address 0x31, where no chip answers" -- \
    "$TRUSTX" -d "$DEVICE,addr=0x31" info; then
    expect_contains "$err" "0x31" "the NACK message names the address"
    expect_contains "$err" "not acknowledge" "the NACK message names the cause"
fi
stop_emu
expect_no_violations "info at 0x31"

start_emu --fault nack
if expect_status 2 "info through a bridge that NACKs everything" -- "$TRUSTX" -d "$DEVICE" info
then
    expect_contains "$err" "not acknowledge" "the NACK message names the cause"
fi
stop_emu

start_emu --fault busy
if expect_status 2 "info on a bus stuck busy" -- "$TRUSTX" -d "$DEVICE" info; then
    expect_contains "$err" "$DEVICE" "the stuck bus message names the device"
    expect_contains "$err" "bus busy" "the stuck bus message names the status"
fi
stop_emu
expect_contains "$log" "resets=3" "opening tried three controller resets"

start_emu --fault noanswer
if expect_status 2 "info through a bridge that never replies" -- "$TRUSTX" -d "$DEVICE" info; then
    expect_contains "$err" "$DEVICE" "the silent bridge message names the device"
    expect_contains "$err" "no reply" "the silent bridge message names the cause"
fi
stop_emu

start_emu --chip-mode 2
if expect_status 2 "info through a bridge strapped for UART only" -- \
    "$TRUSTX" -d "$DEVICE" info; then
    expect_contains "$err" "UART only" "the strapping message names the cause"
fi
stop_emu

# A second client fails at once while another one is connected to the bridge.
start_emu
python3 - "$EMU_SOCKET" "$TEST_TMP/holder.ready" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.recv(64)
open(sys.argv[2], "w").close()
time.sleep(30)
EOF
holder=$!
server_pids="$server_pids $holder"
for _ in $(seq 1 200); do
    [ -e "$TEST_TMP/holder.ready" ] && break
    sleep 0.05
done
if expect_status 2 "info while another client holds the bridge" -- "$TRUSTX" -d "$DEVICE" info
then
    expect_contains "$err" "$DEVICE" "the busy message names the device"
    expect_contains "$err" "in use" "the busy message names the cause"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
stop_emu

# Bridges that are not there.
if expect_status 2 "a hidraw node that does not exist" -- \
    "$TRUSTX" -d ft260:/dev/hidraw-nonexistent info; then
    expect_contains "$err" "ft260:/dev/hidraw-nonexistent" "the message names the device"
    expect_contains "$err" "No such file" "the message names the cause"
fi
if expect_status 2 "a serial number that no bridge has" -- "$TRUSTX" -d ft260:serial=NOPE info
then
    expect_contains "$err" "serial=NOPE" "the message names the serial number"
    expect_contains "$err" "no FT260" "the message names the cause"
fi
if expect_status 2 "an emulator socket that does not exist" -- \
    "$TRUSTX" -d "ft260:emu=$TEST_TMP/none.sock" info; then
    expect_contains "$err" "ft260:emu=$TEST_TMP/none.sock" "the message names the device"
fi
expect_status 1 "two device selections at once" -- "$TRUSTX" -d ft260:/dev/hidraw0,serial=X info

finish
