/* SPDX-License-Identifier: MIT */
/*
 * Certificates: parsing from DER and from PEM bundles, the public key and
 * its pairing with a chip key, and a short description for the CLI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki/pki_internal.h"

trustx_rc trustx_pki_cert_from_der(const uint8_t *der, size_t len, trustx_pki_cert **out)
{
    const unsigned char *p = der;
    trustx_pki_cert *cert;
    X509 *x509;

    if (len == 0 || len > INT32_MAX)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "certificate of %zu bytes is not a DER certificate", len);
    x509 = d2i_X509(NULL, &p, (long)len);
    if (x509 == NULL)
        return pki_fail_ossl(TRUSTX_E_INVALID_ARG,
                             "%zu bytes starting with 0x%02x are not a DER certificate", len,
                             der[0]);
    if ((size_t)(p - der) != len) {
        X509_free(x509);
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "DER certificate ends after %zu of %zu bytes; the rest is not part "
                           "of it",
                           (size_t)(p - der), len);
    }

    cert = calloc(1, sizeof(*cert));
    if (cert != NULL)
        cert->der = malloc(len);
    if (cert == NULL || cert->der == NULL) {
        free(cert);
        X509_free(x509);
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_NOMEM, "cannot allocate a certificate");
    }
    memcpy(cert->der, der, len);
    cert->der_len = len;
    cert->x509 = x509;
    *out = cert;
    return TRUSTX_OK;
}

trustx_rc pki_cert_wrap(X509 *x509, trustx_pki_cert **out)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x509, &der);
    trustx_rc rc;

    X509_free(x509);
    if (len <= 0)
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot encode a certificate");
    rc = trustx_pki_cert_from_der(der, (size_t)len, out);
    OPENSSL_free(der);
    return rc;
}

void trustx_pki_cert_free(trustx_pki_cert *cert)
{
    if (cert == NULL)
        return;
    X509_free(cert->x509);
    free(cert->der);
    free(cert);
}

const uint8_t *trustx_pki_cert_der(const trustx_pki_cert *cert, size_t *len)
{
    *len = cert->der_len;
    return cert->der;
}

trustx_rc trustx_pki_cert_public_key(const trustx_pki_cert *cert, trustx_curve *curve,
                                     uint8_t *pub, size_t cap, size_t *pub_len)
{
    EVP_PKEY *key = X509_get0_pubkey(cert->x509);

    if (key == NULL)
        return pki_fail_ossl(TRUSTX_E_INVALID_ARG, "certificate public key does not decode");
    return pki_key_point(key, curve, pub, cap, pub_len);
}

trustx_rc trustx_pki_cert_match_key(const trustx_pki_cert *cert, trustx_curve curve,
                                    const uint8_t *pub, size_t pub_len)
{
    uint8_t cert_pub[TRUSTX_PUBKEY_MAX];
    size_t cert_pub_len = 0;
    trustx_curve cert_curve = TRUSTX_CURVE_P256;
    char have[32], want[32];
    trustx_rc rc = trustx_pki_cert_public_key(cert, &cert_curve, cert_pub, sizeof(cert_pub),
                                              &cert_pub_len);

    if (rc != TRUSTX_OK)
        return rc;
    if (cert_curve != curve)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_VERIFY,
                           "certificate key is on %s but the expected key is on %s; the "
                           "certificate was issued for another key",
                           trustx_pki_curve_name(cert_curve), trustx_pki_curve_name(curve));

    if (cert_pub_len != pub_len || memcmp(cert_pub, pub, pub_len) != 0) {
        pki_hex_prefix(cert_pub, cert_pub_len, have, sizeof(have));
        pki_hex_prefix(pub, pub_len, want, sizeof(want));
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_VERIFY,
                           "certificate public key %s differs from the expected key %s; the "
                           "certificate was issued for another key",
                           have, want);
    }
    return TRUSTX_OK;
}

trustx_rc trustx_pki_cert_verify_digest(const trustx_pki_cert *cert, const uint8_t *digest,
                                        size_t digest_len, const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY *key = X509_get0_pubkey(cert->x509);
    trustx_rc rc;

    if (key == NULL)
        return pki_fail_ossl(TRUSTX_E_INVALID_ARG, "certificate public key does not decode");
    rc = pki_verify_with_key(key, digest, digest_len, sig, sig_len);
    if (rc != TRUSTX_OK)
        trustx_error_prefix("certificate and signing key do not pair");
    return rc;
}

/* ---- description ---- */

