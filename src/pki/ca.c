/* SPDX-License-Identifier: MIT */
/*
 * A small local CA: issues device certificates from requests with a CA
 * certificate and key kept in PEM files (the manufacturer's own CA), and
 * creates a self-signed demo root for tests and the demo.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "trustx/log.h"
#include "pki/pki_internal.h"

static trustx_rc check_ca_time(X509 *ca_cert, time_t now);

struct trustx_pki_ca {
    trustx_pki_cert *cert;
    EVP_PKEY *key;
    const EVP_MD *md;
};

#define SERIAL_BYTES 16          /* 128-bit serial numbers */
#define SERIAL_ATTEMPTS 4        /* draws until a non-zero serial; one all-zero draw is 2^-127 */
#define BACKDATE_SECONDS 3600    /* notBefore lies this far before the issue time */
#define SECONDS_PER_DAY 86400
#define KEY_FILE_MAX (64 * 1024)

static trustx_rc add_extension(X509 *x, int nid, void *value, int critical, const char *what)
{
    if (X509_add1_ext_i2d(x, nid, value, critical, X509V3_ADD_DEFAULT) != 1)
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot add the %s extension", what);
    return TRUSTX_OK;
}

static trustx_rc add_basic_constraints(X509 *x, int is_ca)
{
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    trustx_rc rc;

    if (bc == NULL)
        return pki_fail_ossl(TRUSTX_E_NOMEM, "cannot allocate basicConstraints");
    bc->ca = is_ca ? 0xFF : 0;
    rc = add_extension(x, NID_basic_constraints, bc, 1, "basicConstraints");
    BASIC_CONSTRAINTS_free(bc);
    return rc;
}

/* Adds a critical keyUsage with the given bit numbers (0 digitalSignature, 5 keyCertSign, 6 cRLSign). */
static trustx_rc add_key_usage(X509 *x, const int *bits, size_t count)
{
    ASN1_BIT_STRING *usage = ASN1_BIT_STRING_new();
    trustx_rc rc;

    if (usage == NULL)
        return pki_fail_ossl(TRUSTX_E_NOMEM, "cannot allocate keyUsage");
    for (size_t i = 0; i < count; i++) {
        if (ASN1_BIT_STRING_set_bit(usage, bits[i], 1) != 1) {
            ASN1_BIT_STRING_free(usage);
            return pki_fail_ossl(TRUSTX_E_NOMEM, "cannot set keyUsage bit %d", bits[i]);
        }
    }
    rc = add_extension(x, NID_key_usage, usage, 1, "keyUsage");
    ASN1_BIT_STRING_free(usage);
    return rc;
}

static trustx_rc add_client_auth(X509 *x)
{
    EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
    trustx_rc rc;

    if (eku == NULL || sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)) <= 0) {
        sk_ASN1_OBJECT_free(eku);
        return pki_fail_ossl(TRUSTX_E_NOMEM, "cannot allocate extendedKeyUsage");
    }
    rc = add_extension(x, NID_ext_key_usage, eku, 0, "extendedKeyUsage");
    sk_ASN1_OBJECT_free(eku);
    return rc;
}

/* Computes the RFC 5280 method-1 key identifier: SHA-1 of the subjectPublicKey bits. */
static trustx_rc key_identifier(const X509 *x, ASN1_OCTET_STRING **out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();

    if (id == NULL || X509_pubkey_digest(x, EVP_sha1(), md, &md_len) != 1 ||
        ASN1_OCTET_STRING_set(id, md, (int)md_len) != 1) {
        ASN1_OCTET_STRING_free(id);
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot compute a key identifier");
    }
    *out = id;
    return TRUSTX_OK;
}

static trustx_rc add_subject_key_id(X509 *x)
{
    ASN1_OCTET_STRING *id = NULL;
    trustx_rc rc = key_identifier(x, &id);

    if (rc == TRUSTX_OK)
        rc = add_extension(x, NID_subject_key_identifier, id, 0, "subjectKeyIdentifier");
    ASN1_OCTET_STRING_free(id);
    return rc;
}

/*
 * Adds the authorityKeyIdentifier: the issuer's SKI, or the SHA-1 of its key
 * when it has none. For a self-signed x (issuer == x) the key is hashed
 * directly because x is not signed yet and OpenSSL's extension cache would
 * not see its new SKI.
 */
