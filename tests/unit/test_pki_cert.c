/* SPDX-License-Identifier: MIT */
/*
 * Certificates and the chip's certificate slot formats: the AWS-issued
 * certificate from the vendor walkthrough and the exact bytes the vendor's
 * upload tool wrote for it, strict decoding, chains and descriptions.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_pki_common.h"

/* Public key printed by `openssl req -text` for the walkthrough's CSR (same key pair). */
static const char aws_cert_point_hex[] =
    "04fc84c0634328ad8f4ca5f95f1286b01882b1ea0c26f2b7d6399b2726c009e1"
    "6bc82b479cb797cf781a75af2d57450616eb676dc493ff91dfce190601951916ea";

static const char *tmpdir;
static const char *other_pem;   /* a self-signed P-256 certificate made by openssl */
static const char *other_key;

static int setup(void **state)
{
    tmpdir = test_tmpdir_create();
    other_pem = strdup(test_path(tmpdir, "other.pem"));
    other_key = strdup(test_path(tmpdir, "other.key"));
    return test_run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                    "-subj /CN=other -days 2 -keyout %s -out %s 2>/dev/null",
                    other_key, other_pem);
}

static int teardown(void **state)
{
    test_tmpdir_remove(tmpdir);
    free((void *)other_pem);
    free((void *)other_key);
    return 0;
}

static size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;

    for (; hex[0] != '\0' && hex[1] != '\0' && n < cap; hex += 2) {
        unsigned value = 0;

        sscanf(hex, "%2x", &value);
        out[n++] = (uint8_t)value;
    }
    return n;
}

/*
 * Reads a hex dump in the upload tool's layout: "0x000010: " then up to 16
 * bytes as two hex digits and a blank each, then the ASCII column. Checks
 * that the offsets run on without gaps.
 */
static size_t read_hex_dump(const char *path, uint8_t *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    char line[256];
    size_t n = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long offset = 0;
        const char *p = line + 10;

        assert_int_equal(sscanf(line, "0x%6lx:", &offset), 1);
        assert_int_equal(offset, n);
        for (int i = 0; i < 16 && isxdigit((unsigned char)p[0]) &&
                        isxdigit((unsigned char)p[1]) && p[2] == ' ';
             i++, p += 3) {
            unsigned value = 0;

            assert_true(n < cap);
            sscanf(p, "%2x", &value);
            out[n++] = (uint8_t)value;
        }
    }
    fclose(f);
    return n;
}

static void load_aws_cert(trustx_pki_chain *chain)
{
    assert_int_equal(trustx_pki_chain_load(TEST_DATA("aws-issued-cert.pem"), chain), TRUSTX_OK);
    assert_int_equal(chain->count, 1);
}

/* Gets the DER of a PEM certificate from the openssl tool. */
static size_t openssl_der(const char *pem_path, uint8_t *out, size_t cap)
{
    const char *der_path = test_path(tmpdir, "openssl.der");
    FILE *f;
    size_t n;

    assert_int_equal(test_run("openssl x509 -in %s -outform DER -out %s", pem_path, der_path), 0);
    f = fopen(der_path, "rb");
    assert_non_null(f);
    n = fread(out, 1, cap, f);
    fclose(f);
    return n;
}

static void aws_cert_identity_known_answer(void **state)
{
    uint8_t expected[TRUSTX_PKI_SLOT_MAX], encoded[TRUSTX_PKI_SLOT_MAX];
    uint8_t der[TRUSTX_PKI_SLOT_MAX];
    size_t expected_len, encoded_len = 0, der_len, back_len = 0;
    trustx_pki_chain chain, back;
    trustx_pki_slot_format format = TRUSTX_PKI_SLOT_DER;
    const uint8_t *back_der;

    expected_len = read_hex_dump(TEST_DATA("aws-issued-cert-identity.txt"), expected,
                                 sizeof(expected));
    assert_int_equal(expected_len, 733);

    load_aws_cert(&chain);
    assert_int_equal(trustx_pki_slot_encode(&chain, TRUSTX_PKI_SLOT_IDENTITY, encoded,
                                            sizeof(encoded), &encoded_len),
                     TRUSTX_OK);
    assert_int_equal(encoded_len, expected_len);
    assert_memory_equal(encoded, expected, expected_len);

    assert_int_equal(trustx_pki_slot_decode(expected, expected_len, &format, &back), TRUSTX_OK);
    assert_int_equal(format, TRUSTX_PKI_SLOT_IDENTITY);
    assert_int_equal(back.count, 1);
    der_len = openssl_der(TEST_DATA("aws-issued-cert.pem"), der, sizeof(der));
    assert_int_equal(der_len, 724);
    back_der = trustx_pki_cert_der(back.certs[0], &back_len);
    assert_int_equal(back_len, der_len);
    assert_memory_equal(back_der, der, der_len);

    trustx_pki_chain_clear(&back);
    trustx_pki_chain_clear(&chain);
}

