/* SPDX-License-Identifier: MIT */
/*
 * The local CA: a demo root, leaf certificates issued from requests and
 * checked with `openssl verify` and `openssl x509`, and the CA files and
 * requests that must be rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "test_pki_common.h"

#define CA_DAYS 30

static const char *tmpdir;
static char ca_pem[256], ca_key[256];

static int setup(void **state)
{
    trustx_pki_subject subject;

    tmpdir = test_tmpdir_create();
    snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", tmpdir);
    snprintf(ca_key, sizeof(ca_key), "%s/ca.key", tmpdir);
    if (trustx_pki_subject_parse("/CN=trustx test root/O=trustx", &subject) != TRUSTX_OK ||
        trustx_pki_ca_create_demo(&subject, CA_DAYS, ca_pem, ca_key) != TRUSTX_OK) {
        fprintf(stderr, "demo CA: %s\n", trustx_error_last()->message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    test_tmpdir_remove(tmpdir);
    return 0;
}

static trustx_pki_ca *load_demo_ca(void)
{
    trustx_pki_ca *ca = NULL;

    if (trustx_pki_ca_load(ca_pem, ca_key, &ca) != TRUSTX_OK)
        fail_msg("loading the demo CA: %s", trustx_error_last()->message);
    return ca;
}

/* Issues a certificate for k from a fresh request and returns it; opts may be NULL. */
static trustx_pki_cert *issue_for(const trustx_pki_ca *ca, test_key *k, const char *subject,
                                  const trustx_pki_issue_options *opts)
{
    trustx_pki_cert *cert = NULL;
    uint8_t *csr = NULL;
    size_t csr_len = 0;

    test_make_csr(k, subject, &csr, &csr_len);
    if (trustx_pki_ca_issue(ca, csr, csr_len, opts, &cert) != TRUSTX_OK)
        fail_msg("issuing: %s", trustx_error_last()->message);
    free(csr);
    return cert;
}

/* Returns the hex line that `openssl x509 -ext NAME` prints under the extension. */
static char *extension_value(const char *cert_path, const char *ext)
{
    int status = -1;
    char *out = test_capture(&status, "openssl x509 -noout -ext %s -in %s", ext, cert_path);
    char *value = strchr(out, '\n');
    char *end;

    assert_int_equal(status, 0);
    assert_non_null(value);
    value += strspn(value, " \n");
    end = strchr(value, '\n');
    if (end != NULL)
        *end = '\0';
    memmove(out, value, strlen(value) + 1);
    return out;
}