static trustx_rc add_authority_key_id(X509 *x, X509 *issuer)
{
    const ASN1_OCTET_STRING *issuer_ski = issuer != x ? X509_get0_subject_key_id(issuer) : NULL;
    AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
    trustx_rc rc = TRUSTX_OK;

    if (aki == NULL)
        return pki_fail_ossl(TRUSTX_E_NOMEM, "cannot allocate authorityKeyIdentifier");
    if (issuer_ski != NULL) {
        aki->keyid = ASN1_OCTET_STRING_dup(issuer_ski);
        if (aki->keyid == NULL)
            rc = pki_fail_ossl(TRUSTX_E_NOMEM, "cannot copy the CA key identifier");
    } else {
        rc = key_identifier(issuer, &aki->keyid);
    }
    if (rc == TRUSTX_OK)
        rc = add_extension(x, NID_authority_key_identifier, aki, 0, "authorityKeyIdentifier");
    AUTHORITY_KEYID_free(aki);
    return rc;
}

static trustx_rc set_random_serial(X509 *x)
{
    unsigned char bytes[SERIAL_BYTES];
    BIGNUM *bn = NULL;

    for (int attempt = 0; attempt < SERIAL_ATTEMPTS; attempt++) {
        if (RAND_bytes(bytes, sizeof(bytes)) != 1)
            return pki_fail_ossl(TRUSTX_E_CRYPTO, "random generator failed");
        bytes[0] &= 0x7F;   /* positive as a DER INTEGER */
        bn = BN_bin2bn(bytes, sizeof(bytes), NULL);
        if (bn == NULL)
            return pki_fail_ossl(TRUSTX_E_NOMEM, "cannot allocate a serial number");
        if (!BN_is_zero(bn))
            break;
        BN_free(bn);
        bn = NULL;
    }
    if (bn == NULL)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_CRYPTO,
                           "random generator returned %d zero serial numbers",
                           SERIAL_ATTEMPTS);

    if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL) {
        BN_free(bn);
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot set the serial number");
    }
    BN_free(bn);
    return TRUSTX_OK;
}

static trustx_rc set_validity(X509 *x, time_t now, unsigned days)
{
    time_t not_before = now - BACKDATE_SECONDS;
    time_t not_after = now + (time_t)days * SECONDS_PER_DAY;

    if (ASN1_TIME_set(X509_getm_notBefore(x), not_before) == NULL ||
        ASN1_TIME_set(X509_getm_notAfter(x), not_after) == NULL)
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot set the validity");
    return TRUSTX_OK;
}

/* Picks the signature hash for a CA key: by curve for EC, SHA-256 for RSA. */
static trustx_rc signing_md(EVP_PKEY *key, const char *path, const EVP_MD **md)
{
    char group[64] = "";

    if (EVP_PKEY_is_a(key, "RSA")) {
        *md = EVP_sha256();
        return TRUSTX_OK;
    }
    if (!EVP_PKEY_is_a(key, "EC"))
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "CA key %s is %s; use an EC or RSA key", path,
                           EVP_PKEY_get0_type_name(key));

    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL);
    if (strcmp(group, "secp384r1") == 0)
        *md = EVP_sha384();
    else if (strcmp(group, "secp521r1") == 0)
        *md = EVP_sha512();
    else
        *md = EVP_sha256();
    return TRUSTX_OK;
}

static trustx_rc sign_certificate(X509 *x, EVP_PKEY *key, const EVP_MD *md)
{
    if (X509_sign(x, key, md) <= 0)
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot sign the certificate");
    return TRUSTX_OK;
}

/* ---- loading a CA ---- */

/* Declines every passphrase request, so that an encrypted key fails instead of prompting. */
static int no_passphrase(char *buf, int size, int rwflag, void *user)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)user;
    return -1;
}

static trustx_rc load_key(const char *path, EVP_PKEY **out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    BIO *bio;
    EVP_PKEY *key;
    trustx_rc rc = trustx_pki_file_read(path, KEY_FILE_MAX, &data, &len);

    if (rc != TRUSTX_OK)
        return rc;
    bio = BIO_new_mem_buf(data, (int)len);
    key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);

    if (key == NULL && strstr((const char *)data, "ENCRYPTED") != NULL)
        rc = trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                         "CA key %s is encrypted; give an unencrypted PEM key (openssl pkey -in "
                         "%s -out plain.pem)",
                         path, path);
    else if (key == NULL)
        rc = pki_fail_ossl(TRUSTX_E_INVALID_ARG, "CA key %s is not a PEM private key", path);
    OPENSSL_cleanse(data, len);
    free(data);
    ERR_clear_error();
    if (rc == TRUSTX_OK)
        *out = key;
    return rc;
}