static void aws_cert_key_and_pairing(void **state)
{
    uint8_t expected[TRUSTX_PUBKEY_MAX], pub[TRUSTX_PUBKEY_MAX];
    size_t expected_len = hex_decode(aws_cert_point_hex, expected, sizeof(expected));
    size_t pub_len = 0;
    trustx_curve curve = TRUSTX_CURVE_P384;
    trustx_pki_chain chain;
    test_key other;

    load_aws_cert(&chain);
    assert_int_equal(trustx_pki_cert_public_key(chain.certs[0], &curve, pub, sizeof(pub),
                                                &pub_len),
                     TRUSTX_OK);
    assert_int_equal(curve, TRUSTX_CURVE_P256);
    assert_int_equal(pub_len, 65);
    assert_memory_equal(pub, expected, expected_len);
    assert_int_equal(trustx_pki_cert_match_key(chain.certs[0], TRUSTX_CURVE_P256, expected,
                                               expected_len),
                     TRUSTX_OK);

    test_key_new(&other, TRUSTX_CURVE_P256);
    assert_failed_with(trustx_pki_cert_match_key(chain.certs[0], other.curve, other.pub,
                                                 other.pub_len),
                       TRUSTX_E_VERIFY, "issued for another key");
    test_key_free(&other);

    test_key_new(&other, TRUSTX_CURVE_P384);
    assert_failed_with(trustx_pki_cert_match_key(chain.certs[0], other.curve, other.pub,
                                                 other.pub_len),
                       TRUSTX_E_VERIFY, "on P-256 but the expected key is on P-384");
    test_key_free(&other);

    trustx_pki_chain_clear(&chain);
}

static void aws_cert_description(void **state)
{
    trustx_pki_chain chain;
    char text[1024], small[64];
    char *out, *fingerprint;
    int status = -1;

    load_aws_cert(&chain);
    assert_int_equal(trustx_pki_cert_describe(chain.certs[0], text, sizeof(text)), TRUSTX_OK);
    assert_non_null(strstr(text, "subject: CN=AWS IoT Certificate, O=Infineon Technologies AG, "
                                 "C=DE, ST=Germany\n"));
    assert_non_null(strstr(text, "issuer: OU=Amazon Web Services O=Amazon.com Inc."));
    assert_non_null(strstr(text, "serial: 4690F7C584906E2C07514FE0D1AA4FF52D2A3F8E\n"));
    assert_non_null(strstr(text, "valid: 2019-04-11T08:22:11Z to 2049-12-31T23:59:59Z\n"));
    assert_non_null(strstr(text, "key: EC P-256\n"));

    out = test_capture(&status, "openssl x509 -noout -fingerprint -sha256 -in %s",
                       TEST_DATA("aws-issued-cert.pem"));
    assert_int_equal(status, 0);
    fingerprint = strchr(out, '=');
    assert_non_null(fingerprint);
    assert_non_null(strstr(text, fingerprint + 1));   /* the value with its newline */
    free(out);

    assert_failed_with(trustx_pki_cert_describe(chain.certs[0], small, sizeof(small)),
                       TRUSTX_E_OVERFLOW, "buffer holds 64");
    trustx_pki_chain_clear(&chain);
}