static void demo_ca_is_a_ca(void **state)
{
    struct stat st;
    char *out;
    int status = -1;
    trustx_pki_subject subject;

    out = test_capture(&status, "openssl x509 -noout -text -in %s", ca_pem);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "Subject: CN = trustx test root, O = trustx"));
    assert_non_null(strstr(out, "Issuer: CN = trustx test root, O = trustx"));
    assert_non_null(strstr(out, "X509v3 Basic Constraints: critical\n                CA:TRUE"));
    assert_non_null(strstr(out, "X509v3 Key Usage: critical\n                Certificate Sign, "
                                "CRL Sign"));
    assert_non_null(strstr(out, "ASN1 OID: prime256v1"));
    assert_non_null(strstr(out, "ecdsa-with-SHA256"));
    free(out);

    assert_int_equal(test_run("openssl verify -CAfile %s %s >/dev/null", ca_pem, ca_pem), 0);
    assert_int_equal(stat(ca_key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(trustx_pki_subject_parse("/CN=again", &subject), TRUSTX_OK);
    assert_failed_with(trustx_pki_ca_create_demo(&subject, 1, test_path(tmpdir, "new.pem"),
                                                 ca_key),
                       TRUSTX_E_INVALID_ARG, "already exists");
    assert_int_equal(stat(test_path(tmpdir, "new.pem"), &st), -1);
}

static void leaf_checked_by_openssl(void **state)
{
    trustx_pki_ca *ca = load_demo_ca();
    const char *leaf_pem = test_path(tmpdir, "leaf.pem");
    test_key k;
    trustx_pki_cert *leaf;
    char *out, *ca_ski, *leaf_aki, *leaf_ski;
    char text[1024];
    int status = -1;

    test_key_new(&k, TRUSTX_CURVE_P256);
    leaf = issue_for(ca, &k, "/CN=Ger\xC3\xA4t-42/O=Acme/C=DE", NULL);
    test_save_cert_pem(leaf, leaf_pem);
    assert_int_equal(trustx_pki_cert_describe(leaf, text, sizeof(text)), TRUSTX_OK);
    assert_non_null(strstr(text, "subject: CN=Ger\xC3\xA4t-42, O=Acme, C=DE\n"));
    assert_non_null(strstr(text, "issuer: CN=trustx test root, O=trustx\n"));

    out = test_capture(&status, "openssl verify -CAfile %s -purpose sslclient %s", ca_pem,
                       leaf_pem);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, ": OK"));
    free(out);

    out = test_capture(&status, "openssl x509 -noout -text -in %s", leaf_pem);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "Version: 3 (0x2)"));
    assert_non_null(strstr(out, "Subject: CN = Ger\\C3\\A4t-42, O = Acme, C = DE"));
    assert_non_null(strstr(out, "Issuer: CN = trustx test root, O = trustx"));
    assert_non_null(strstr(out, "X509v3 Basic Constraints: critical\n                CA:FALSE"));
    assert_non_null(strstr(out, "X509v3 Key Usage: critical\n                Digital Signature\n"));
    assert_non_null(strstr(out, "X509v3 Extended Key Usage: \n                TLS Web Client "
                                "Authentication\n"));
    assert_non_null(strstr(out, "Signature Algorithm: ecdsa-with-SHA256"));
    free(out);

    ca_ski = extension_value(ca_pem, "subjectKeyIdentifier");
    leaf_aki = extension_value(leaf_pem, "authorityKeyIdentifier");
    leaf_ski = extension_value(leaf_pem, "subjectKeyIdentifier");
    assert_int_equal(strlen(ca_ski), 59);   /* 20 bytes as colon-separated hex */
    assert_string_equal(leaf_aki, ca_ski);
    assert_int_equal(strlen(leaf_ski), 59);
    assert_string_not_equal(leaf_ski, ca_ski);
    free(ca_ski);
    free(leaf_aki);
    free(leaf_ski);

    assert_int_equal(trustx_pki_cert_match_key(leaf, k.curve, k.pub, k.pub_len), TRUSTX_OK);
    trustx_pki_cert_free(leaf);
    test_key_free(&k);
    trustx_pki_ca_free(ca);
}

static BIGNUM *serial_of(const trustx_pki_cert *cert)
{
    size_t len = 0;
    const unsigned char *der = trustx_pki_cert_der(cert, &len);
    X509 *x = d2i_X509(NULL, &der, (long)len);
    BIGNUM *bn;

    assert_non_null(x);
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    X509_free(x);
    return bn;
}

static void serials_random_and_positive(void **state)
{
    trustx_pki_ca *ca = load_demo_ca();
    test_key k;
    trustx_pki_cert *first, *second;
    BIGNUM *a, *b;

    test_key_new(&k, TRUSTX_CURVE_P256);
    first = issue_for(ca, &k, "CN=dev-1", NULL);
    second = issue_for(ca, &k, "CN=dev-1", NULL);
    a = serial_of(first);
    b = serial_of(second);

    assert_false(BN_is_negative(a));
    assert_false(BN_is_zero(a));
    assert_true(BN_num_bits(a) <= 127);
    assert_true(BN_num_bits(a) > 64);   /* fails with probability 2^-63 */
    assert_false(BN_is_negative(b));
    assert_int_not_equal(BN_cmp(a, b), 0);

    BN_free(a);
    BN_free(b);
    trustx_pki_cert_free(first);
    trustx_pki_cert_free(second);
    test_key_free(&k);
    trustx_pki_ca_free(ca);
}

