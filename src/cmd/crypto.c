/* SPDX-License-Identifier: MIT */
/*
 * Key commands: GenKeyPair into a key slot, CalcSign and VerifySign with
 * ECDSA over a digest. The chip carries public keys as DER BIT STRINGs and
 * signatures as two DER INTEGERs without the SEQUENCE header. This file
 * converts them to the uncompressed point and the X.509 ECDSA-Sig-Value.
 */
#include <stdio.h>
#include <string.h>

#include "cmd_internal.h"

#define ECDSA_WITHOUT_HASH 0x11
#define DIGEST_MAX 64

static size_t curve_bytes(trustx_curve curve)
{
    return curve == TRUSTX_CURVE_P384 ? TRUSTX_P384_BYTES : TRUSTX_P256_BYTES;
}

static trustx_rc check_curve(trustx_curve curve)
{
    if (curve != TRUSTX_CURVE_P256 && curve != TRUSTX_CURVE_P384)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_INVALID_ARG,
                           "curve 0x%02X is not supported; use P-256 (0x03) or P-384 (0x04)",
                           (unsigned)curve);
    return TRUSTX_OK;
}

/* Finds TLV tag in a sequence of Tag(1) Len(2) Value items. */
static const uint8_t *find_tlv(const uint8_t *buf, size_t len, uint8_t tag, size_t *value_len)
{
    size_t pos = 0;

    while (pos + 3 <= len) {
        size_t n = (size_t)buf[pos + 1] << 8 | buf[pos + 2];

        if (pos + 3 + n > len)
            return NULL;
        if (buf[pos] == tag) {
            *value_len = n;
            return buf + pos + 3;
        }
        pos += 3 + n;
    }
    return NULL;
}

trustx_rc trustx_gen_keypair(trustx_chip *chip, uint16_t key_oid, trustx_curve curve,
                             uint8_t key_usage, uint8_t *pub, size_t cap, size_t *pub_len)
{
    uint8_t apdu[13] = {TRUSTX_CMD_GEN_KEY_PAIR, (uint8_t)curve, 0x00, 0x09, 0x01, 0x00, 0x02,
                        0x00, 0x00, 0x02, 0x00, 0x01, key_usage};
    uint8_t resp[4 + 128];
    size_t resp_len = 0;
    size_t n = 2 * curve_bytes(curve) + 1;
    size_t value_len = 0;
    const uint8_t *bits;
    char what[48];
    trustx_rc rc = check_curve(curve);

    if (rc != TRUSTX_OK)
        return rc;
    if (cap < n)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_OVERFLOW,
                           "public key buffer of %zu bytes is smaller than %zu", cap, n);

    cmd_put16(apdu + 7, key_oid);
    snprintf(what, sizeof(what), "GenKeyPair into 0x%04X", key_oid);
    rc = cmd_exchange(chip, what, apdu, sizeof(apdu), resp, sizeof(resp), &resp_len,
                      curve == TRUSTX_CURVE_P384 ? CMD_EXEC_GENKEY_P384_US
                                                 : CMD_EXEC_GENKEY_P256_US);
    if (rc != TRUSTX_OK)
        return rc;

    /* Tag 0x02 contains BIT STRING 03 LL 00 04 X Y. */
    bits = find_tlv(resp + 4, resp_len - 4, 0x02, &value_len);
    if (bits == NULL || value_len != n + 3 || bits[0] != 0x03 || bits[1] != n + 1 ||
        bits[2] != 0x00 || bits[3] != 0x04)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_PROTOCOL,
                           "%s: response carries no valid public key BIT STRING", what);

    memcpy(pub, bits + 3, n);
    *pub_len = n;
    return TRUSTX_OK;
}

/* Reads one DER INTEGER at buf; returns its length in bytes consumed or 0 if malformed. */
static size_t parse_integer(const uint8_t *buf, size_t len, const uint8_t **value,
                            size_t *value_len)
{
    size_t n;

    if (len < 2 || buf[0] != 0x02 || buf[1] >= 0x80)
        return 0;
    n = buf[1];
    if (n == 0 || 2 + n > len)
        return 0;

    *value = buf + 2;
    *value_len = n;
    /* Accept non-minimal encodings by stripping leading zero bytes. */
    while (*value_len > 1 && (*value)[0] == 0x00) {
        (*value)++;
        (*value_len)--;
    }
    return 2 + n;
}

/* Appends a minimal DER INTEGER for the unsigned big-endian value. */
static size_t put_integer(uint8_t *out, const uint8_t *value, size_t len)
{
    size_t pad = (value[0] & 0x80) ? 1 : 0;

    out[0] = 0x02;
    out[1] = (uint8_t)(len + pad);
    out[2] = 0x00;
    memcpy(out + 2 + pad, value, len);
    return 2 + pad + len;
}

/* Turns the chip's "02 Lr r 02 Ls s" into a DER SEQUENCE. */
static trustx_rc wrap_signature(const uint8_t *raw, size_t raw_len, size_t field, uint8_t *sig,
                                size_t cap, size_t *sig_len)
{
    const uint8_t *r, *s;
    size_t r_len, s_len, used_r, used_s, body;
    uint8_t tmp[TRUSTX_SIG_DER_MAX];

    used_r = parse_integer(raw, raw_len, &r, &r_len);
    used_s = used_r ? parse_integer(raw + used_r, raw_len - used_r, &s, &s_len) : 0;
    if (used_s == 0 || used_r + used_s != raw_len || r_len > field || s_len > field)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_PROTOCOL,
                           "CalcSign returned a malformed signature of %zu bytes", raw_len);

    body = put_integer(tmp, r, r_len);
    body += put_integer(tmp + body, s, s_len);
    if (body + 2 > cap || body >= 0x80)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_OVERFLOW,
                           "signature buffer of %zu bytes is too small", cap);

    sig[0] = 0x30;
    sig[1] = (uint8_t)body;
    memcpy(sig + 2, tmp, body);
    *sig_len = body + 2;
    return TRUSTX_OK;
}