static void der_slot_round_trip(void **state)
{
    uint8_t obj[TRUSTX_PKI_SLOT_MAX];
    size_t len = 0, der_len = 0;
    trustx_pki_chain chain, back;
    trustx_pki_slot_format format = TRUSTX_PKI_SLOT_IDENTITY;
    const uint8_t *der;

    load_aws_cert(&chain);
    der = trustx_pki_cert_der(chain.certs[0], &der_len);
    assert_int_equal(trustx_pki_slot_encode(&chain, TRUSTX_PKI_SLOT_DER, obj, sizeof(obj), &len),
                     TRUSTX_OK);
    assert_int_equal(len, der_len);
    assert_memory_equal(obj, der, der_len);

    /* A slot reads back at its full size with zeros after the certificate. */
    memset(obj + len, 0, sizeof(obj) - len);
    assert_int_equal(trustx_pki_slot_decode(obj, sizeof(obj), &format, &back), TRUSTX_OK);
    assert_int_equal(format, TRUSTX_PKI_SLOT_DER);
    assert_int_equal(back.count, 1);
    trustx_pki_chain_clear(&back);

    obj[sizeof(obj) - 1] = 0x01;
    assert_failed_with(trustx_pki_slot_decode(obj, sizeof(obj), NULL, &back),
                       TRUSTX_E_INVALID_ARG, "not zero padding");
    assert_int_equal(back.count, 0);

    assert_failed_with(trustx_pki_slot_decode(obj, der_len - 1, NULL, &back),
                       TRUSTX_E_INVALID_ARG, "claims 724 bytes");
    trustx_pki_chain_clear(&chain);
}

/* Decodes obj after one change and expects the given failure. */
static void expect_decode_failure(const uint8_t *good, size_t len, size_t at, uint8_t value,
                                  trustx_rc rc, const char *message)
{
    uint8_t obj[TRUSTX_PKI_SLOT_MAX];
    trustx_pki_chain chain;

    memcpy(obj, good, len);
    if (at < len)
        obj[at] = value;
    if (trustx_pki_slot_decode(obj, len, NULL, &chain) != rc ||
        strstr(trustx_error_last()->message, message) == NULL)
        fail_msg("byte %zu = 0x%02x: expected \"%s\", got \"%s\"", at, value, message,
                 trustx_error_last()->message);
    assert_int_equal(chain.count, 0);
}

static void identity_decode_rejects_bad_lengths(void **state)
{
    uint8_t good[TRUSTX_PKI_SLOT_MAX];
    size_t len = read_hex_dump(TEST_DATA("aws-issued-cert-identity.txt"), good, sizeof(good));
    trustx_pki_chain chain;

    /* Header: C0 02 DA | 00 02 D7 | 00 02 D4 | DER. */
    assert_int_equal(len, 733);
    expect_decode_failure(good, len, 2, 0xDB, TRUSTX_E_INVALID_ARG, "claims 731 bytes");
    expect_decode_failure(good, len, 2, 0xD9, TRUSTX_E_INVALID_ARG, "lengths disagree");
    expect_decode_failure(good, len, 5, 0xD8, TRUSTX_E_INVALID_ARG, "lengths disagree");
    expect_decode_failure(good, len, 5, 0xD6, TRUSTX_E_INVALID_ARG, "lengths disagree");
    expect_decode_failure(good, len, 8, 0xD5, TRUSTX_E_INVALID_ARG, "claims 725 bytes");
    expect_decode_failure(good, len, 8, 0xD3, TRUSTX_E_INVALID_ARG, "identity certificate 1");
    expect_decode_failure(good, len, 8, 0x00, TRUSTX_E_INVALID_ARG, "identity certificate 1");
    expect_decode_failure(good, len, 9, 0x31, TRUSTX_E_INVALID_ARG, "identity certificate 1");
    expect_decode_failure(good, len - 1, len, 0, TRUSTX_E_INVALID_ARG, "claims 730 bytes");
    expect_decode_failure(good, 5, len, 0, TRUSTX_E_INVALID_ARG, "shorter than its 6-byte header");
    expect_decode_failure(good, len, 0, 0xC2, TRUSTX_E_UNSUPPORTED, "USB Type-C");
    expect_decode_failure(good, len, 0, 0x42, TRUSTX_E_INVALID_ARG, "starts with 0x42");

    /* Zero padding after the chain is fine; anything else is not. */
    memset(good + len, 0, sizeof(good) - len);
    assert_int_equal(trustx_pki_slot_decode(good, sizeof(good), NULL, &chain), TRUSTX_OK);
    trustx_pki_chain_clear(&chain);
    expect_decode_failure(good, sizeof(good), 1000, 0xFF, TRUSTX_E_INVALID_ARG,
                          "byte 1000 is 0xff");
}