static X509 *parse(const trustx_pki_cert *cert)
{
    size_t len = 0;
    const unsigned char *der = trustx_pki_cert_der(cert, &len);
    X509 *x = d2i_X509(NULL, &der, (long)len);

    assert_non_null(x);
    return x;
}

static void validity_window(void **state)
{
    trustx_pki_ca *ca = load_demo_ca();
    const trustx_pki_cert *ca_cert = trustx_pki_ca_cert(ca);
    time_t now = time(NULL);
    trustx_pki_issue_options opts = {.days = 7, .now = (int64_t)now};
    test_key k;
    trustx_pki_cert *leaf;
    X509 *x, *root;

    test_key_new(&k, TRUSTX_CURVE_P256);
    leaf = issue_for(ca, &k, "CN=dev-1", &opts);
    x = parse(leaf);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), now - 3600), 0);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x), now + 7 * 86400), 0);
    X509_free(x);
    trustx_pki_cert_free(leaf);

    /* The default 20 years go past the CA's 30 days, so notAfter is the CA's. */
    opts.days = 0;
    leaf = issue_for(ca, &k, "CN=dev-1", &opts);
    x = parse(leaf);
    root = parse(ca_cert);
    assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(root)), 0);
    X509_free(root);
    X509_free(x);
    trustx_pki_cert_free(leaf);

    test_key_free(&k);
    trustx_pki_ca_free(ca);
}

static void issue_rejects_expired_ca(void **state)
{
    trustx_pki_ca *ca = load_demo_ca();
    trustx_pki_issue_options late = {.days = 1, .now = (int64_t)time(NULL) + (CA_DAYS + 1) * 86400};
    trustx_pki_issue_options early = {.days = 1, .now = (int64_t)time(NULL) - 2 * 86400};
    trustx_pki_cert *leaf = NULL;
    test_key k;
    uint8_t *csr = NULL;
    size_t csr_len = 0;

    test_key_new(&k, TRUSTX_CURVE_P256);
    test_make_csr(&k, "CN=dev-1", &csr, &csr_len);
    assert_failed_with(trustx_pki_ca_issue(ca, csr, csr_len, &late, &leaf), TRUSTX_E_INVALID_ARG,
                       "CA certificate expired at");
    assert_failed_with(trustx_pki_ca_issue(ca, csr, csr_len, &early, &leaf),
                       TRUSTX_E_INVALID_ARG, "not valid before");
    late.now = (int64_t)time(NULL);
    late.days = TRUSTX_PKI_DAYS_MAX + 1;
    assert_failed_with(trustx_pki_ca_issue(ca, csr, csr_len, &late, &leaf), TRUSTX_E_INVALID_ARG,
                       "longer than the maximum");
    assert_null(leaf);

    free(csr);
    test_key_free(&k);
    trustx_pki_ca_free(ca);
}

static void issue_rejects_bad_request(void **state)
{
    const char *key_path = test_path(tmpdir, "empty-subject.key");
    const char *csr_path = test_path(tmpdir, "empty-subject.csr");
    trustx_pki_ca *ca = load_demo_ca();
    trustx_pki_cert *leaf = NULL;
    test_key k;
    uint8_t *csr = NULL;
    size_t csr_len = 0;

    test_key_new(&k, TRUSTX_CURVE_P256);
    test_make_csr(&k, "CN=dev-1", &csr, &csr_len);
    csr[csr_len - 1] ^= 0x01;
    assert_failed_with(trustx_pki_ca_issue(ca, csr, csr_len, NULL, &leaf), TRUSTX_E_VERIFY,
                       "self-signature does not verify");
    assert_failed_with(trustx_pki_ca_issue(ca, (const uint8_t *)"hello", 5, NULL, &leaf),
                       TRUSTX_E_INVALID_ARG, "does not parse");
    assert_null(leaf);
    free(csr);

    /* A request with an empty subject, made by the openssl tool from the same key. */
    test_key_save(&k, key_path);
    assert_int_equal(test_run("openssl req -new -key %s -subj / -out %s 2>/dev/null", key_path,
                              csr_path),
                     0);
    assert_int_equal(trustx_pki_file_read(csr_path, 65536, &csr, &csr_len), TRUSTX_OK);
    assert_failed_with(trustx_pki_ca_issue(ca, csr, csr_len, NULL, &leaf), TRUSTX_E_INVALID_ARG,
                       "empty subject");
    assert_null(leaf);

    free(csr);
    test_key_free(&k);
    trustx_pki_ca_free(ca);
}