static void print_time(BIO *bio, const ASN1_TIME *t)
{
    struct tm tm;
    char text[32];

    if (ASN1_TIME_to_tm(t, &tm) == 1 &&
        strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
        BIO_puts(bio, text);
    else
        BIO_puts(bio, "(invalid time)");
}

static void print_key(BIO *bio, const trustx_pki_cert *cert)
{
    static const struct {
        const char *group;
        const char *name;
    } names[] = {{"prime256v1", "P-256"}, {"secp384r1", "P-384"}, {"secp521r1", "P-521"}};
    EVP_PKEY *key = X509_get0_pubkey(cert->x509);
    char group[64] = "";

    if (key == NULL) {
        BIO_puts(bio, "(does not decode)");
        return;
    }
    if (!EVP_PKEY_is_a(key, "EC")) {
        BIO_printf(bio, "%s %d bits", EVP_PKEY_get0_type_name(key), EVP_PKEY_get_bits(key));
        return;
    }

    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(group, names[i].group) == 0) {
            BIO_printf(bio, "EC %s", names[i].name);
            return;
        }
    }
    BIO_printf(bio, "EC %s", group[0] != '\0' ? group : "(unnamed curve)");
}

static void print_fingerprint(BIO *bio, const trustx_pki_cert *cert)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (EVP_Digest(cert->der, cert->der_len, md, &md_len, EVP_sha256(), NULL) != 1) {
        BIO_puts(bio, "(failed)");
        return;
    }
    for (unsigned int i = 0; i < md_len; i++)
        BIO_printf(bio, i == 0 ? "%02X" : ":%02X", md[i]);
}

static void print_serial(BIO *bio, const X509 *x509)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;

    BIO_puts(bio, hex != NULL ? hex : "(invalid)");
    OPENSSL_free(hex);
    BN_free(bn);
}

trustx_rc trustx_pki_cert_describe(const trustx_pki_cert *cert, char *buf, size_t cap)
{
    const unsigned long name_flags = (XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ & ~ASN1_STRFLGS_ESC_MSB);
    BIO *bio = BIO_new(BIO_s_mem());
    char *text = NULL;
    long len;

    if (bio == NULL)
        return pki_fail_ossl(TRUSTX_E_NOMEM, "cannot allocate a buffer");

    BIO_puts(bio, "subject: ");
    X509_NAME_print_ex(bio, X509_get_subject_name(cert->x509), 0, name_flags);
    BIO_puts(bio, "\nissuer: ");
    X509_NAME_print_ex(bio, X509_get_issuer_name(cert->x509), 0, name_flags);
    BIO_puts(bio, "\nserial: ");
    print_serial(bio, cert->x509);
    BIO_puts(bio, "\nvalid: ");
    print_time(bio, X509_get0_notBefore(cert->x509));
    BIO_puts(bio, " to ");
    print_time(bio, X509_get0_notAfter(cert->x509));
    BIO_puts(bio, "\nkey: ");
    print_key(bio, cert);
    BIO_puts(bio, "\nsha256: ");
    print_fingerprint(bio, cert);
    BIO_puts(bio, "\n");

    len = BIO_get_mem_data(bio, &text);
    if (len < 0 || (size_t)len >= cap) {
        BIO_free(bio);
        if (cap > 0)
            buf[0] = '\0';
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_OVERFLOW,
                           "certificate description needs %ld bytes, the buffer holds %zu",
                           len + 1, cap);
    }
    memcpy(buf, text, (size_t)len);
    buf[len] = '\0';
    BIO_free(bio);
    ERR_clear_error();
    return TRUSTX_OK;
}

/* ---- chains ---- */

void trustx_pki_chain_init(trustx_pki_chain *chain)
{
    memset(chain, 0, sizeof(*chain));
}

void trustx_pki_chain_clear(trustx_pki_chain *chain)
{
    for (size_t i = 0; i < chain->count && i < TRUSTX_PKI_CHAIN_MAX; i++)
        trustx_pki_cert_free(chain->certs[i]);
    trustx_pki_chain_init(chain);
}