static void decode_empty_object(void **state)
{
    uint8_t zeros[64] = {0};
    trustx_pki_chain chain;
    char *pem = NULL;

    assert_failed_with(trustx_pki_slot_decode(zeros, sizeof(zeros), NULL, &chain),
                       TRUSTX_E_NOT_FOUND, "empty");
    assert_failed_with(trustx_pki_slot_decode(zeros, 0, NULL, &chain), TRUSTX_E_NOT_FOUND,
                       "empty");
    assert_failed_with(trustx_pki_chain_pem(&chain, &pem, NULL), TRUSTX_E_INVALID_ARG,
                       "chain is empty");
    assert_null(pem);
}

static void chain_in_identity_format(void **state)
{
    const char *bundle = test_path(tmpdir, "bundle.pem");
    const char *again = test_path(tmpdir, "again.pem");
    uint8_t obj[4096];
    size_t len = 0, pem_len = 0;
    char *pem = NULL;
    trustx_pki_chain chain, back;
    char *out;
    int status = -1;

    assert_int_equal(test_run("(echo 'text before'; cat %s; echo; cat %s) > %s",
                              TEST_DATA("aws-issued-cert.pem"), other_pem, bundle),
                     0);
    assert_int_equal(trustx_pki_chain_load(bundle, &chain), TRUSTX_OK);
    assert_int_equal(chain.count, 2);

    assert_int_equal(trustx_pki_slot_encode(&chain, TRUSTX_PKI_SLOT_IDENTITY, obj, sizeof(obj),
                                            &len),
                     TRUSTX_OK);
    assert_int_equal(trustx_pki_slot_decode(obj, len, NULL, &back), TRUSTX_OK);
    assert_int_equal(back.count, 2);
    for (size_t i = 0; i < 2; i++) {
        size_t a_len = 0, b_len = 0;
        const uint8_t *a = trustx_pki_cert_der(chain.certs[i], &a_len);
        const uint8_t *b = trustx_pki_cert_der(back.certs[i], &b_len);

        assert_int_equal(a_len, b_len);
        assert_memory_equal(a, b, a_len);
    }
    /* Written back as PEM, the chain loads again and openssl reads its first certificate. */
    assert_int_equal(trustx_pki_chain_pem(&back, &pem, &pem_len), TRUSTX_OK);
    assert_int_equal(strlen(pem), pem_len);
    test_write_file(again, pem, pem_len);
    out = test_capture(&status, "openssl x509 -noout -subject -in %s", again);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "CN = AWS IoT Certificate"));
    free(out);
    out = test_capture(&status, "grep -c 'BEGIN CERTIFICATE' %s", again);
    assert_string_equal(out, "2\n");
    free(out);
    free(pem);

    assert_failed_with(trustx_pki_slot_encode(&chain, TRUSTX_PKI_SLOT_DER, obj, sizeof(obj),
                                              &len),
                       TRUSTX_E_INVALID_ARG, "plain DER holds one certificate");
    assert_failed_with(trustx_pki_slot_encode(&chain, TRUSTX_PKI_SLOT_IDENTITY, obj, 900, &len),
                       TRUSTX_E_OVERFLOW, "the slot holds 900");

    trustx_pki_chain_clear(&back);
    trustx_pki_chain_clear(&chain);
}

static void load_der_file(void **state)
{
    const char *der_path = test_path(tmpdir, "aws-cert.der");
    uint8_t der[2048];
    size_t der_len = openssl_der(TEST_DATA("aws-issued-cert.pem"), der, sizeof(der));
    size_t loaded_len = 0;
    trustx_pki_chain chain;
    const uint8_t *loaded;

    test_write_file(der_path, der, der_len);
    assert_int_equal(trustx_pki_chain_load(der_path, &chain), TRUSTX_OK);
    assert_int_equal(chain.count, 1);
    loaded = trustx_pki_cert_der(chain.certs[0], &loaded_len);
    assert_int_equal(loaded_len, der_len);
    assert_memory_equal(loaded, der, der_len);
    trustx_pki_chain_clear(&chain);

    /* The DER file with one byte more is rejected, not cut silently. */
    der[der_len] = 0x00;
    test_write_file(der_path, der, der_len + 1);
    assert_failed_with(trustx_pki_chain_load(der_path, &chain), TRUSTX_E_INVALID_ARG,
                       "ends after 724 of 725 bytes");
    assert_int_equal(chain.count, 0);
}

