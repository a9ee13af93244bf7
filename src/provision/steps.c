/* SPDX-License-Identifier: MIT */
/*
 * Single personalization steps on a chip: key generation with its guards,
 * public key recovery, a CSR signed by the chip, the key-pairing proof,
 * certificate installation with read-back, and locking.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trustx/log.h"
#include "trustx/provision.h"

#define CHALLENGE_BYTES 32
#define KEY_USAGE_DEFAULT (TRUSTX_KEY_USAGE_SIGN | TRUSTX_KEY_USAGE_AUTH)

const uint8_t trustx_lock_metadata[5] = {0x20, 0x03, 0xC0, 0x01, 0x07};

uint16_t trustx_paired_cert_slot(uint16_t key_slot)
{
    if (key_slot >= TRUSTX_OID_DEVICE_KEY && key_slot <= TRUSTX_OID_KEY3)
        return (uint16_t)(TRUSTX_OID_DEVICE_CERT + (key_slot - TRUSTX_OID_DEVICE_KEY));
    return 0;
}

trustx_rc trustx_check_key_slot(uint16_t key_slot)
{
    if (key_slot < TRUSTX_OID_DEVICE_KEY || key_slot > TRUSTX_OID_KEY3)
        return trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_INVALID_ARG,
                           "0x%04X is not a key slot; use 0xE0F1, 0xE0F2 or 0xE0F3", key_slot);
    return TRUSTX_OK;
}

trustx_rc trustx_check_cert_slot(uint16_t cert_slot)
{
    if (cert_slot < TRUSTX_OID_DEVICE_CERT || cert_slot > TRUSTX_OID_CERT3)
        return trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_INVALID_ARG,
                           "0x%04X is not a certificate slot; use 0xE0E1, 0xE0E2 or 0xE0E3",
                           cert_slot);
    return TRUSTX_OK;
}

trustx_rc trustx_slot_certificate(trustx_chip *chip, uint16_t cert_slot, int *present,
                                  char *desc, size_t cap)
{
    uint8_t data[TRUSTX_PKI_SLOT_MAX];
    size_t len = 0;
    trustx_pki_chain chain;
    trustx_pki_slot_format format;
    trustx_rc rc = trustx_get_data(chip, cert_slot, 0, data, sizeof(data), &len);

    *present = 0;
    if (rc != TRUSTX_OK)
        return rc;

    trustx_pki_chain_init(&chain);
    rc = trustx_pki_slot_decode(data, len, &format, &chain);
    if (rc == TRUSTX_OK) {
        char full[2048];

        *present = 1;
        /* The first line of the description is the subject. */
        if (desc != NULL && trustx_pki_cert_describe(chain.certs[0], full, sizeof(full)) ==
                                TRUSTX_OK)
            snprintf(desc, cap, "%.*s", (int)strcspn(full, "\n"), full);
    } else if (rc == TRUSTX_E_NOT_FOUND || len == 0) {
        rc = TRUSTX_OK;   /* empty or all zero */
        trustx_error_clear();
    } else {
        /* Bytes that are not a certificate still hold something; report, do not hide. */
        *present = 1;
        if (desc != NULL)
            snprintf(desc, cap, "%zu bytes that are not a certificate", len);
        trustx_error_clear();
        rc = TRUSTX_OK;
    }
    trustx_pki_chain_clear(&chain);
    return rc;
}

/*
 * Evaluates the simple change conditions a delivered chip uses (ALW, NEV, one
 * LcsO comparison) against the slot's lifecycle: 1 allowed, 0 denied, -1 when
 * the condition needs the chip to decide.
 */
static int change_allowed(const trustx_metadata *md)
{
    const trustx_ac *ac = &md->change;
    int lcso = md->lcso >= 0 ? md->lcso : 0x07;

    if (!ac->present || (ac->len == 1 && ac->bytes[0] == 0xFF))
        return 0;
    if (ac->len == 1 && ac->bytes[0] == 0x00)
        return 1;
    if (ac->len == 3 && ac->bytes[0] == 0xE1) {
        switch (ac->bytes[1]) {
        case 0xFA: return lcso == ac->bytes[2];
        case 0xFB: return lcso > ac->bytes[2];
        case 0xFC: return lcso < ac->bytes[2];
        default: return -1;
        }
    }
    return -1;
}