static trustx_rc chain_push(trustx_pki_chain *chain, const char *source, const uint8_t *der,
                            size_t len)
{
    trustx_rc rc;

    if (chain->count >= TRUSTX_PKI_CHAIN_MAX)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_OVERFLOW,
                           "%s holds more than %d certificates", source, TRUSTX_PKI_CHAIN_MAX);
    rc = trustx_pki_cert_from_der(der, len, &chain->certs[chain->count]);
    if (rc != TRUSTX_OK) {
        trustx_error_prefix("%s: certificate %zu", source, chain->count + 1);
        return rc;
    }
    chain->count++;
    return TRUSTX_OK;
}

/* Returns nonzero when the last OpenSSL error reports that no further PEM block was found. */
static int pem_at_end(void)
{
    unsigned long err = ERR_peek_last_error();

    return ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
}

static trustx_rc pem_block(trustx_pki_chain *chain, const char *source, const char *name,
                           const char *header, const uint8_t *body, long body_len)
{
    if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s: PEM block %zu is \"%s\", not a certificate; give a file with "
                           "CERTIFICATE blocks only",
                           source, chain->count + 1, name);
    if (header != NULL && header[0] != '\0')
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s: PEM block %zu has headers; give plain PEM", source,
                           chain->count + 1);
    return chain_push(chain, source, body, (size_t)body_len);
}

static trustx_rc parse_pem_chain(const uint8_t *data, size_t len, const char *source,
                                 trustx_pki_chain *chain)
{
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    trustx_rc rc = TRUSTX_OK;

    if (bio == NULL)
        return pki_fail_ossl(TRUSTX_E_NOMEM, "cannot read %s", source);

    while (rc == TRUSTX_OK) {
        char *name = NULL, *header = NULL;
        unsigned char *body = NULL;
        long body_len = 0;

        if (PEM_read_bio(bio, &name, &header, &body, &body_len) != 1) {
            if (pem_at_end() && chain->count > 0)
                ERR_clear_error();
            else
                rc = pki_fail_ossl(TRUSTX_E_INVALID_ARG, "%s: PEM block %zu does not decode",
                                   source, chain->count + 1);
            break;
        }
        rc = pem_block(chain, source, name, header, body, body_len);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(body);
    }
    BIO_free(bio);
    return rc;
}

trustx_rc trustx_pki_chain_parse(const uint8_t *data, size_t len, const char *source,
                                 trustx_pki_chain *chain)
{
    trustx_rc rc;

    trustx_pki_chain_init(chain);
    if (len == 0)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "%s is empty; give a PEM or DER certificate", source);
    if (len > INT32_MAX)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_OVERFLOW, "%s is too large", source);

    if (pki_is_pem(data, len))
        rc = parse_pem_chain(data, len, source, chain);
    else
        rc = chain_push(chain, source, data, len);

    if (rc != TRUSTX_OK)
        trustx_pki_chain_clear(chain);
    return rc;
}

trustx_rc trustx_pki_chain_load(const char *path, trustx_pki_chain *chain)
{
    uint8_t *data = NULL;
    size_t len = 0;
    trustx_rc rc;

    trustx_pki_chain_init(chain);
    rc = trustx_pki_file_read(path, PKI_FILE_MAX, &data, &len);
    if (rc != TRUSTX_OK)
        return rc;
    rc = trustx_pki_chain_parse(data, len, path, chain);
    free(data);
    return rc;
}

trustx_rc trustx_pki_chain_pem(const trustx_pki_chain *chain, char **pem, size_t *pem_len)
{
    char *text = NULL;
    size_t used = 0;

    if (chain->count == 0)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "chain is empty; there is no certificate to encode");

    for (size_t i = 0; i < chain->count; i++) {
        char *block = NULL;
        size_t block_len = 0;
        char *grown;
        trustx_rc rc = trustx_pki_pem_encode(TRUSTX_PKI_PEM_CERT, chain->certs[i]->der,
                                             chain->certs[i]->der_len, &block, &block_len);

        if (rc != TRUSTX_OK) {
            free(text);
            return rc;
        }
        grown = realloc(text, used + block_len + 1);
        if (grown == NULL) {
            free(block);
            free(text);
            return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_NOMEM, "cannot allocate %zu bytes",
                               used + block_len + 1);
        }
        text = grown;
        memcpy(text + used, block, block_len + 1);
        used += block_len;
        free(block);
    }

    *pem = text;
    if (pem_len != NULL)
        *pem_len = used;
    return TRUSTX_OK;
}