static void load_rejects_wrong_key(void **state)
{
    const char *other_pem = test_path(tmpdir, "other-ca.pem");
    const char *other_key = test_path(tmpdir, "other-ca.key");
    trustx_pki_subject subject;
    trustx_pki_ca *ca = NULL;

    assert_int_equal(trustx_pki_subject_parse("/CN=other root", &subject), TRUSTX_OK);
    assert_int_equal(trustx_pki_ca_create_demo(&subject, 1, other_pem, other_key), TRUSTX_OK);
    assert_failed_with(trustx_pki_ca_load(ca_pem, other_key, &ca), TRUSTX_E_INVALID_ARG,
                       "does not belong to the CA certificate");
    assert_null(ca);
    assert_failed_with(trustx_pki_ca_load(ca_pem, ca_pem, &ca), TRUSTX_E_INVALID_ARG,
                       "not a PEM private key");
    assert_int_equal(trustx_pki_ca_load(ca_pem, test_path(tmpdir, "nothing.key"), &ca),
                     TRUSTX_E_INVALID_ARG);
    assert_null(ca);
}

static void load_rejects_leaf_as_ca(void **state)
{
    trustx_pki_ca *ca = load_demo_ca();
    const char *leaf_pem = test_path(tmpdir, "leaf-ca.pem");
    const char *leaf_key = test_path(tmpdir, "leaf-ca.key");
    trustx_pki_ca *wrong = NULL;
    trustx_pki_cert *leaf;
    test_key k;

    test_key_new(&k, TRUSTX_CURVE_P256);
    leaf = issue_for(ca, &k, "CN=dev-1", NULL);
    test_save_cert_pem(leaf, leaf_pem);
    test_key_save(&k, leaf_key);

    assert_failed_with(trustx_pki_ca_load(leaf_pem, leaf_key, &wrong), TRUSTX_E_INVALID_ARG,
                       "is not a CA");
    assert_null(wrong);

    trustx_pki_cert_free(leaf);
    test_key_free(&k);
    trustx_pki_ca_free(ca);
}

static void load_rejects_encrypted_key(void **state)
{
    const char *locked = test_path(tmpdir, "locked.key");
    trustx_pki_ca *ca = NULL;

    assert_int_equal(test_run("openssl pkey -in %s -aes256 -passout pass:secret -out %s",
                              ca_key, locked),
                     0);
    assert_failed_with(trustx_pki_ca_load(ca_pem, locked, &ca), TRUSTX_E_INVALID_ARG,
                       "is encrypted");
    assert_null(ca);
}

/* Makes a CA with the openssl tool; newkey is an openssl req -newkey argument list. */
static void openssl_ca(const char *newkey, const char *cert, const char *key)
{
    assert_int_equal(test_run("openssl req -x509 %s -nodes -subj /CN=tool-ca -days 5 "
                              "-addext keyUsage=critical,keyCertSign -keyout %s -out %s "
                              "2>/dev/null",
                              newkey, key, cert),
                     0);
}

