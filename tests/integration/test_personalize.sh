#!/bin/bash
# SPDX-License-Identifier: MIT
# trustx keygen, csr, cert and personalize on the simulator, checked with openssl.
. "$(dirname "$0")/lib.sh"

cd "$TEST_TMP" || exit 1
seed_config="$TRUSTX_SOURCE_DIR/tests/data/vendor-example-config.jsn"

openssl ecparam -name prime256v1 -genkey -noout -out ca.key
openssl req -x509 -new -key ca.key -subj "/CN=Test CA" -days 3650 -out ca.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null

# writes OID STATE: prints the NVM write counter of one object.
writes() {
    "$TRUSTX_SIM" show "$2" --json |
        python3 -c 'import json,sys; print([o["writes"] for o in json.load(sys.stdin)["objects"] if o["oid"]==sys.argv[1]][0])' "$1"
}

# all_writes STATE: the write counters of every object, to compare before and after.
all_writes() {
    "$TRUSTX_SIM" show "$1" --json |
        python3 -c 'import json,sys; print(sorted((o["oid"],o["writes"]) for o in json.load(sys.stdin)["objects"]))'
}

# --- CSRs for both curves pass openssl req -verify, with the chip's key ---
for curve in p256 p384; do
    "$TRUSTX_SIM" init "chip-$curve.json" >/dev/null 2>&1
    expect_status 0 "keygen $curve" -- "$TRUSTX" -d "sim:chip-$curve.json" keygen --curve "$curve" -o "pub-$curve.pem"
    expect_status 0 "csr $curve for the existing key" -- \
        "$TRUSTX" -d "sim:chip-$curve.json" csr --subject "/CN=dev-$curve/O=Acme" -o "$curve.csr"
    openssl req -in "$curve.csr" -verify -noout 2>/dev/null && pass || fail "$curve CSR does not verify"
    openssl req -in "$curve.csr" -pubkey -noout | cmp -s - "pub-$curve.pem" &&
        pass || fail "$curve CSR carries another key than keygen returned"
done
openssl req -in p384.csr -noout -text | grep -q "ecdsa-with-SHA384" && pass || fail "P-384 CSR is not signed with SHA-384"

# The original tool's options still work (-i config, -o output, -p key OID, -f device).
"$TRUSTX_SIM" init seed.json >/dev/null 2>&1
expect_status 0 "csr with the seed tool's options" -- \
    "$TRUSTX" csr -f "sim:seed.json" -i "$seed_config" -o seed.csr -p 0xE0F1 --new-key
openssl req -in seed.csr -noout -subject | grep -q "CN = AWS IoT Certificate, O = Infineon Technologies AG, C = DE, ST = Germany" &&
    pass || fail "seed config.jsn subject: $(openssl req -in seed.csr -noout -subject)"

# --- personalize with the seed's config.jsn, unchanged ---
"$TRUSTX_SIM" init chip.json >/dev/null 2>&1
expect_status 0 "personalize" -- "$TRUSTX" -d sim:chip.json --json personalize \
    --config "$seed_config" --ca-cert ca.pem --ca-key ca.key --out-dir out
