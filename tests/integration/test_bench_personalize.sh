#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/personalize in a short run: its report, its JSON figures, the
# certificates it produced (checked with openssl), and its failure on a broken trustx.
. "$(dirname "$0")/lib.sh"

bench="$TRUSTX_SOURCE_DIR/bench/personalize"
work="$TEST_TMP/work"

expect_status 0 "bench runs" -- python3 "$bench" --cpu-runs 1 --parallel 2 --work "$work" \
    --json "$TEST_TMP/bench.json"
last=$(printf '%s\n' "$out" | tail -n 1)
if printf '%s\n' "$last" | grep -Eq '^ratio 400kHz=[0-9]+\.[0-9]{2} 1MHz=[0-9]+\.[0-9]{2}$'; then
    pass
else
    fail "last line is not 'ratio 400kHz=<x> 1MHz=<y>': $last"
fi
expect_contains "$out" "bus clock check at 400 kHz: ok" "400 kHz bytes charged at 400 kHz"
expect_contains "$out" "bus clock check at 1000 kHz: ok" "1 MHz bytes charged at 1 MHz"
expect_contains "$out" "host CPU per personalization" "CPU time reported"
expect_contains "$out" "parallel: 2 chips in 2 processes" "parallel run reported"

# The JSON figures agree with themselves and with the printed ratios.
python3 - "$TEST_TMP/bench.json" "$last" <<'PY' && pass ||
    fail "bench JSON figures are inconsistent"
import json, sys
d = json.load(open(sys.argv[1]))
r400, r1000 = d["results"]
assert r400["protocol"]["speed_khz"] == 400, r400["protocol"]
assert r1000["protocol"]["speed_khz"] == 1000, r1000["protocol"]
for r in (r400, r1000):
    m, b = r["modeled"], r["bound"]
    assert abs(b["total"] - (b["chip"] + b["bus"] + b["guard"])) < 1e-6, b
    assert b["chip"] == m["chip"], (b, m)
    assert b["apdus"] == m["commands"], (b, m)
    assert abs(r["ratio"] - m["total"] / b["total"]) < 1e-9, r
    assert r["retransmissions"]["frames"] == 0, r["retransmissions"]
# Only the opening runs at 100 kHz, so the bus part of the bound shrinks at 1 MHz.
assert r1000["bound"]["bus"] < r400["bound"]["bus"], (r400["bound"], r1000["bound"])
want = "ratio 400kHz=%.2f 1MHz=%.2f" % (r400["ratio"], r1000["ratio"])
assert sys.argv[2] == want, (sys.argv[2], want)
assert len(d["cpu_seconds"]) == 1, d["cpu_seconds"]
assert d["cpu_seconds"][0] > 0, d["cpu_seconds"]
assert d["parallel"]["chips"] == 2, d["parallel"]
assert d["parallel"]["wall_s"] > 0, d["parallel"]
PY

# Every personalization the bench timed produced a certificate that the CA issued.
certs=$(ls "$work"/out*/*.cert.pem 2>/dev/null | wc -l)
[ "$certs" -eq 5 ] && pass ||
    fail "expected 5 certificates (2 traced, 1 timed, 2 parallel), found $certs"
for cert in "$work"/out*/*.cert.pem; do
    openssl verify -CAfile "$work/ca.pem" "$cert" >/dev/null 2>&1 && pass ||
        fail "$cert does not verify against the bench CA"
done

# A trustx that fails makes the bench fail with the reason, not print a ratio.
expect_status 1 "bench with a failing trustx" -- python3 "$bench" --trustx /bin/false \
    --cpu-runs 0 --parallel 0
expect_contains "$err" "trustx personalize failed" "failing trustx named"
case $out in
*ratio*) fail "bench printed a ratio although trustx failed: $out" ;;
*) pass ;;
esac

expect_status 2 "bench rejects a negative count" -- python3 "$bench" --cpu-runs -1

finish