/* Refuses a key generation the slot's metadata forbids, before the chip is asked. */
trustx_rc trustx_check_writable(trustx_chip *chip, uint16_t oid, const char *what)
{
    trustx_metadata md;
    char change[48];
    trustx_rc rc = trustx_read_metadata(chip, oid, &md);

    if (rc != TRUSTX_OK || change_allowed(&md) != 0)
        return rc;

    trustx_ac_format(&md.change, change, sizeof(change));
    return trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_STATE,
                       "%s 0x%04X is not allowed: its change access condition is %s and its "
                       "lifecycle is %s (access conditions not satisfied)",
                       what, oid, change, md.lcso >= 0 ? trustx_lcs_name(md.lcso) : "operational");
}

static trustx_rc check_key_slot_writable(trustx_chip *chip, uint16_t key_slot)
{
    return trustx_check_writable(chip, key_slot, "key generation into");
}

/* Adds the slot's lifecycle and change condition to a refusal, so the user sees why. */
static void explain_refusal(trustx_chip *chip, uint16_t oid)
{
    trustx_error saved = *trustx_error_last();
    trustx_metadata md;
    char change[48];

    if (trustx_read_metadata(chip, oid, &md) != TRUSTX_OK) {
        trustx_fail(saved.layer, saved.rc, "%s", saved.message);
        trustx_error_set_device_code(saved.device_code);
        return;
    }
    trustx_ac_format(&md.change, change, sizeof(change));
    trustx_fail(saved.layer, saved.rc, "%s (0x%04X: change access condition %s, lifecycle %s)",
                saved.message, oid, change,
                md.lcso >= 0 ? trustx_lcs_name(md.lcso) : "operational");
    trustx_error_set_device_code(saved.device_code);
}

trustx_rc trustx_keygen_check(trustx_chip *chip, uint16_t key_slot, int force)
{
    uint16_t cert_slot = trustx_paired_cert_slot(key_slot);
    char desc[256] = "";
    int present = 0;
    trustx_rc rc = trustx_check_key_slot(key_slot);

    if (rc == TRUSTX_OK)
        rc = check_key_slot_writable(chip, key_slot);
    if (rc == TRUSTX_OK && cert_slot != 0 && !force)
        rc = trustx_slot_certificate(chip, cert_slot, &present, desc, sizeof(desc));
    if (rc != TRUSTX_OK)
        return rc;
    if (present)
        return trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_STATE,
                           "0x%04X holds a certificate (%s) for the current key in 0x%04X; a new "
                           "key would leave it matching nothing. Add --force to replace the key",
                           cert_slot, desc, key_slot);
    return TRUSTX_OK;
}

trustx_rc trustx_keygen_unchecked(trustx_chip *chip, uint16_t key_slot, trustx_curve curve,
                                  uint8_t *pub, size_t cap, size_t *pub_len)
{
    trustx_rc rc = trustx_gen_keypair(chip, key_slot, curve, KEY_USAGE_DEFAULT, pub, cap,
                                      pub_len);
    if (rc == TRUSTX_E_DEVICE && trustx_error_last()->device_code == TRUSTX_DEV_ACCESS_DENIED)
        explain_refusal(chip, key_slot);
    if (rc == TRUSTX_OK)
        trustx_log(TRUSTX_LOG_INFO, "provision", "generated a %s key in 0x%04X",
                   trustx_pki_curve_name(curve), key_slot);
    return rc;
}

trustx_rc trustx_keygen(trustx_chip *chip, uint16_t key_slot, trustx_curve curve, int force,
                        uint8_t *pub, size_t cap, size_t *pub_len)
{
    trustx_rc rc = trustx_keygen_check(chip, key_slot, force);

    if (rc == TRUSTX_OK)
        rc = trustx_keygen_unchecked(chip, key_slot, curve, pub, cap, pub_len);
    return rc;
}

/* Has the chip sign the digest of fresh random bytes. */
static trustx_rc sign_challenge(trustx_chip *chip, uint16_t key_slot, trustx_curve curve,
                                uint8_t *digest, size_t *digest_len, uint8_t *sig,
                                size_t *sig_len)
{
    uint8_t challenge[CHALLENGE_BYTES];
    trustx_rc rc = trustx_get_random(chip, challenge, sizeof(challenge));

    if (rc == TRUSTX_OK)
        rc = trustx_pki_digest(curve, challenge, sizeof(challenge), digest, TRUSTX_PKI_DIGEST_MAX,
                               digest_len);
    if (rc == TRUSTX_OK)
        rc = trustx_calc_sign(chip, key_slot, digest, *digest_len, sig, TRUSTX_PKI_SIG_MAX,
                              sig_len);
    return rc;
}