static void issue_with_other_ca_keys(void **state)
{
    static const struct {
        const char *newkey;
        const char *signature;
    } cases[] = {
        {"-newkey ec -pkeyopt ec_paramgen_curve:P-384", "ecdsa-with-SHA384"},
        {"-newkey rsa:2048", "sha256WithRSAEncryption"},
    };
    const char *cert_path = test_path(tmpdir, "tool-ca.pem");
    const char *key_path = test_path(tmpdir, "tool-ca.key");
    const char *leaf_pem = test_path(tmpdir, "tool-leaf.pem");

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        trustx_pki_ca *ca = NULL;
        trustx_pki_cert *leaf;
        test_key k;
        char *out;
        int status = -1;

        openssl_ca(cases[i].newkey, cert_path, key_path);
        assert_int_equal(trustx_pki_ca_load(cert_path, key_path, &ca), TRUSTX_OK);
        test_key_new(&k, TRUSTX_CURVE_P384);
        leaf = issue_for(ca, &k, "CN=dev-384", NULL);
        test_save_cert_pem(leaf, leaf_pem);

        assert_int_equal(test_run("openssl verify -CAfile %s %s >/dev/null", cert_path,
                                  leaf_pem),
                         0);
        out = test_capture(&status, "openssl x509 -noout -text -in %s", leaf_pem);
        assert_non_null(strstr(out, cases[i].signature));
        assert_non_null(strstr(out, "NIST CURVE: P-384"));
        free(out);

        trustx_pki_cert_free(leaf);
        test_key_free(&k);
        trustx_pki_ca_free(ca);
        remove(cert_path);
        remove(key_path);
    }
}

static void pairing_check_detects_other_key(void **state)
{
    static const uint8_t challenge[32] = {1, 2, 3, 4, 5, 6, 7, 8};
    trustx_pki_ca *ca = load_demo_ca();
    test_key device, other;
    trustx_pki_cert *leaf;
    uint8_t digest[TRUSTX_PKI_DIGEST_MAX], sig[TRUSTX_PKI_SIG_MAX];
    size_t digest_len = 0, sig_len = 0;

    test_key_new(&device, TRUSTX_CURVE_P256);
    test_key_new(&other, TRUSTX_CURVE_P256);
    leaf = issue_for(ca, &device, "CN=dev-9", NULL);
    assert_int_equal(trustx_pki_digest(TRUSTX_CURVE_P256, challenge, sizeof(challenge), digest,
                                       sizeof(digest), &digest_len),
                     TRUSTX_OK);

    assert_int_equal(test_key_sign(&device, digest, digest_len, sig, sizeof(sig), &sig_len),
                     TRUSTX_OK);
    assert_int_equal(trustx_pki_cert_verify_digest(leaf, digest, digest_len, sig, sig_len),
                     TRUSTX_OK);

    assert_int_equal(test_key_sign(&other, digest, digest_len, sig, sizeof(sig), &sig_len),
                     TRUSTX_OK);
    assert_failed_with(trustx_pki_cert_verify_digest(leaf, digest, digest_len, sig, sig_len),
                       TRUSTX_E_VERIFY, "do not pair");
    assert_failed_with(trustx_pki_cert_match_key(leaf, other.curve, other.pub, other.pub_len),
                       TRUSTX_E_VERIFY, "issued for another key");

    trustx_pki_cert_free(leaf);
    test_key_free(&other);
    test_key_free(&device);
    trustx_pki_ca_free(ca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(demo_ca_is_a_ca),
        cmocka_unit_test(leaf_checked_by_openssl),
        cmocka_unit_test(serials_random_and_positive),
        cmocka_unit_test(validity_window),
        cmocka_unit_test(issue_rejects_expired_ca),
        cmocka_unit_test(issue_rejects_bad_request),
        cmocka_unit_test(load_rejects_wrong_key),
        cmocka_unit_test(load_rejects_leaf_as_ca),
        cmocka_unit_test(load_rejects_encrypted_key),
        cmocka_unit_test(issue_with_other_ca_keys),
        cmocka_unit_test(pairing_check_detects_other_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
