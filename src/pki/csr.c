/* SPDX-License-Identifier: MIT */
/*
 * PKCS#10 requests for a key that lives elsewhere (in the chip). OpenSSL
 * encodes the CertificationRequestInfo, a callback signs its digest, and the
 * result is parsed back and verified before it is returned.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki/pki_internal.h"

static const char *const csr_labels[] = {TRUSTX_PKI_PEM_CSR, "NEW CERTIFICATE REQUEST", NULL};

static int signature_nid(trustx_curve curve)
{
    return curve == TRUSTX_CURVE_P384 ? NID_ecdsa_with_SHA384 : NID_ecdsa_with_SHA256;
}

/* Adds the extensionRequest attribute: keyUsage digitalSignature, critical. */
static trustx_rc request_key_usage(X509_REQ *req)
{
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    ASN1_BIT_STRING *usage = ASN1_BIT_STRING_new();
    X509_EXTENSION *ext = NULL;
    int ok = 0;

    /* Bit 0 is digitalSignature; OpenSSL drops trailing zero bits, giving 03 02 07 80. */
    if (exts != NULL && usage != NULL && ASN1_BIT_STRING_set_bit(usage, 0, 1) == 1)
        ext = X509V3_EXT_i2d(NID_key_usage, 1, usage);
    if (ext != NULL && sk_X509_EXTENSION_push(exts, ext) > 0) {
        ext = NULL;
        ok = X509_REQ_add_extensions(req, exts) == 1;
    }

    X509_EXTENSION_free(ext);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ASN1_BIT_STRING_free(usage);
    if (!ok)
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot add the keyUsage request");
    return TRUSTX_OK;
}

/* Sets ecdsa-with-SHA256/384 with absent parameters, as RFC 5758 requires. */
static trustx_rc set_signature_algorithm(X509_REQ *req, trustx_curve curve)
{
    X509_ALGOR *alg = X509_ALGOR_new();
    int ok = alg != NULL &&
             X509_ALGOR_set0(alg, OBJ_nid2obj(signature_nid(curve)), V_ASN1_UNDEF, NULL) == 1 &&
             X509_REQ_set1_signature_algo(req, alg) == 1;

    X509_ALGOR_free(alg);
    if (!ok)
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot set the signature algorithm");
    return TRUSTX_OK;
}

static trustx_rc build_request_info(const trustx_pki_subject *subject, trustx_curve curve,
                                    EVP_PKEY *key, X509_REQ **out)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = NULL;
    trustx_rc rc;

    if (req == NULL)
        return pki_fail_ossl(TRUSTX_E_NOMEM, "cannot allocate a request");

    rc = pki_subject_to_name(subject, &name);
    if (rc == TRUSTX_OK && (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
                            X509_REQ_set_subject_name(req, name) != 1 ||
                            X509_REQ_set_pubkey(req, key) != 1))
        rc = pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot fill in the request");
    if (rc == TRUSTX_OK)
        rc = request_key_usage(req);
    if (rc == TRUSTX_OK)
        rc = set_signature_algorithm(req, curve);

    X509_NAME_free(name);
    if (rc != TRUSTX_OK) {
        X509_REQ_free(req);
        return rc;
    }
    *out = req;
    return TRUSTX_OK;
}

/* Checks that sig is one DER ECDSA-Sig-Value: it parses and encodes back to the same bytes. */
static trustx_rc check_signature_der(const uint8_t *sig, size_t sig_len)
{
    const unsigned char *p = sig;
    ECDSA_SIG *parsed = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
    unsigned char *again = NULL;
    int again_len = parsed != NULL ? i2d_ECDSA_SIG(parsed, &again) : -1;
    int same = again_len >= 0 && (size_t)again_len == sig_len && (size_t)(p - sig) == sig_len &&
               memcmp(again, sig, sig_len) == 0;
    char prefix[32];

    ECDSA_SIG_free(parsed);
    OPENSSL_free(again);
    ERR_clear_error();
    if (!same) {
        pki_hex_prefix(sig, sig_len, prefix, sizeof(prefix));
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "signer returned %zu bytes (%s) that are not a DER ECDSA signature "
                           "(SEQUENCE of two INTEGERs)",
                           sig_len, prefix);
    }
    return TRUSTX_OK;
}