static trustx_rc slot_curve(trustx_chip *chip, uint16_t key_slot, trustx_curve *curve)
{
    trustx_metadata md;
    trustx_rc rc = trustx_read_metadata(chip, key_slot, &md);

    if (rc != TRUSTX_OK)
        return rc;
    if (md.algorithm != TRUSTX_CURVE_P256 && md.algorithm != TRUSTX_CURVE_P384)
        return trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_NOT_FOUND,
                           "0x%04X holds no ECC key (its metadata names no curve); generate one "
                           "first with --new-key",
                           key_slot);
    *curve = (trustx_curve)md.algorithm;
    return TRUSTX_OK;
}

trustx_rc trustx_slot_public_key(trustx_chip *chip, uint16_t key_slot, trustx_curve *curve,
                                 uint8_t *pub, size_t cap, size_t *pub_len)
{
    uint8_t d1[TRUSTX_PKI_DIGEST_MAX], d2[TRUSTX_PKI_DIGEST_MAX];
    uint8_t s1[TRUSTX_PKI_SIG_MAX], s2[TRUSTX_PKI_SIG_MAX];
    size_t d1_len = 0, d2_len = 0, s1_len = 0, s2_len = 0;
    trustx_rc rc = slot_curve(chip, key_slot, curve);

    if (rc == TRUSTX_OK)
        rc = sign_challenge(chip, key_slot, *curve, d1, &d1_len, s1, &s1_len);
    if (rc == TRUSTX_OK)
        rc = sign_challenge(chip, key_slot, *curve, d2, &d2_len, s2, &s2_len);
    if (rc == TRUSTX_OK)
        rc = trustx_pki_recover_public_key(*curve, d1, s1, s1_len, d2, s2, s2_len, d1_len, pub,
                                           cap, pub_len);
    if (rc != TRUSTX_OK)
        trustx_error_prefix("reading the public key of 0x%04X", key_slot);
    return rc;
}

typedef struct chip_signer {
    trustx_chip *chip;
    uint16_t key_slot;
} chip_signer;

static trustx_rc sign_with_chip(void *user, const uint8_t *digest, size_t digest_len,
                                uint8_t *sig, size_t cap, size_t *sig_len)
{
    chip_signer *signer = user;

    return trustx_calc_sign(signer->chip, signer->key_slot, digest, digest_len, sig, cap,
                            sig_len);
}

trustx_rc trustx_make_csr(trustx_chip *chip, uint16_t key_slot, trustx_curve curve,
                          const uint8_t *pub, size_t pub_len, const trustx_pki_subject *subject,
                          uint8_t **der, size_t *der_len)
{
    chip_signer signer = {chip, key_slot};
    trustx_rc rc = trustx_pki_csr_build(subject, curve, pub, pub_len, sign_with_chip, &signer,
                                        der, der_len);

    if (rc == TRUSTX_OK)
        rc = trustx_pki_csr_check(*der, *der_len, curve, pub, pub_len);
    if (rc != TRUSTX_OK && *der != NULL) {
        free(*der);
        *der = NULL;
    }
    return rc;
}

trustx_rc trustx_prove_pairing(trustx_chip *chip, uint16_t key_slot, const trustx_pki_cert *cert)
{
    uint8_t pub[TRUSTX_PUBKEY_MAX];
    uint8_t digest[TRUSTX_PKI_DIGEST_MAX];
    uint8_t sig[TRUSTX_PKI_SIG_MAX];
    size_t pub_len = 0, digest_len = 0, sig_len = 0;
    trustx_curve curve;
    trustx_rc rc = trustx_pki_cert_public_key(cert, &curve, pub, sizeof(pub), &pub_len);

    if (rc == TRUSTX_OK)
        rc = sign_challenge(chip, key_slot, curve, digest, &digest_len, sig, &sig_len);
    if (rc == TRUSTX_E_DEVICE && trustx_error_last()->device_code == TRUSTX_DEV_OUT_OF_SEQUENCE)
        trustx_error_prefix("0x%04X holds no key to match the certificate with; generate one "
                            "first (trustx keygen --slot 0x%04X)",
                            key_slot, key_slot);
    if (rc == TRUSTX_OK)
        rc = trustx_pki_cert_verify_digest(cert, digest, digest_len, sig, sig_len);
    if (rc == TRUSTX_E_VERIFY)
        return trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_VERIFY,
                           "the certificate's public key does not match the key in 0x%04X: a "
                           "signature the chip made with 0x%04X does not verify with it",
                           key_slot, key_slot);
    return rc;
}