static trustx_rc check_is_ca(X509 *x, const char *path)
{
    int critical = 0;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &critical, NULL);
    int is_ca = bc != NULL && bc->ca;

    BASIC_CONSTRAINTS_free(bc);
    if (!is_ca)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "certificate %s is not a CA (no basicConstraints CA:TRUE); give a CA "
                           "certificate",
                           path);
    if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) != 0 &&
        (X509_get_key_usage(x) & KU_KEY_CERT_SIGN) == 0)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "CA certificate %s does not allow keyCertSign in its keyUsage; give a "
                           "CA certificate that may sign certificates",
                           path);
    return TRUSTX_OK;
}

static trustx_rc load_cert(const char *path, trustx_pki_cert **out)
{
    trustx_pki_chain chain;
    trustx_rc rc = trustx_pki_chain_load(path, &chain);

    if (rc != TRUSTX_OK)
        return rc;
    *out = chain.certs[0];
    chain.certs[0] = NULL;
    trustx_pki_chain_clear(&chain);
    return TRUSTX_OK;
}

trustx_rc trustx_pki_ca_load(const char *cert_path, const char *key_path, trustx_pki_ca **out)
{
    trustx_pki_ca *ca = calloc(1, sizeof(*ca));
    trustx_rc rc;

    if (ca == NULL)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_NOMEM, "cannot allocate a CA");

    rc = load_cert(cert_path, &ca->cert);
    if (rc == TRUSTX_OK)
        rc = check_is_ca(ca->cert->x509, cert_path);
    /* An expired CA is found at load time, before any chip is touched. */
    if (rc == TRUSTX_OK)
        rc = check_ca_time(ca->cert->x509, time(NULL));
    if (rc == TRUSTX_OK)
        rc = load_key(key_path, &ca->key);
    if (rc == TRUSTX_OK && X509_check_private_key(ca->cert->x509, ca->key) != 1) {
        ERR_clear_error();
        rc = trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                         "CA key %s does not belong to the CA certificate %s; give the key "
                         "that the certificate was issued for",
                         key_path, cert_path);
    }
    if (rc == TRUSTX_OK)
        rc = signing_md(ca->key, key_path, &ca->md);

    if (rc != TRUSTX_OK) {
        trustx_pki_ca_free(ca);
        return rc;
    }
    *out = ca;
    return TRUSTX_OK;
}

void trustx_pki_ca_free(trustx_pki_ca *ca)
{
    if (ca == NULL)
        return;
    trustx_pki_cert_free(ca->cert);
    EVP_PKEY_free(ca->key);
    free(ca);
}

const trustx_pki_cert *trustx_pki_ca_cert(const trustx_pki_ca *ca)
{
    return ca->cert;
}

/* ---- issuing ---- */

static trustx_rc check_ca_time(X509 *ca_cert, time_t now)
{
    char when[32];
    struct tm tm;

    if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(ca_cert), now) <= 0) {
        ASN1_TIME_to_tm(X509_get0_notAfter(ca_cert), &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "CA certificate expired at %s; renew the CA certificate", when);
    }
    if (ASN1_TIME_cmp_time_t(X509_get0_notBefore(ca_cert), now) > 0) {
        ASN1_TIME_to_tm(X509_get0_notBefore(ca_cert), &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "CA certificate is not valid before %s; check the system clock", when);
    }
    return TRUSTX_OK;
}

