/* SPDX-License-Identifier: MIT */
/*
 * Chip commands through the whole stack (command layer, host protocol stack,
 * sim: transport, simulated chip): signatures checked with OpenSSL directly,
 * VerifySign on the chip, chunked object transfers, metadata round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>

#include "trustx/cmd.h"

#define SIGNATURES_PER_CURVE 1000

static char state_path[256];

static int open_fresh_chip(void **state)
{
    snprintf(state_path, sizeof(state_path), "/tmp/trustx-test-chip-sim-%ld.json",
             (long)getpid());
    unlink(state_path);
    return 0;
}

static int remove_chip(void **state)
{
    char lock[300];

    unlink(state_path);
    snprintf(lock, sizeof(lock), "%s.lock", state_path);
    unlink(lock);
    return 0;
}

static trustx_chip *open_chip(void)
{
    char device[300];
    trustx_chip *chip = NULL;

    snprintf(device, sizeof(device), "sim:%s", state_path);
    assert_int_equal(trustx_chip_open(device, NULL, &chip), TRUSTX_OK);
    return chip;
}

/* Builds an OpenSSL public key from an uncompressed point, independent of trustx's PKI code. */
static EVP_PKEY *public_key(trustx_curve curve, const uint8_t *pub, size_t len)
{
    const char *group = curve == TRUSTX_CURVE_P384 ? "P-384" : "P-256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, len), OSSL_PARAM_END};
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;

    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

static int openssl_verifies(EVP_PKEY *key, const uint8_t *digest, size_t digest_len,
                            const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
             EVP_PKEY_verify(ctx, sig, sig_len, digest, digest_len) == 1;

    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static void sign_many(trustx_curve curve, uint16_t slot, size_t digest_len)
{
    trustx_chip *chip = open_chip();
    uint8_t pub[TRUSTX_PUBKEY_MAX], digest[48], sig[TRUSTX_SIG_DER_MAX];
    size_t pub_len = 0, sig_len = 0;
    EVP_PKEY *key;

    assert_int_equal(trustx_gen_keypair(chip, slot, curve, TRUSTX_KEY_USAGE_SIGN, pub,
                                        sizeof(pub), &pub_len),
                     TRUSTX_OK);
    key = public_key(curve, pub, pub_len);

    for (int i = 0; i < SIGNATURES_PER_CURVE; i++) {
        for (size_t j = 0; j < digest_len; j++)
            digest[j] = (uint8_t)(i * 31 + j * 7);
        assert_int_equal(trustx_calc_sign(chip, slot, digest, digest_len, sig, sizeof(sig),
                                          &sig_len),
                         TRUSTX_OK);
        assert_true(openssl_verifies(key, digest, digest_len, sig, sig_len));
    }

    EVP_PKEY_free(key);
    trustx_chip_close(chip);
}

static void calc_sign_p256_verifies(void **state)
{
    sign_many(TRUSTX_CURVE_P256, TRUSTX_OID_KEY1, 32);
}

static void calc_sign_p384_verifies(void **state)
{
    sign_many(TRUSTX_CURVE_P384, TRUSTX_OID_KEY2, 48);
}

static void verify_sign_on_chip(void **state)
{
    trustx_chip *chip = open_chip();
    uint8_t pub[TRUSTX_PUBKEY_MAX], digest[32], sig[TRUSTX_SIG_DER_MAX];
    size_t pub_len = 0, sig_len = 0;

    memset(digest, 0x5A, sizeof(digest));
    assert_int_equal(trustx_gen_keypair(chip, TRUSTX_OID_KEY3, TRUSTX_CURVE_P256,
                                        TRUSTX_KEY_USAGE_SIGN, pub, sizeof(pub), &pub_len),
                     TRUSTX_OK);
    assert_int_equal(trustx_calc_sign(chip, TRUSTX_OID_KEY3, digest, sizeof(digest), sig,
                                      sizeof(sig), &sig_len),
                     TRUSTX_OK);
    assert_int_equal(trustx_verify_sign(chip, TRUSTX_CURVE_P256, pub, pub_len, digest,
                                        sizeof(digest), sig, sig_len),
                     TRUSTX_OK);

    digest[0] ^= 1;
    assert_int_equal(trustx_verify_sign(chip, TRUSTX_CURVE_P256, pub, pub_len, digest,
                                        sizeof(digest), sig, sig_len),
                     TRUSTX_E_VERIFY);

    /* A signature longer than any ECDSA-Sig-Value is rejected before it is copied. */
    {
        uint8_t big[129];

        memset(big, 0x02, sizeof(big));
        big[0] = 0x30;
        big[1] = 0x7F;
        assert_int_equal(trustx_verify_sign(chip, TRUSTX_CURVE_P256, pub, pub_len, digest,
                                            sizeof(digest), big, sizeof(big)),
                         TRUSTX_E_INVALID_ARG);
    }
    trustx_chip_close(chip);
}

static void chunked_write_and_read(void **state)
{
    trustx_chip *chip = open_chip();
    static uint8_t data[1700], back[1800];
    size_t len = 0;

    /* 1700 bytes need two write chunks and two read chunks at a 1557-byte buffer. */
    assert_true(sizeof(data) > trustx_chip_max_apdu(chip) - 8);
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 13 + 1);

    assert_int_equal(trustx_set_data(chip, TRUSTX_OID_CERT2, 0, data, sizeof(data), 1),
                     TRUSTX_OK);
    assert_int_equal(trustx_get_data(chip, TRUSTX_OID_CERT2, 0, back, sizeof(back), &len),
                     TRUSTX_OK);
    assert_int_equal(len, sizeof(data));
    assert_memory_equal(back, data, sizeof(data));

    /* An offset read returns the tail. */
    assert_int_equal(trustx_get_data(chip, TRUSTX_OID_CERT2, 1600, back, sizeof(back), &len),
                     TRUSTX_OK);
    assert_int_equal(len, 100);
    assert_memory_equal(back, data + 1600, 100);

    /* Erase & write of a shorter object ends it after the new data. */
    assert_int_equal(trustx_set_data(chip, TRUSTX_OID_CERT2, 0, data, 10, 1), TRUSTX_OK);
    assert_int_equal(trustx_get_data(chip, TRUSTX_OID_CERT2, 0, back, sizeof(back), &len),
                     TRUSTX_OK);
    assert_int_equal(len, 10);
    trustx_chip_close(chip);
}

static void metadata_round_trip(void **state)
{
    trustx_chip *chip = open_chip();
    trustx_metadata md, back;
    uint8_t tlv[64];
    size_t len = 0;

    trustx_metadata_init(&md);
    assert_int_equal(trustx_ac_parse("LcsO<op||LcsG==0x07", &md.read), TRUSTX_OK);
    md.lcso = 0x03;
    assert_int_equal(trustx_metadata_encode(&md, tlv, sizeof(tlv), &len), TRUSTX_OK);
    assert_int_equal(trustx_set_metadata(chip, 0xF1D5, tlv, len), TRUSTX_OK);

    assert_int_equal(trustx_get_metadata(chip, 0xF1D5, tlv, sizeof(tlv), &len), TRUSTX_OK);
    assert_int_equal(trustx_metadata_decode(tlv, len, &back), TRUSTX_OK);
    assert_int_equal(back.lcso, 0x03);
    assert_int_equal(back.read.len, md.read.len);
    assert_memory_equal(back.read.bytes, md.read.bytes, md.read.len);
    assert_int_equal(back.max_size, 100);

    /* A lifecycle only rises: writing creation back is refused by the chip. */
    trustx_metadata_init(&md);
    md.lcso = 0x01;
    assert_int_equal(trustx_metadata_encode(&md, tlv, sizeof(tlv), &len), TRUSTX_OK);
    assert_int_equal(trustx_set_metadata(chip, 0xF1D5, tlv, len), TRUSTX_E_DEVICE);
    assert_int_equal(trustx_error_last()->device_code, TRUSTX_DEV_ACCESS_DENIED);
    trustx_chip_close(chip);
}

static void chip_errors_by_name(void **state)
{
    trustx_chip *chip = open_chip();
    uint8_t buf[64], pub[TRUSTX_PUBKEY_MAX];
    size_t len = 0;

    assert_int_equal(trustx_get_data(chip, 0xE0E9, 0, buf, sizeof(buf), &len), TRUSTX_E_DEVICE);
    assert_int_equal(trustx_error_last()->device_code, TRUSTX_DEV_INVALID_OID);
    assert_non_null(strstr(trustx_error_last()->message, "no such object"));

    assert_int_equal(trustx_gen_keypair(chip, TRUSTX_OID_DEVICE_KEY, TRUSTX_CURVE_P256,
                                        TRUSTX_KEY_USAGE_SIGN, pub, sizeof(pub), &len),
                     TRUSTX_E_DEVICE);
    assert_int_equal(trustx_error_last()->device_code, TRUSTX_DEV_ACCESS_DENIED);
    assert_non_null(strstr(trustx_error_last()->message, "access conditions not satisfied"));
    trustx_chip_close(chip);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calc_sign_p256_verifies),
        cmocka_unit_test(calc_sign_p384_verifies),
        cmocka_unit_test(verify_sign_on_chip),
        cmocka_unit_test(chunked_write_and_read),
        cmocka_unit_test(metadata_round_trip),
        cmocka_unit_test(chip_errors_by_name),
    };
    return cmocka_run_group_tests(tests, open_fresh_chip, remove_chip);
}