static trustx_rc attach_signature(X509_REQ *req, const uint8_t *sig, size_t sig_len)
{
    ASN1_BIT_STRING *bits = ASN1_BIT_STRING_new();

    if (bits == NULL || ASN1_BIT_STRING_set(bits, (unsigned char *)sig, (int)sig_len) != 1) {
        ASN1_BIT_STRING_free(bits);
        return pki_fail_ossl(TRUSTX_E_NOMEM, "cannot store the signature");
    }
    /* A signature is a whole number of bytes: the BIT STRING has 0 unused bits. */
    bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    X509_REQ_set0_signature(req, bits);
    return TRUSTX_OK;
}

/* Hashes the DER CertificationRequestInfo, has the callback sign it and attaches the result. */
static trustx_rc sign_request(X509_REQ *req, trustx_curve curve, trustx_pki_sign_fn sign,
                              void *user)
{
    unsigned char *tbs = NULL;
    int tbs_len = i2d_re_X509_REQ_tbs(req, &tbs);
    uint8_t digest[TRUSTX_PKI_DIGEST_MAX];
    uint8_t sig[TRUSTX_PKI_SIG_MAX];
    size_t digest_len = 0, sig_len = 0;
    trustx_rc rc;

    if (tbs_len <= 0)
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot encode the CertificationRequestInfo");
    rc = trustx_pki_digest(curve, tbs, (size_t)tbs_len, digest, sizeof(digest), &digest_len);
    OPENSSL_free(tbs);
    if (rc != TRUSTX_OK)
        return rc;

    rc = sign(user, digest, digest_len, sig, sizeof(sig), &sig_len);
    if (rc != TRUSTX_OK) {
        trustx_error_prefix("signing the request");
        return rc;
    }
    if (sig_len == 0 || sig_len > sizeof(sig))
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "signer returned a signature of %zu bytes; expected 8..%zu", sig_len,
                           sizeof(sig));

    rc = check_signature_der(sig, sig_len);
    if (rc == TRUSTX_OK)
        rc = attach_signature(req, sig, sig_len);
    return rc;
}

trustx_rc pki_csr_parse(const uint8_t *csr, size_t len, X509_REQ **out)
{
    uint8_t *der = NULL;
    size_t der_len = len;
    const unsigned char *p;
    X509_REQ *req;
    trustx_rc rc = TRUSTX_OK;

    if (len == 0 || len > INT32_MAX)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "request of %zu bytes is not a PEM or DER request", len);
    if (pki_is_pem(csr, len)) {
        rc = pki_pem_decode_one(csr, len, csr_labels, "request", &der, &der_len);
        if (rc != TRUSTX_OK)
            return rc;
        p = der;
    } else {
        p = csr;
    }

    req = d2i_X509_REQ(NULL, &p, (long)der_len);
    if (req == NULL) {
        rc = pki_fail_ossl(TRUSTX_E_INVALID_ARG, "request of %zu bytes does not parse as PKCS#10",
                           der_len);
    } else if ((size_t)(p - (der != NULL ? der : csr)) != der_len) {
        rc = trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                         "request ends after %zu of %zu bytes; the rest is not part of it",
                         (size_t)(p - (der != NULL ? der : csr)), der_len);
        X509_REQ_free(req);
    } else {
        *out = req;
    }
    free(der);
    return rc;
}

static trustx_rc check_request_key(X509_REQ *req, trustx_curve curve, const uint8_t *pub,
                                   size_t pub_len)
{
    EVP_PKEY *key = X509_REQ_get0_pubkey(req);
    uint8_t have[TRUSTX_PUBKEY_MAX];
    size_t have_len = 0;
    trustx_curve have_curve = TRUSTX_CURVE_P256;
    char have_hex[32], want_hex[32];
    trustx_rc rc;

    if (key == NULL)
        return pki_fail_ossl(TRUSTX_E_INVALID_ARG, "request public key does not decode");
    if (X509_REQ_verify(req, key) != 1)
        return pki_fail_ossl(TRUSTX_E_VERIFY, "request self-signature does not verify");

    rc = pki_key_point(key, &have_curve, have, sizeof(have), &have_len);
    if (rc != TRUSTX_OK)
        return rc;
    if (have_curve != curve || have_len != pub_len || memcmp(have, pub, pub_len) != 0) {
        pki_hex_prefix(have, have_len, have_hex, sizeof(have_hex));
        pki_hex_prefix(pub, pub_len, want_hex, sizeof(want_hex));
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_VERIFY,
                           "request public key (%s %s) differs from the expected key (%s %s)",
                           trustx_pki_curve_name(have_curve), have_hex,
                           trustx_pki_curve_name(curve), want_hex);
    }
    return TRUSTX_OK;
}