/* Ends the leaf's validity no later than the CA's, as a relying party would not trust it longer. */
static trustx_rc clamp_to_ca(X509 *leaf, X509 *ca_cert)
{
    char when[32];
    struct tm tm;

    if (ASN1_TIME_compare(X509_get0_notAfter(leaf), X509_get0_notAfter(ca_cert)) <= 0)
        return TRUSTX_OK;
    ASN1_TIME_to_tm(X509_get0_notAfter(ca_cert), &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    trustx_log(TRUSTX_LOG_WARN, "pki",
               "the certificate will expire with the CA on %s, sooner than the requested "
               "validity; give fewer days (--days) or use a CA that is valid longer",
               when);
    if (X509_set1_notAfter(leaf, X509_get0_notAfter(ca_cert)) != 1)
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot set notAfter");
    return TRUSTX_OK;
}

static trustx_rc check_request(const uint8_t *csr, size_t csr_len, X509_REQ **out)
{
    X509_REQ *req = NULL;
    EVP_PKEY *key;
    trustx_rc rc = pki_csr_parse(csr, csr_len, &req);

    if (rc != TRUSTX_OK)
        return rc;
    key = X509_REQ_get0_pubkey(req);
    if (key == NULL || X509_REQ_verify(req, key) != 1) {
        X509_REQ_free(req);
        return pki_fail_ossl(TRUSTX_E_VERIFY,
                             "request self-signature does not verify; the request was altered "
                             "or signed with another key");
    }
    /* RFC 5280 allows an empty subject only with a subjectAltName, which is not issued here. */
    if (X509_NAME_entry_count(X509_REQ_get_subject_name(req)) == 0) {
        X509_REQ_free(req);
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "request has an empty subject; make a request with at least CN");
    }
    *out = req;
    return TRUSTX_OK;
}

static trustx_rc fill_leaf(X509 *leaf, const trustx_pki_ca *ca, X509_REQ *req, time_t now,
                           unsigned days)
{
    static const int leaf_usage[] = {0};   /* digitalSignature */
    X509 *ca_cert = ca->cert->x509;
    trustx_rc rc = TRUSTX_OK;

    if (X509_set_version(leaf, X509_VERSION_3) != 1 ||
        X509_set_issuer_name(leaf, X509_get_subject_name(ca_cert)) != 1 ||
        X509_set_subject_name(leaf, X509_REQ_get_subject_name(req)) != 1 ||
        X509_set_pubkey(leaf, X509_REQ_get0_pubkey(req)) != 1)
        rc = pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot fill in the certificate");

    if (rc == TRUSTX_OK)
        rc = set_random_serial(leaf);
    if (rc == TRUSTX_OK)
        rc = set_validity(leaf, now, days);
    if (rc == TRUSTX_OK)
        rc = clamp_to_ca(leaf, ca_cert);
    if (rc == TRUSTX_OK)
        rc = add_basic_constraints(leaf, 0);
    if (rc == TRUSTX_OK)
        rc = add_key_usage(leaf, leaf_usage, 1);
    if (rc == TRUSTX_OK)
        rc = add_client_auth(leaf);
    if (rc == TRUSTX_OK)
        rc = add_subject_key_id(leaf);
    if (rc == TRUSTX_OK)
        rc = add_authority_key_id(leaf, ca_cert);
    return rc;
}

static trustx_rc check_days(unsigned days)
{
    if (days > TRUSTX_PKI_DAYS_MAX)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "validity of %u days is longer than the maximum of %d", days,
                           TRUSTX_PKI_DAYS_MAX);
    return TRUSTX_OK;
}

trustx_rc trustx_pki_ca_issue(const trustx_pki_ca *ca, const uint8_t *csr, size_t csr_len,
                              const trustx_pki_issue_options *opts, trustx_pki_cert **out)
{
    unsigned days = opts != NULL && opts->days != 0 ? opts->days : TRUSTX_PKI_LEAF_DAYS_DEFAULT;
    time_t now = opts != NULL && opts->now != 0 ? (time_t)opts->now : time(NULL);
    X509_REQ *req = NULL;
    X509 *leaf = NULL;
    trustx_rc rc = check_days(days);

    if (rc == TRUSTX_OK)
        rc = check_ca_time(ca->cert->x509, now);
    if (rc == TRUSTX_OK)
        rc = check_request(csr, csr_len, &req);
    if (rc == TRUSTX_OK) {
        leaf = X509_new();
        if (leaf == NULL)
            rc = pki_fail_ossl(TRUSTX_E_NOMEM, "cannot allocate a certificate");
    }
    if (rc == TRUSTX_OK)
        rc = fill_leaf(leaf, ca, req, now, days);
    if (rc == TRUSTX_OK)
        rc = sign_certificate(leaf, ca->key, ca->md);
    X509_REQ_free(req);

    if (rc != TRUSTX_OK) {
        X509_free(leaf);
        return rc;
    }
    return pki_cert_wrap(leaf, out);
}

/* ---- demo root ---- */

static trustx_rc check_absent(const char *path)
{
    struct stat st;

    if (stat(path, &st) == 0)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s already exists; remove it or choose another path", path);
    return TRUSTX_OK;
}

