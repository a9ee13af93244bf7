/* SPDX-License-Identifier: MIT */
/*
 * Checks on certificates that AWS returns: does the public key equal the
 * chip's key (or the CSR's), and what certificate id does AWS IoT derive
 * from it. Everything is done with OpenSSL; nothing here touches the network.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "aws/aws_internal.h"

/* Builds an EVP_PKEY from an uncompressed EC point on curve. */
static trustx_rc pkey_from_point(trustx_curve curve, const uint8_t *pub, size_t pub_len,
                                 EVP_PKEY **out)
{
    const char *group;
    size_t expected;
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx;
    int ok;

    switch (curve) {
    case TRUSTX_CURVE_P256:
        group = "prime256v1";
        expected = 1 + 2 * TRUSTX_P256_BYTES;
        break;
    case TRUSTX_CURVE_P384:
        group = "secp384r1";
        expected = 1 + 2 * TRUSTX_P384_BYTES;
        break;
    default:
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "curve 0x%02x is not supported; expected P-256 or P-384", curve);
    }
    if (pub == NULL || pub_len != expected || pub[0] != 0x04)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "public key of %zu bytes is not an uncompressed %s point (04||X||Y, "
                           "%zu bytes)", pub_len, group, expected);

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub,
                                                  pub_len);
    params[2] = OSSL_PARAM_construct_end();

    *out = NULL;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    ok = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
         EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "public key is not a valid point on %s", group);
    return TRUSTX_OK;
}

/* Returns the public key of a PEM certificate or CSR (up-referenced), or NULL. */
static EVP_PKEY *pkey_from_pem(const char *pem, int is_csr)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = NULL;

    if (bio == NULL)
        return NULL;
    if (is_csr) {
        X509_REQ *req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);

        if (req != NULL)
            key = X509_REQ_get_pubkey(req);
        X509_REQ_free(req);
    } else {
        X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);

        if (cert != NULL)
            key = X509_get_pubkey(cert);
        X509_free(cert);
    }
    BIO_free(bio);
    return key;
}

trustx_rc trustx_aws_pem_matches_key(const char *pem, int is_csr, trustx_curve curve,
                                     const uint8_t *pub, size_t pub_len)
{
    EVP_PKEY *expected = NULL;
    EVP_PKEY *actual;
    trustx_rc rc;

    if (pem == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG, "no PEM text given");
    rc = pkey_from_point(curve, pub, pub_len, &expected);
    if (rc != TRUSTX_OK)
        return rc;
    actual = pkey_from_pem(pem, is_csr);
    if (actual == NULL) {
        EVP_PKEY_free(expected);
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG, "%s PEM does not parse",
                           is_csr ? "certificate request" : "certificate");
    }
    rc = EVP_PKEY_eq(expected, actual) == 1
             ? TRUSTX_OK
             : trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_VERIFY,
                           "the %s's public key is not the chip's key",
                           is_csr ? "certificate request" : "certificate");
    EVP_PKEY_free(expected);
    EVP_PKEY_free(actual);
    return rc;
}

trustx_rc trustx_aws_cert_matches_csr(const char *cert_pem, const char *csr_pem)
{
    EVP_PKEY *cert_key = pkey_from_pem(cert_pem, 0);
    EVP_PKEY *csr_key = pkey_from_pem(csr_pem, 1);
    trustx_rc rc;

    if (cert_key == NULL)
        rc = trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CLOUD,
                         "the certificate returned by AWS does not parse as PEM");
    else if (csr_key == NULL)
        rc = trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                         "the certificate request does not parse as PEM");
    else if (EVP_PKEY_eq(cert_key, csr_key) != 1)
        rc = trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_VERIFY,
                         "the certificate's public key is not the key of the request");
    else
        rc = TRUSTX_OK;
    EVP_PKEY_free(cert_key);
    EVP_PKEY_free(csr_key);
    return rc;
}

trustx_rc trustx_aws_certificate_id(const char *cert_pem, char id[TRUSTX_AWS_CERT_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    BIO *bio = BIO_new_mem_buf(cert_pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    int len;

    BIO_free(bio);
    if (cert == NULL)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_INVALID_ARG,
                           "certificate PEM does not parse");
    len = i2d_X509(cert, &der);
    X509_free(cert);
    if (len <= 0)
        return trustx_fail(TRUSTX_LAYER_AWS, TRUSTX_E_CRYPTO, "certificate does not encode as DER");

    SHA256(der, (size_t)len, digest);
    OPENSSL_free(der);
    for (size_t i = 0; i < sizeof(digest); i++) {
        id[2 * i] = hex[digest[i] >> 4];
        id[2 * i + 1] = hex[digest[i] & 0x0F];
    }
    id[TRUSTX_AWS_CERT_ID_LEN] = '\0';
    return TRUSTX_OK;
}