static trustx_rc read_back_compare(trustx_chip *chip, uint16_t cert_slot, const uint8_t *want,
                                   size_t len)
{
    uint8_t got[TRUSTX_PKI_SLOT_MAX];
    size_t got_len = 0;
    trustx_rc rc = trustx_get_data(chip, cert_slot, 0, got, sizeof(got), &got_len);

    if (rc != TRUSTX_OK)
        return rc;
    if (got_len != len || memcmp(got, want, len) != 0)
        return trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_VERIFY,
                           "read-back of 0x%04X differs from what was written (%zu bytes read, "
                           "%zu written)",
                           cert_slot, got_len, len);
    return TRUSTX_OK;
}

trustx_rc trustx_install_certificate(trustx_chip *chip, uint16_t cert_slot, uint16_t key_slot,
                                     const trustx_pki_chain *chain,
                                     trustx_pki_slot_format format,
                                     trustx_install_result *result)
{
    uint8_t object[TRUSTX_PKI_SLOT_MAX];
    uint8_t current[TRUSTX_PKI_SLOT_MAX];
    size_t len = 0, current_len = 0;
    trustx_rc rc = trustx_check_cert_slot(cert_slot);

    memset(result, 0, sizeof(*result));
    if (rc == TRUSTX_OK)
        rc = trustx_check_key_slot(key_slot);
    if (rc == TRUSTX_OK && chain->count == 0)
        rc = trustx_fail(TRUSTX_LAYER_PROVISION, TRUSTX_E_INVALID_ARG, "no certificate given");
    if (rc == TRUSTX_OK)
        rc = trustx_pki_slot_encode(chain, format, object, sizeof(object), &len);
    if (rc != TRUSTX_OK)
        return rc;

    /* The pairing proof comes before any write, so a wrong certificate changes nothing. */
    rc = trustx_prove_pairing(chip, key_slot, chain->certs[0]);
    if (rc == TRUSTX_OK)
        rc = trustx_get_data(chip, cert_slot, 0, current, sizeof(current), &current_len);
    if (rc != TRUSTX_OK)
        return rc;

    result->bytes = len;
    if (current_len == len && memcmp(current, object, len) == 0) {
        result->unchanged = 1;
        trustx_log(TRUSTX_LOG_INFO, "provision", "0x%04X already holds this certificate",
                   cert_slot);
        return TRUSTX_OK;
    }

    rc = trustx_set_data(chip, cert_slot, 0, object, len, 1);
    if (rc == TRUSTX_E_DEVICE && trustx_error_last()->device_code == TRUSTX_DEV_ACCESS_DENIED)
        explain_refusal(chip, cert_slot);
    if (rc == TRUSTX_OK)
        rc = read_back_compare(chip, cert_slot, object, len);
    return rc;
}

/* Locks one slot unless its lifecycle is operational already (a locked slot may refuse). */
static trustx_rc lock_slot(trustx_chip *chip, uint16_t oid)
{
    trustx_metadata md;
    trustx_rc rc = trustx_read_metadata(chip, oid, &md);

    if (rc != TRUSTX_OK || (md.lcso < 0 || md.lcso >= 0x07))
        return rc;
    return trustx_set_metadata(chip, oid, trustx_lock_metadata, sizeof(trustx_lock_metadata));
}

trustx_rc trustx_lock_slots(trustx_chip *chip, uint16_t key_slot)
{
    trustx_rc rc = trustx_check_key_slot(key_slot);

    if (rc == TRUSTX_OK)
        rc = lock_slot(chip, trustx_paired_cert_slot(key_slot));
    if (rc == TRUSTX_OK)
        rc = lock_slot(chip, key_slot);
    return rc;
}