static trustx_rc make_root(const trustx_pki_subject *subject, unsigned days, EVP_PKEY *key,
                           X509 **out)
{
    static const int ca_usage[] = {5, 6};   /* keyCertSign, cRLSign */
    X509 *x = X509_new();
    X509_NAME *name = NULL;
    trustx_rc rc = x != NULL ? pki_subject_to_name(subject, &name)
                             : pki_fail_ossl(TRUSTX_E_NOMEM, "cannot allocate a certificate");

    if (rc == TRUSTX_OK &&
        (X509_set_version(x, X509_VERSION_3) != 1 || X509_set_subject_name(x, name) != 1 ||
         X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1))
        rc = pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot fill in the CA certificate");
    if (rc == TRUSTX_OK)
        rc = set_random_serial(x);
    if (rc == TRUSTX_OK)
        rc = set_validity(x, time(NULL), days);
    if (rc == TRUSTX_OK)
        rc = add_basic_constraints(x, 1);
    if (rc == TRUSTX_OK)
        rc = add_key_usage(x, ca_usage, 2);
    if (rc == TRUSTX_OK)
        rc = add_subject_key_id(x);
    if (rc == TRUSTX_OK)
        rc = add_authority_key_id(x, x);
    if (rc == TRUSTX_OK)
        rc = sign_certificate(x, key, EVP_sha256());

    X509_NAME_free(name);
    if (rc != TRUSTX_OK) {
        X509_free(x);
        return rc;
    }
    *out = x;
    return TRUSTX_OK;
}

static trustx_rc key_pem(EVP_PKEY *key, char **pem, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;
    long text_len;

    if (bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
        BIO_free(bio);
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot encode the CA key");
    }
    text_len = BIO_get_mem_data(bio, &text);
    *pem = malloc((size_t)text_len);
    if (*pem == NULL) {
        BIO_free(bio);
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_NOMEM, "cannot allocate %ld bytes",
                           text_len);
    }
    memcpy(*pem, text, (size_t)text_len);
    *len = (size_t)text_len;
    OPENSSL_cleanse(text, (size_t)text_len);
    BIO_free(bio);
    return TRUSTX_OK;
}

static trustx_rc write_root(X509 *x, EVP_PKEY *key, const char *cert_path, const char *key_path)
{
    unsigned char *der = NULL;
    int der_len = i2d_X509(x, &der);
    char *cert_text = NULL, *key_text = NULL;
    size_t cert_len = 0, key_len = 0;
    trustx_rc rc = der_len > 0 ? TRUSTX_OK
                               : pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot encode the certificate");

    if (rc == TRUSTX_OK)
        rc = trustx_pki_pem_encode(TRUSTX_PKI_PEM_CERT, der, (size_t)der_len, &cert_text,
                                   &cert_len);
    if (rc == TRUSTX_OK)
        rc = key_pem(key, &key_text, &key_len);
    if (rc == TRUSTX_OK)
        rc = trustx_pki_file_write(key_path, key_text, key_len, 0600, 0);
    if (rc == TRUSTX_OK) {
        rc = trustx_pki_file_write(cert_path, cert_text, cert_len, 0644, 0);
        if (rc != TRUSTX_OK)
            unlink(key_path);
    }

    if (key_text != NULL)
        OPENSSL_cleanse(key_text, key_len);
    free(key_text);
    free(cert_text);
    OPENSSL_free(der);
    return rc;
}

trustx_rc trustx_pki_ca_create_demo(const trustx_pki_subject *subject, unsigned days,
                                    const char *cert_path, const char *key_path)
{
    EVP_PKEY *key = NULL;
    X509 *root = NULL;
    trustx_rc rc;

    if (days == 0)
        days = TRUSTX_PKI_CA_DAYS_DEFAULT;
    if (subject->count == 0)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "CA subject is empty; give at least CN");
    rc = check_days(days);
    if (rc == TRUSTX_OK)
        rc = check_absent(cert_path);
    if (rc == TRUSTX_OK)
        rc = check_absent(key_path);
    if (rc == TRUSTX_OK) {
        key = EVP_EC_gen("P-256");
        if (key == NULL)
            rc = pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot generate a P-256 key");
    }
    if (rc == TRUSTX_OK)
        rc = make_root(subject, days, key, &root);
    if (rc == TRUSTX_OK)
        rc = write_root(root, key, cert_path, key_path);

    X509_free(root);
    EVP_PKEY_free(key);
    return rc;
}

static trustx_rc check_ca_time(X509 *ca_cert, time_t now);
