/* SPDX-License-Identifier: MIT */
/*
 * PKCS#10 requests built with a software signer in place of the chip,
 * checked with the openssl command-line tool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_pki_common.h"

static const char *tmpdir;

static int setup(void **state)
{
    tmpdir = test_tmpdir_create();
    return 0;
}

static int teardown(void **state)
{
    test_tmpdir_remove(tmpdir);
    return 0;
}

/* Builds a request for k with the vendor's example config and writes it as PEM to name in tmpdir. */
static const char *build_example_csr(test_key *k, const char *name, uint8_t **der, size_t *len)
{
    trustx_pki_subject subject;
    const char *path = test_path(tmpdir, name);
    char *pem = NULL;
    size_t pem_len = 0;

    assert_int_equal(trustx_pki_subject_load(TEST_DATA("vendor-example-config.jsn"), &subject), TRUSTX_OK);
    assert_int_equal(trustx_pki_csr_build(&subject, k->curve, k->pub, k->pub_len, test_key_sign,
                                          k, der, len),
                     TRUSTX_OK);
    assert_int_equal(trustx_pki_pem_encode(TRUSTX_PKI_PEM_CSR, *der, *len, &pem, &pem_len),
                     TRUSTX_OK);
    assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----\n"));
    test_write_file(path, pem, pem_len);
    free(pem);
    return path;
}

static int contains_bytes(const uint8_t *data, size_t len, const uint8_t *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(data + i, needle, n) == 0)
            return 1;
    }
    return 0;
}

static void check_with_openssl(const char *path, const char *sig_alg, const char *bits)
{
    char *out;
    int status = -1;

    out = test_capture(&status, "openssl req -verify -noout -in %s", path);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "verify OK"));
    free(out);

    out = test_capture(&status, "openssl req -noout -text -in %s", path);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "Subject: CN = AWS IoT Certificate, O = Infineon Technologies "
                                "AG, C = DE, ST = Germany"));
    assert_non_null(strstr(out, bits));
    assert_non_null(strstr(out, "X509v3 Key Usage: critical"));
    assert_non_null(strstr(out, "Digital Signature"));
    assert_non_null(strstr(out, sig_alg));
    free(out);
}

static void check_asn1(const char *path, const char *sig_alg)
{
    int status = -1;
    char *out = test_capture(&status, "openssl asn1parse -in %s", path);
    char *alg;

    assert_int_equal(status, 0);
    /* No NULL anywhere: the signature AlgorithmIdentifier carries no parameters. */
    assert_null(strstr(out, "NULL"));
    alg = strstr(out, sig_alg);
    assert_non_null(alg);
    assert_non_null(strstr(alg, "BIT STRING"));
    assert_non_null(strstr(out, "UTF8STRING        :AWS IoT Certificate"));
    assert_non_null(strstr(out, "PRINTABLESTRING   :DE"));
    assert_non_null(strstr(out, ":Extension Request"));
    free(out);
}

static void csr_p256_checked_by_openssl(void **state)
{
    static const uint8_t key_usage[] = {0x06, 0x03, 0x55, 0x1D, 0x0F, 0x01, 0x01, 0xFF,
                                        0x04, 0x04, 0x03, 0x02, 0x07, 0x80};
    test_key k;
    uint8_t *der = NULL;
    size_t len = 0;
    const char *path;

    test_key_new(&k, TRUSTX_CURVE_P256);
    path = build_example_csr(&k, "p256.csr", &der, &len);

    check_with_openssl(path, "ecdsa-with-SHA256", "(256 bit)");
    check_asn1(path, ":ecdsa-with-SHA256");
    /* keyUsage digitalSignature, critical, as minimal DER (7 unused bits). */
    assert_true(contains_bytes(der, len, key_usage, sizeof(key_usage)));
    assert_int_equal(trustx_pki_csr_check(der, len, k.curve, k.pub, k.pub_len), TRUSTX_OK);

    free(der);
    test_key_free(&k);
}

static void csr_p384_checked_by_openssl(void **state)
{
    test_key k;
    uint8_t *der = NULL;
    size_t len = 0;
    const char *path;

    test_key_new(&k, TRUSTX_CURVE_P384);
    path = build_example_csr(&k, "p384.csr", &der, &len);

    check_with_openssl(path, "ecdsa-with-SHA384", "(384 bit)");
    check_asn1(path, ":ecdsa-with-SHA384");
    assert_int_equal(trustx_pki_csr_check(der, len, k.curve, k.pub, k.pub_len), TRUSTX_OK);

    free(der);
    test_key_free(&k);
}

