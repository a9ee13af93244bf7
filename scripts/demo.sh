#!/bin/sh
# SPDX-License-Identifier: MIT
# make demo: personalizes a factory-fresh simulated chip with a demo CA, then
# checks the CSR and the certificate with openssl and shows the summary.
set -eu
build=${1:-build}
trustx=$build/trustx
sim=$build/trustx-sim
work=${TRUSTX_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/trustx-demo.XXXXXX")}
mkdir -p "$work"

echo "== A factory-fresh simulated OPTIGA Trust X in $work/chip.json"
"$sim" init --force "$work/chip.json"
"$trustx" -d "sim:$work/chip.json" info

echo
echo "== A demo CA (self-signed P-256) made with openssl"
openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -subj "/O=trustx demo/CN=trustx demo CA" -days 7400 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$work/ca.pem"

cat >"$work/config.jsn" <<'JSON'
{
    "CN": "trustx demo device",
    "O": "Example Manufacturing",
    "C": "DE",
    "ST": "Bavaria"
}
JSON

echo
echo "== trustx personalize"
rm -rf "$work/out"
"$trustx" -d "sim:$work/chip.json" personalize --config "$work/config.jsn" \
    --ca-cert "$work/ca.pem" --ca-key "$work/ca.key" --out-dir "$work/out"

csr=$(ls "$work"/out/*.csr.pem)
cert=$(ls "$work"/out/*.cert.pem)
summary=$(ls "$work"/out/*.summary.json)

echo
echo "== openssl checks the CSR and the certificate"
openssl req -in "$csr" -verify -noout -subject
openssl verify -CAfile "$work/ca.pem" "$cert"
"$trustx" -d "sim:$work/chip.json" cert read -o "$work/readback.pem"
cmp "$work/readback.pem" "$cert" && echo "certificate read back from 0xE0E1 is byte-identical"

echo
echo "== summary ($summary)"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [d.pop(k, None) for k in ("csr_pem","certificate_pem")]; print(json.dumps(d, indent=2))' "$summary"

echo
echo "== the chip after personalization"
"$trustx" -d "sim:$work/chip.json" info
echo
echo "Demo files are in $work"
