#!/bin/bash
# SPDX-License-Identifier: MIT
# Chip commands through the whole stack: the chip's own errors, the factory
# certificate checked with openssl, metadata round trips and one-way
# lifecycles, and two processes sharing one simulated chip.
. "$(dirname "$0")/lib.sh"

cd "$TEST_TMP" || exit 1
"$TRUSTX_SIM" init chip.json >/dev/null 2>&1
dev=sim:chip.json

# --- info, in text and JSON ---
expect_status 0 "info" -- "$TRUSTX" -d $dev info
expect_contains "$out" "0xE0F1" "info lists the key slots"
expect_status 0 "info --json" -- "$TRUSTX" -d $dev --json info
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert len(d["uid"])==54 and len(d["slots"])==10, d' "$out" &&
    pass || fail "info --json: $out"
expect_status 0 "random --json" -- "$TRUSTX" -d $dev --json random 16
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["length"]==16 and len(d["random"])==32, d' "$out" &&
    pass || fail "random --json: $out"

# --- the chip's own errors, by name ---
expect_status 3 "object that a Trust X does not have" -- "$TRUSTX" -d $dev object read E0E9
expect_contains "$err" "no such object" "unknown OID message"
expect_contains "$err" "0x01" "unknown OID device code"
expect_status 3 "read past the end" -- "$TRUSTX" -d $dev object read 0xE0C2 --offset 40
expect_contains "$err" "0x08" "read past the end gives the chip's boundary error"
expect_status 3 "write beyond the max size" -- "$TRUSTX" -d $dev object write f1d0 --hex "$(printf '00%.0s' $(seq 1 101))"
expect_contains "$err" "boundary exceeded" "write beyond max gives the chip's boundary error"
expect_status 3 "key objects cannot be read" -- "$TRUSTX" -d $dev object read E0F0
expect_status 1 "malformed OID" -- "$TRUSTX" -d $dev object read E0F
expect_contains "$err" "E0F" "malformed OID message names the value"

# --- the factory certificate verifies against the simulated vendor CA ---
expect_status 0 "read 0xE0E0" -- "$TRUSTX" -d $dev cert read --slot e0e0 -o device.pem
"$TRUSTX_SIM" show chip.json --vendor-ca > vendor-ca.pem
openssl x509 -in device.pem -noout -subject >/dev/null && pass || fail "0xE0E0 does not parse with openssl x509"
openssl verify -CAfile vendor-ca.pem device.pem >/dev/null && pass || fail "0xE0E0 does not verify against the vendor CA"

# --- raw objects and metadata round trip ---
expect_status 0 "write F1D0" -- "$TRUSTX" -d $dev object write 0XF1D0 --hex "0102030405"
expect_status 0 "read F1D0" -- "$TRUSTX" -d $dev object read f1d0
[ "$out" = "0102030405" ] && pass || fail "F1D0 read back '$out'"
expect_status 0 "set F1D0 read condition" -- "$TRUSTX" -d $dev --json object metadata F1D0 --set "read=LcsO<op" --set lcso=in
expect_contains "$out" '"read":	"LcsO<op"' "read condition round-trips"
expect_contains "$out" '"lifecycle":	"initialization"' "lifecycle round-trips"
expect_status 3 "lowering a lifecycle" -- "$TRUSTX" -d $dev object metadata F1D0 --set lcso=cr
expect_status 1 "raising to operational needs --yes" -- "$TRUSTX" -d $dev object metadata F1D1 --set lcso=op
expect_status 0 "raising to operational with --yes" -- "$TRUSTX" -d $dev object metadata F1D1 --set lcso=op --yes
expect_status 3 "writing a locked object" -- "$TRUSTX" -d $dev object write F1D1 --hex 00

# --- two processes share one state file without corrupting it ---
writer() {
    for i in $(seq 1 15); do
        "$TRUSTX" -d "sim:chip.json,lockwait=60000" object write "$1" --hex "$(printf '%02x' "$i")" >/dev/null 2>&1 || echo "write $i to $1 failed"
    done
}
writer F1D2 > writer1.log &
pid1=$!
writer F1D3 > writer2.log &
pid2=$!
wait $pid1 $pid2
[ ! -s writer1.log ] && [ ! -s writer2.log ] && pass || fail "concurrent writers failed: $(cat writer1.log writer2.log)"
expect_status 0 "state loads after concurrent use" -- "$TRUSTX_SIM" show chip.json --json
python3 -c '
import json, sys
objs = {o["oid"]: o for o in json.loads(sys.argv[1])["objects"]}
assert objs["F1D2"]["writes"] == 15 and objs["F1D3"]["writes"] == 15, (objs["F1D2"], objs["F1D3"])
' "$out" && pass || fail "write counters after concurrent use"
expect_status 0 "last write of the first process" -- "$TRUSTX" -d $dev object read F1D2
[ "$out" = "0f" ] && pass || fail "F1D2 holds '$out', expected 0f"

finish