static void csr_subject_order_kept(void **state)
{
    test_key k;
    uint8_t *der = NULL;
    size_t len = 0;
    char *pem = NULL;
    char *out;
    int status = -1;
    const char *path = test_path(tmpdir, "order.csr");

    test_key_new(&k, TRUSTX_CURVE_P256);
    test_make_csr(&k, "/C=DE/O=Acme/OU=Line 3/CN=dev-7/emailAddress=ops@example.com", &der,
                  &len);
    assert_int_equal(trustx_pki_pem_encode(TRUSTX_PKI_PEM_CSR, der, len, &pem, NULL), TRUSTX_OK);
    test_write_file(path, pem, strlen(pem));

    out = test_capture(&status, "openssl req -noout -subject -nameopt compat -in %s", path);
    assert_int_equal(status, 0);
    assert_string_equal(out, "subject=/C=DE/O=Acme/OU=Line 3/CN=dev-7/emailAddress=ops@example.com\n");

    free(out);
    free(pem);
    free(der);
    test_key_free(&k);
}

static void csr_check_rejects_other_key(void **state)
{
    test_key k, other;
    uint8_t *der = NULL;
    size_t len = 0;

    test_key_new(&k, TRUSTX_CURVE_P256);
    test_key_new(&other, TRUSTX_CURVE_P256);
    test_make_csr(&k, "CN=dev-1", &der, &len);

    assert_failed_with(trustx_pki_csr_check(der, len, other.curve, other.pub, other.pub_len),
                       TRUSTX_E_VERIFY, "differs from the expected key");

    free(der);
    test_key_free(&other);
    test_key_free(&k);
}

static void csr_check_rejects_altered_request(void **state)
{
    test_key k;
    uint8_t *der = NULL;
    size_t len = 0;

    test_key_new(&k, TRUSTX_CURVE_P256);
    test_make_csr(&k, "CN=dev-1", &der, &len);

    /* The last byte belongs to s of the signature: still DER, no longer valid. */
    der[len - 1] ^= 0x01;
    assert_failed_with(trustx_pki_csr_check(der, len, k.curve, k.pub, k.pub_len),
                       TRUSTX_E_VERIFY, "self-signature does not verify");
    der[len - 1] ^= 0x01;

    assert_failed_with(trustx_pki_csr_check(der, len - 1, k.curve, k.pub, k.pub_len),
                       TRUSTX_E_INVALID_ARG, "does not parse");

    free(der);
    test_key_free(&k);
}

static void csr_check_accepts_pem(void **state)
{
    test_key k;
    uint8_t *der = NULL, *back = NULL;
    size_t len = 0, back_len = 0;
    char *pem = NULL;
    size_t pem_len = 0;

    test_key_new(&k, TRUSTX_CURVE_P256);
    test_make_csr(&k, "CN=dev-1", &der, &len);
    assert_int_equal(trustx_pki_pem_encode(TRUSTX_PKI_PEM_CSR, der, len, &pem, &pem_len),
                     TRUSTX_OK);

    assert_int_equal(trustx_pki_csr_check((uint8_t *)pem, pem_len, k.curve, k.pub, k.pub_len),
                     TRUSTX_OK);
    assert_int_equal(trustx_pki_csr_to_der((uint8_t *)pem, pem_len, &back, &back_len),
                     TRUSTX_OK);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, der, len);

    free(back);
    free(pem);
    free(der);
    test_key_free(&k);
}

static void csr_build_detects_wrong_signer(void **state)
{
    test_key k, other;
    trustx_pki_subject subject;
    uint8_t *der = NULL;
    size_t len = 0;

    test_key_new(&k, TRUSTX_CURVE_P256);
    test_key_new(&other, TRUSTX_CURVE_P256);
    assert_int_equal(trustx_pki_subject_parse("CN=dev-1", &subject), TRUSTX_OK);

    assert_failed_with(trustx_pki_csr_build(&subject, k.curve, k.pub, k.pub_len, test_key_sign,
                                            &other, &der, &len),
                       TRUSTX_E_VERIFY, "does not verify with the P-256 public key");
    assert_null(der);

    test_key_free(&other);
    test_key_free(&k);
}

static trustx_rc garbage_signer(void *user, const uint8_t *digest, size_t digest_len,
                                uint8_t *sig, size_t cap, size_t *sig_len)
{
    /* r and s without the SEQUENCE header, as the chip's raw response has them. */
    static const uint8_t raw[] = {0x02, 0x01, 0x05, 0x02, 0x01, 0x07};

    memcpy(sig, raw, sizeof(raw));
    *sig_len = sizeof(raw);
    return TRUSTX_OK;
}