trustx_rc trustx_pki_csr_check(const uint8_t *csr, size_t len, trustx_curve curve,
                               const uint8_t *pub, size_t pub_len)
{
    X509_REQ *req = NULL;
    trustx_rc rc = trustx_pki_point_check(curve, pub, pub_len);

    if (rc == TRUSTX_OK)
        rc = pki_csr_parse(csr, len, &req);
    if (rc == TRUSTX_OK)
        rc = check_request_key(req, curve, pub, pub_len);
    X509_REQ_free(req);
    return rc;
}

static trustx_rc encode_request(X509_REQ *req, uint8_t **der, size_t *der_len)
{
    unsigned char *encoded = NULL;
    int len = i2d_X509_REQ(req, &encoded);
    uint8_t *copy;

    if (len <= 0)
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot encode the request");
    copy = malloc((size_t)len);
    if (copy == NULL) {
        OPENSSL_free(encoded);
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_NOMEM, "cannot allocate %d bytes", len);
    }
    memcpy(copy, encoded, (size_t)len);
    OPENSSL_free(encoded);
    *der = copy;
    *der_len = (size_t)len;
    return TRUSTX_OK;
}

trustx_rc trustx_pki_csr_to_der(const uint8_t *csr, size_t len, uint8_t **der, size_t *der_len)
{
    X509_REQ *req = NULL;
    trustx_rc rc = pki_csr_parse(csr, len, &req);

    /* A parsed request keeps the bytes it came from, so encoding returns them unchanged. */
    if (rc == TRUSTX_OK)
        rc = encode_request(req, der, der_len);
    X509_REQ_free(req);
    return rc;
}

/* Parses the finished request back and checks that the signer's key belongs to pub. */
static trustx_rc verify_built(const uint8_t *der, size_t der_len, trustx_curve curve,
                              const uint8_t *pub, size_t pub_len)
{
    X509_REQ *req = NULL;
    char pub_hex[32];
    trustx_rc rc = pki_csr_parse(der, der_len, &req);

    if (rc != TRUSTX_OK)
        return rc;
    if (X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) != 1) {
        X509_REQ_free(req);
        ERR_clear_error();
        pki_hex_prefix(pub, pub_len, pub_hex, sizeof(pub_hex));
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_VERIFY,
                           "signature from the signer does not verify with the %s public key "
                           "%s; the signing key is not the private key of this point (check "
                           "that the key slot is the one that generated it)",
                           trustx_pki_curve_name(curve), pub_hex);
    }
    rc = check_request_key(req, curve, pub, pub_len);
    X509_REQ_free(req);
    return rc;
}

trustx_rc trustx_pki_csr_build(const trustx_pki_subject *subject, trustx_curve curve,
                               const uint8_t *pub, size_t pub_len, trustx_pki_sign_fn sign,
                               void *user, uint8_t **der, size_t *der_len)
{
    EVP_PKEY *key = NULL;
    X509_REQ *req = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0;
    trustx_rc rc;

    if (subject->count == 0)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "request subject is empty; give at least CN");

    rc = pki_key_from_point(curve, pub, pub_len, &key);
    if (rc == TRUSTX_OK)
        rc = build_request_info(subject, curve, key, &req);
    if (rc == TRUSTX_OK)
        rc = sign_request(req, curve, sign, user);
    if (rc == TRUSTX_OK)
        rc = encode_request(req, &out, &out_len);
    if (rc == TRUSTX_OK)
        rc = verify_built(out, out_len, curve, pub, pub_len);

    X509_REQ_free(req);
    EVP_PKEY_free(key);
    if (rc != TRUSTX_OK) {
        free(out);
        return rc;
    }
    *der = out;
    *der_len = out_len;
    return TRUSTX_OK;
}