cert=$(ls out/*.cert.pem)
openssl verify -CAfile ca.pem "$cert" >/dev/null && pass || fail "issued certificate does not verify against the CA"
openssl x509 -in "$cert" -noout -ext extendedKeyUsage | grep -q "TLS Web Client Authentication" &&
    pass || fail "certificate lacks clientAuth"
expect_status 0 "cert read" -- "$TRUSTX" -d sim:chip.json cert read -o readback.pem
cmp -s readback.pem "$cert" && pass || fail "certificate read back from 0xE0E1 differs from the issued one"
expect_status 0 "cert read DER" -- "$TRUSTX" -d sim:chip.json cert read --der -o readback.der
openssl x509 -in "$cert" -outform DER | cmp -s - readback.der && pass || fail "DER read-back differs"

# A second run changes nothing on the chip.
before=$(all_writes chip.json)
expect_status 0 "personalize again" -- "$TRUSTX" -d sim:chip.json personalize \
    --config "$seed_config" --ca-cert ca.pem --ca-key ca.key --out-dir out
[ "$(all_writes chip.json)" = "$before" ] && pass || fail "a finished job wrote to the chip again"

# --- a certificate for another key writes nothing and exits 4 ---
openssl ecparam -name prime256v1 -genkey -noout -out other.key
openssl req -new -key other.key -subj "/CN=other" -out other.csr
openssl x509 -req -in other.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -out other.pem 2>/dev/null
before=$(all_writes chip.json)
expect_status 4 "cert write for another key" -- "$TRUSTX" -d sim:chip.json cert write --slot 0xE0E1 other.pem
expect_contains "$err" "does not match" "mismatch message"
[ "$(all_writes chip.json)" = "$before" ] && pass || fail "a mismatching certificate changed the chip"
# The original tool's options: -c FILE -o OID.
expect_status 4 "cert write with the seed tool's options" -- "$TRUSTX" cert write -f sim:chip.json -c other.pem -o 0xE0E1

# The issued certificate in DER goes in again unchanged (identical bytes are not rewritten).
openssl x509 -in "$cert" -outform DER -out cert.der
before=$(writes E0E1 chip.json)
expect_status 0 "cert write of identical DER" -- "$TRUSTX" -d sim:chip.json cert write cert.der
[ "$(writes E0E1 chip.json)" = "$before" ] && pass || fail "identical certificate was written again"

# --- a chain goes into the identity format and comes back whole ---
cat "$cert" ca.pem > chain.pem
expect_status 0 "cert write of a chain" -- "$TRUSTX" -d sim:chip.json cert write chain.pem
expect_status 0 "cert read of a chain" -- "$TRUSTX" -d sim:chip.json cert read -o chain-back.pem
[ "$(grep -c 'BEGIN CERTIFICATE' chain-back.pem)" = 2 ] && pass || fail "chain read back with $(grep -c 'BEGIN CERTIFICATE' chain-back.pem) certificates"
cmp -s chain.pem chain-back.pem && pass || fail "chain read back differs"
expect_status 1 "a chain in plain DER format" -- "$TRUSTX" -d sim:chip.json cert write --format der chain.pem

# --- plain DER format on request ---
expect_status 0 "cert write --format der" -- "$TRUSTX" -d sim:chip.json cert write --format der "$cert"
expect_status 0 "raw slot after a DER write" -- "$TRUSTX" -d sim:chip.json object read E0E1 --length 1
[ "$out" = "30" ] && pass || fail "DER-format slot starts with '$out', expected 30"
expect_status 0 "cert read of the DER slot" -- "$TRUSTX" -d sim:chip.json cert read -o der-back.pem
cmp -s der-back.pem "$cert" && pass || fail "DER-format read-back differs"
expect_status 0 "cert write back in identity format" -- "$TRUSTX" -d sim:chip.json cert write "$cert"

# --- a certificate larger than the slot is refused before the chip is touched ---
san=$(for i in $(seq 1 120); do printf 'DNS:host-%03d.example.com,' "$i"; done)
openssl x509 -req -in "$(ls out/*.csr.pem)" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
    -extfile <(printf 'subjectAltName=%s\n' "${san%,}") -out big.pem 2>/dev/null
big=$(openssl x509 -in big.pem -outform DER | wc -c)
[ "$big" -gt 1728 ] && pass || fail "test certificate has only $big bytes"
before=$(all_writes chip.json)
expect_status 1 "certificate larger than the slot" -- "$TRUSTX" -d sim:chip.json cert write big.pem
expect_contains "$err" "1728" "message names the slot size"
[ "$(all_writes chip.json)" = "$before" ] && pass || fail "an oversized certificate changed the chip"

# --- bad input exits 1 and leaves the chip untouched ---
"$TRUSTX_SIM" init fresh.json >/dev/null 2>&1
before=$(all_writes fresh.json)
printf '{"O": "no common name"}' > nocn.jsn
printf '{"CN": "x", "Colour": "red"}' > unknown.jsn
printf 'not json' > bad.jsn
for cfg in nocn.jsn unknown.jsn bad.jsn missing.jsn; do
    expect_status 1 "personalize with $cfg" -- "$TRUSTX" -d sim:fresh.json personalize \
        --config "$cfg" --ca-cert ca.pem --ca-key ca.key --out-dir out-bad
done
expect_status 1 "personalize with a bad subject" -- "$TRUSTX" -d sim:fresh.json personalize \
    --subject "/CN=x/C=Germany" --ca-cert ca.pem --ca-key ca.key --out-dir out-bad
expect_status 1 "personalize with a wrong CA key" -- "$TRUSTX" -d sim:fresh.json personalize \
    --subject "/CN=x" --ca-cert ca.pem --ca-key other.key --out-dir out-bad
expect_status 1 "csr with a bad subject" -- "$TRUSTX" -d sim:fresh.json csr --new-key --subject "CN=" -o x.csr
expect_status 1 "lock without --yes" -- "$TRUSTX" -d sim:fresh.json personalize \
    --subject "/CN=x" --ca-cert ca.pem --ca-key ca.key --out-dir out-bad --lock
[ "$(all_writes fresh.json)" = "$before" ] && pass || fail "bad input changed the chip"

# --- the factory key slot and an occupied slot are refused ---
expect_status 3 "keygen into 0xE0F0" -- "$TRUSTX" -d sim:fresh.json keygen --slot 0xE0F0
expect_contains "$err" "NEV" "refusal names the access condition"
expect_status 3 "keygen over a certificate" -- "$TRUSTX" -d sim:chip.json keygen --slot 0xE0F1
expect_contains "$err" "--force" "refusal names --force"

# --- killing personalize after every step, then running it again, makes one key ---
for step in keygen csr cert verify; do
    state="crash-$step.json"
    "$TRUSTX_SIM" init "$state" >/dev/null 2>&1
    TRUSTX_TEST_CRASH_AFTER=$step "$TRUSTX" -d "sim:$state" personalize --subject "/CN=crash-$step" \
        --ca-cert ca.pem --ca-key ca.key --out-dir "out-$step" >/dev/null 2>&1
    status=$?
    [ "$status" -eq 137 ] && pass || fail "crash after $step: exit status $status, expected 137 (killed)"
    expect_status 0 "resume after $step" -- "$TRUSTX" -d "sim:$state" --json personalize \
        --subject "/CN=crash-$step" --ca-cert ca.pem --ca-key ca.key --out-dir "out-$step"
    [ "$(writes E0F1 "$state")" = 1 ] && pass || fail "after a crash in $step the key slot was written $(writes E0F1 "$state") times"
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["keys_generated_for_job"]==1, d' "$out" &&
        pass || fail "journal counts more than one key generation after $step"
    cmp -s <("$TRUSTX" -d "sim:$state" cert read) out-$step/*.cert.pem && pass || fail "chip certificate differs after resuming $step"
done

# --- a finished job still checks the chip, and refuses changed options ---
"$TRUSTX_SIM" init rerun.json >/dev/null 2>&1
perso_rerun() {
    "$TRUSTX" -d sim:rerun.json --json personalize --ca-cert ca.pem --ca-key ca.key --out-dir out-rerun "$@"
}
expect_status 0 "first run" -- perso_rerun --subject "/CN=rerun"
expect_status 1 "rerun with another subject" -- perso_rerun --subject "/CN=other"
expect_contains "$err" "--restart" "changed-subject message names --restart"
expect_status 1 "rerun with another curve" -- perso_rerun --subject "/CN=rerun" --curve p384
expect_status 0 "erase the certificate slot" -- "$TRUSTX" -d sim:rerun.json object write E0E1 --hex 00 --erase
expect_status 0 "rerun after the slot was erased" -- perso_rerun --subject "/CN=rerun"
cmp -s <("$TRUSTX" -d sim:rerun.json cert read) out-rerun/*.cert.pem &&
    pass || fail "a rerun did not put the erased certificate back"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["status"]=="ok" and d["locked"] is False, d' "$out" &&
    pass || fail "rerun summary: $out"

# --- --lock on a job that finished without it locks the chip for real ---
expect_status 0 "rerun with --lock --yes" -- perso_rerun --subject "/CN=rerun" --lock --yes
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["locked"] is True, d' "$out" &&
    pass || fail "summary after --lock: $out"
for oid in E0E1 E0F1; do
    expect_status 0 "metadata of $oid after a late lock" -- "$TRUSTX" -d sim:rerun.json --json object metadata $oid
    expect_contains "$out" '"lifecycle":	"operational"' "$oid is locked"
done

# --- a dry run changes nothing, --restart included ---
rm -rf out-dry
expect_status 0 "dry run" -- "$TRUSTX" -d sim:rerun.json personalize --subject "/CN=rerun" \
    --ca-cert ca.pem --ca-key ca.key --out-dir out-dry --dry-run
[ ! -e out-dry ] && pass || fail "a dry run created its output folder"
before=$(sqlite3 out-rerun/journal.sqlite 'SELECT count(*) FROM jobs' 2>/dev/null || python3 -c 'import sqlite3; print(sqlite3.connect("out-rerun/journal.sqlite").execute("SELECT count(*) FROM jobs").fetchone()[0])')
expect_status 0 "dry run with --restart" -- perso_rerun --subject "/CN=rerun" --restart --dry-run
after=$(python3 -c 'import sqlite3; print(sqlite3.connect("out-rerun/journal.sqlite").execute("SELECT count(*) FROM jobs").fetchone()[0])')
[ "$after" = 1 ] && [ "$before" = "$after" ] && pass || fail "a dry run with --restart changed the journal ($before -> $after rows)"

# --- an expired CA is refused before the chip is touched ---
"$TRUSTX_SIM" init expired.json >/dev/null 2>&1
# openssl 3.0 cannot back-date a certificate, so Python's cryptography package makes it.
python3 - <<'PY'
import datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
key = serialization.load_pem_private_key(open("ca.key", "rb").read(), None)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Old CA")])
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(datetime.datetime(2020, 1, 1))
        .not_valid_after(datetime.datetime(2021, 1, 1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
open("old-ca.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
PY
before=$(all_writes expired.json)
if openssl x509 -in old-ca.pem -noout -checkend 0 >/dev/null; then
    fail "could not make an expired CA certificate for the test"
else
    expect_status 1 "personalize with an expired CA" -- "$TRUSTX" -d sim:expired.json personalize \
        --subject "/CN=x" --ca-cert old-ca.pem --ca-key ca.key --out-dir out-expired
    expect_contains "$err" "expired" "expired CA message"
fi
[ "$(all_writes expired.json)" = "$before" ] && pass || fail "an expired CA changed the chip"

# --- a refused key generation leaves no mark that a later run could take as done ---
"$TRUSTX_SIM" init guard.json >/dev/null 2>&1
expect_status 0 "personalize with journal A" -- "$TRUSTX" -d sim:guard.json personalize \
    --subject "/CN=guard" --ca-cert ca.pem --ca-key ca.key --out-dir out-guard-a
before=$(all_writes guard.json)
for attempt in 1 2; do
    expect_status 3 "journal B without --force, attempt $attempt" -- "$TRUSTX" -d sim:guard.json \
        personalize --subject "/CN=guard" --ca-cert ca.pem --ca-key ca.key --out-dir out-guard-b
    expect_contains "$err" "--force" "refusal names --force (attempt $attempt)"
done
[ "$(all_writes guard.json)" = "$before" ] && pass || fail "a refused run changed the chip"

# --- --restart without a subject keeps the journal ---
expect_status 1 "--restart without a subject" -- "$TRUSTX" -d sim:guard.json personalize \
    --ca-cert ca.pem --ca-key ca.key --out-dir out-guard-a --restart
count=$(python3 -c 'import sqlite3; print(sqlite3.connect("out-guard-a/journal.sqlite").execute("SELECT count(*) FROM jobs").fetchone()[0])')
[ "$count" = 1 ] && pass || fail "--restart without a subject deleted the journal record"

# --- output paths are checked before the chip changes ---
"$TRUSTX_SIM" init outputs.json >/dev/null 2>&1
mkdir -p a-folder
before=$(all_writes outputs.json)
expect_status 1 "keygen -o into a missing folder" -- "$TRUSTX" -d sim:outputs.json keygen --slot E0F2 -o /nonexistent/pub.pem
expect_status 1 "csr --new-key -o a folder" -- "$TRUSTX" -d sim:outputs.json csr --slot E0F2 --new-key --subject /CN=x -o a-folder
[ "$(all_writes outputs.json)" = "$before" ] && pass || fail "an unwritable output let the chip change"

# --- an over-long fault specification is refused, not overflowed ---
long_spec=$(python3 -c "print('flip=0,' * 100 + 'seed=1')")
expect_status 1 "over-long faults() specification" -- "$TRUSTX" -d "faults($long_spec)+sim:outputs.json" info

# --- lock makes both slots permanent ---
"$TRUSTX_SIM" init lock.json >/dev/null 2>&1
expect_status 0 "personalize --lock --yes" -- "$TRUSTX" -d sim:lock.json personalize --subject "/CN=locked" \
    --ca-cert ca.pem --ca-key ca.key --out-dir out-lock --lock --yes
expect_status 0 "metadata after lock" -- "$TRUSTX" -d sim:lock.json --json object metadata E0E1
expect_contains "$out" '"lifecycle":	"operational"' "certificate slot lifecycle"
expect_status 3 "write into a locked slot" -- "$TRUSTX" -d sim:lock.json object write E0E1 --hex 00
expect_status 3 "keygen into a locked key slot" -- "$TRUSTX" -d sim:lock.json keygen --slot E0F1 --force

finish