static trustx_rc failing_signer(void *user, const uint8_t *digest, size_t digest_len,
                                uint8_t *sig, size_t cap, size_t *sig_len)
{
    return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_DEVICE, "access conditions not satisfied");
}

static void csr_build_signer_failures(void **state)
{
    test_key k;
    trustx_pki_subject subject;
    uint8_t *der = NULL;
    size_t len = 0;

    test_key_new(&k, TRUSTX_CURVE_P256);
    assert_int_equal(trustx_pki_subject_parse("CN=dev-1", &subject), TRUSTX_OK);

    assert_failed_with(trustx_pki_csr_build(&subject, k.curve, k.pub, k.pub_len, garbage_signer,
                                            NULL, &der, &len),
                       TRUSTX_E_INVALID_ARG, "not a DER ECDSA signature");

    assert_int_equal(trustx_pki_csr_build(&subject, k.curve, k.pub, k.pub_len, failing_signer,
                                          NULL, &der, &len),
                     TRUSTX_E_DEVICE);
    assert_int_equal(trustx_error_last()->layer, TRUSTX_LAYER_COMMAND);
    assert_string_equal(trustx_error_last()->message,
                        "signing the request: access conditions not satisfied");
    assert_null(der);

    test_key_free(&k);
}

static void csr_build_rejects_bad_points(void **state)
{
    test_key k;
    trustx_pki_subject subject;
    uint8_t *der = NULL;
    size_t len = 0;
    uint8_t bad[TRUSTX_PUBKEY_MAX];

    test_key_new(&k, TRUSTX_CURVE_P256);
    assert_int_equal(trustx_pki_subject_parse("CN=dev-1", &subject), TRUSTX_OK);
    memcpy(bad, k.pub, k.pub_len);

    bad[k.pub_len - 1] ^= 0x01;   /* Y no longer on the curve */
    assert_failed_with(trustx_pki_csr_build(&subject, k.curve, bad, k.pub_len, test_key_sign, &k,
                                            &der, &len),
                       TRUSTX_E_INVALID_ARG, "not a point on P-256");
    assert_failed_with(trustx_pki_csr_build(&subject, TRUSTX_CURVE_P384, k.pub, k.pub_len,
                                            test_key_sign, &k, &der, &len),
                       TRUSTX_E_INVALID_ARG, "not an uncompressed P-384 point");
    bad[0] = 0x02;
    assert_failed_with(trustx_pki_point_check(k.curve, bad, k.pub_len), TRUSTX_E_INVALID_ARG,
                       "starting with 0x02");
    assert_int_equal(trustx_pki_point_check(k.curve, k.pub, k.pub_len), TRUSTX_OK);
    assert_null(der);

    test_key_free(&k);
}

static void digest_and_verify(void **state)
{
    static const uint8_t challenge[] = "fresh random challenge";
    test_key k;
    uint8_t digest[TRUSTX_PKI_DIGEST_MAX], sig[TRUSTX_PKI_SIG_MAX];
    size_t digest_len = 0, sig_len = 0;

    test_key_new(&k, TRUSTX_CURVE_P384);
    assert_int_equal(trustx_pki_digest(k.curve, challenge, sizeof(challenge), digest,
                                       sizeof(digest), &digest_len),
                     TRUSTX_OK);
    assert_int_equal(digest_len, 48);
    assert_int_equal(test_key_sign(&k, digest, digest_len, sig, sizeof(sig), &sig_len),
                     TRUSTX_OK);

    assert_int_equal(trustx_pki_verify_digest(k.curve, k.pub, k.pub_len, digest, digest_len, sig,
                                              sig_len),
                     TRUSTX_OK);
    digest[0] ^= 0x80;
    assert_failed_with(trustx_pki_verify_digest(k.curve, k.pub, k.pub_len, digest, digest_len,
                                                sig, sig_len),
                       TRUSTX_E_VERIFY, "does not verify");
    assert_failed_with(trustx_pki_digest(k.curve, challenge, 1, digest, 32, &digest_len),
                       TRUSTX_E_OVERFLOW, "needs 48 bytes");

    test_key_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csr_p256_checked_by_openssl),
        cmocka_unit_test(csr_p384_checked_by_openssl),
        cmocka_unit_test(csr_subject_order_kept),
        cmocka_unit_test(csr_check_rejects_other_key),
        cmocka_unit_test(csr_check_rejects_altered_request),
        cmocka_unit_test(csr_check_accepts_pem),
        cmocka_unit_test(csr_build_detects_wrong_signer),
        cmocka_unit_test(csr_build_signer_failures),
        cmocka_unit_test(csr_build_rejects_bad_points),
        cmocka_unit_test(digest_and_verify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