trustx_rc trustx_calc_sign(trustx_chip *chip, uint16_t key_oid, const uint8_t *digest,
                           size_t digest_len, uint8_t *sig, size_t cap, size_t *sig_len)
{
    uint8_t apdu[4 + 3 + DIGEST_MAX + 5];
    uint8_t resp[4 + TRUSTX_SIG_DER_MAX];
    size_t resp_len = 0;
    size_t pos = 4;
    char what[48];
    trustx_rc rc;

    if (digest_len < 8 || digest_len > DIGEST_MAX)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_INVALID_ARG,
                           "digest of %zu bytes is invalid; use 8..%d bytes", digest_len,
                           DIGEST_MAX);

    apdu[0] = TRUSTX_CMD_CALC_SIGN;
    apdu[1] = ECDSA_WITHOUT_HASH;
    apdu[pos++] = 0x01;
    cmd_put16(apdu + pos, (unsigned)digest_len);
    pos += 2;
    memcpy(apdu + pos, digest, digest_len);
    pos += digest_len;
    apdu[pos++] = 0x03;
    cmd_put16(apdu + pos, 2);
    cmd_put16(apdu + pos + 2, key_oid);
    pos += 4;
    cmd_put16(apdu + 2, (unsigned)(pos - 4));

    snprintf(what, sizeof(what), "CalcSign with 0x%04X", key_oid);
    rc = cmd_exchange(chip, what, apdu, pos, resp, sizeof(resp), &resp_len,
                      digest_len > 32 ? CMD_EXEC_SIGN_P384_US : CMD_EXEC_SIGN_P256_US);
    if (rc != TRUSTX_OK)
        return rc;
    return wrap_signature(resp + 4, resp_len - 4, TRUSTX_P384_BYTES, sig, cap, sig_len);
}

/* Turns a DER ECDSA-Sig-Value into the chip's two INTEGERs (same bytes, header dropped). */
static trustx_rc unwrap_signature(const uint8_t *sig, size_t sig_len, const uint8_t **raw,
                                  size_t *raw_len)
{
    if (sig_len < 8 || sig_len > TRUSTX_SIG_DER_MAX || sig[0] != 0x30 || sig[1] >= 0x80 ||
        (size_t)sig[1] + 2 != sig_len)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_INVALID_ARG,
                           "signature is not a DER ECDSA-Sig-Value (%zu bytes)", sig_len);
    *raw = sig + 2;
    *raw_len = sig_len - 2;
    return TRUSTX_OK;
}

trustx_rc trustx_verify_sign(trustx_chip *chip, trustx_curve curve, const uint8_t *pub,
                             size_t pub_len, const uint8_t *digest, size_t digest_len,
                             const uint8_t *sig, size_t sig_len)
{
    uint8_t apdu[4 + 3 + DIGEST_MAX + 3 + TRUSTX_SIG_DER_MAX + 4 + 3 + 3 + TRUSTX_PUBKEY_MAX];
    uint8_t resp[16];
    size_t resp_len = 0;
    size_t pos = 4;
    const uint8_t *raw = NULL;
    size_t raw_len = 0;
    trustx_rc rc = check_curve(curve);

    if (rc == TRUSTX_OK && (pub_len != 2 * curve_bytes(curve) + 1 || pub[0] != 0x04))
        rc = trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_INVALID_ARG,
                         "public key is not an uncompressed point of this curve");
    if (rc == TRUSTX_OK && (digest_len < 8 || digest_len > DIGEST_MAX))
        rc = trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_INVALID_ARG,
                         "digest of %zu bytes is invalid", digest_len);
    if (rc == TRUSTX_OK)
        rc = unwrap_signature(sig, sig_len, &raw, &raw_len);
    if (rc != TRUSTX_OK)
        return rc;

    apdu[0] = TRUSTX_CMD_VERIFY_SIGN;
    apdu[1] = ECDSA_WITHOUT_HASH;
    apdu[pos++] = 0x01;
    cmd_put16(apdu + pos, (unsigned)digest_len);
    memcpy(apdu + pos + 2, digest, digest_len);
    pos += 2 + digest_len;
    apdu[pos++] = 0x02;
    cmd_put16(apdu + pos, (unsigned)raw_len);
    memcpy(apdu + pos + 2, raw, raw_len);
    pos += 2 + raw_len;
    apdu[pos++] = 0x05;
    cmd_put16(apdu + pos, 1);
    apdu[pos + 2] = (uint8_t)curve;
    pos += 3;
    apdu[pos++] = 0x06;
    cmd_put16(apdu + pos, (unsigned)(pub_len + 3));
    apdu[pos + 2] = 0x03;
    apdu[pos + 3] = (uint8_t)(pub_len + 1);
    apdu[pos + 4] = 0x00;
    memcpy(apdu + pos + 5, pub, pub_len);
    pos += 5 + pub_len;
    cmd_put16(apdu + 2, (unsigned)(pos - 4));

    rc = cmd_exchange(chip, "VerifySign", apdu, pos, resp, sizeof(resp), &resp_len,
                      curve == TRUSTX_CURVE_P384 ? CMD_EXEC_VERIFY_P384_US
                                                 : CMD_EXEC_VERIFY_P256_US);
    if (rc == TRUSTX_E_DEVICE &&
        trustx_error_last()->device_code == TRUSTX_DEV_SIGNATURE_FAILURE)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_VERIFY,
                           "VerifySign: the signature does not verify with the given key");
    return rc;
}