static void load_rejects_bad_files(void **state)
{
    const char *mixed = test_path(tmpdir, "mixed.pem");
    const char *text = test_path(tmpdir, "text.pem");
    const char *broken = test_path(tmpdir, "broken.pem");
    const char *empty = test_path(tmpdir, "empty.pem");
    trustx_pki_chain chain;

    assert_int_equal(test_run("cat %s %s > %s", other_pem, other_key, mixed), 0);
    assert_failed_with(trustx_pki_chain_load(mixed, &chain), TRUSTX_E_INVALID_ARG,
                       "\"PRIVATE KEY\", not a certificate");
    assert_int_equal(chain.count, 0);

    test_write_file(text, "hello\n", 6);
    assert_failed_with(trustx_pki_chain_load(text, &chain), TRUSTX_E_INVALID_ARG,
                       "not a DER certificate");

    assert_int_equal(test_run("head -n 5 %s > %s", other_pem, broken), 0);
    assert_failed_with(trustx_pki_chain_load(broken, &chain), TRUSTX_E_INVALID_ARG,
                       "does not decode");

    test_write_file(empty, "", 0);
    assert_failed_with(trustx_pki_chain_load(empty, &chain), TRUSTX_E_INVALID_ARG, "is empty");

    assert_int_equal(trustx_pki_chain_load(test_path(tmpdir, "missing.pem"), &chain),
                     TRUSTX_E_INVALID_ARG);
}

static void verify_digest_with_certificate(void **state)
{
    static const uint8_t challenge[] = {0x11, 0x22, 0x33, 0x44};
    trustx_pki_chain chain;
    test_key k, stranger;
    FILE *f = fopen(other_key, "r");
    uint8_t digest[TRUSTX_PKI_DIGEST_MAX], sig[TRUSTX_PKI_SIG_MAX];
    size_t digest_len = 0, sig_len = 0;

    assert_non_null(f);
    k.key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k.key);
    k.curve = TRUSTX_CURVE_P256;
    assert_int_equal(trustx_pki_chain_load(other_pem, &chain), TRUSTX_OK);

    assert_int_equal(trustx_pki_digest(TRUSTX_CURVE_P256, challenge, sizeof(challenge), digest,
                                       sizeof(digest), &digest_len),
                     TRUSTX_OK);
    assert_int_equal(test_key_sign(&k, digest, digest_len, sig, sizeof(sig), &sig_len),
                     TRUSTX_OK);
    assert_int_equal(trustx_pki_cert_verify_digest(chain.certs[0], digest, digest_len, sig,
                                                   sig_len),
                     TRUSTX_OK);

    test_key_new(&stranger, TRUSTX_CURVE_P256);
    assert_int_equal(test_key_sign(&stranger, digest, digest_len, sig, sizeof(sig), &sig_len),
                     TRUSTX_OK);
    assert_failed_with(trustx_pki_cert_verify_digest(chain.certs[0], digest, digest_len, sig,
                                                     sig_len),
                       TRUSTX_E_VERIFY, "do not pair");

    test_key_free(&stranger);
    test_key_free(&k);
    trustx_pki_chain_clear(&chain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aws_cert_identity_known_answer),
        cmocka_unit_test(aws_cert_key_and_pairing),
        cmocka_unit_test(aws_cert_description),
        cmocka_unit_test(der_slot_round_trip),
        cmocka_unit_test(identity_decode_rejects_bad_lengths),
        cmocka_unit_test(decode_empty_object),
        cmocka_unit_test(chain_in_identity_format),
        cmocka_unit_test(load_der_file),
        cmocka_unit_test(load_rejects_bad_files),
        cmocka_unit_test(verify_digest_with_certificate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
