/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the files of the PKI layer: the certificate handle,
 * OpenSSL error reporting, EC points as EVP_PKEY and PEM parsing.
 */
#ifndef TRUSTX_PKI_INTERNAL_H
#define TRUSTX_PKI_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "trustx/pki.h"

struct trustx_pki_cert {
    X509 *x509;
    uint8_t *der;        /* the bytes x509 was parsed from, malloc() */
    size_t der_len;
};

/* Largest certificate or request file read from disk, in bytes. */
#define PKI_FILE_MAX (1024 * 1024)

/*
 * Records rc like trustx_fail() and appends the reason of the most recent
 * OpenSSL error, then clears OpenSSL's error queue.
 */
trustx_rc pki_fail_ossl(trustx_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns the X.509 hash of curve (SHA-256 or SHA-384), NULL for an unknown curve. */
const EVP_MD *pki_curve_md(trustx_curve curve);

/*
 * Makes a public-key EVP_PKEY from the uncompressed point pub on curve,
 * checking that the point lies on the curve. *out is owned by the caller.
 */
trustx_rc pki_key_from_point(trustx_curve curve, const uint8_t *pub, size_t pub_len,
                             EVP_PKEY **out);

/*
 * Gets the curve and uncompressed point of an EC key.
 * TRUSTX_E_UNSUPPORTED for a key that is not P-256 or P-384.
 */
trustx_rc pki_key_point(const EVP_PKEY *key, trustx_curve *curve, uint8_t *pub, size_t cap,
                        size_t *pub_len);

/* Verifies the DER signature sig over digest with key; TRUSTX_E_VERIFY when it fails. */
trustx_rc pki_verify_with_key(EVP_PKEY *key, const uint8_t *digest, size_t digest_len,
                              const uint8_t *sig, size_t sig_len);

/* Writes the first bytes of data as hex, "04a1b2...", for messages. */
void pki_hex_prefix(const uint8_t *data, size_t len, char *buf, size_t cap);

/* Returns nonzero when data is PEM: it does not start with 0x30 (DER) and contains "-----BEGIN ". */
int pki_is_pem(const uint8_t *data, size_t len);

/*
 * Decodes the single PEM block in data whose label is one of labels (a
 * NULL-terminated list). *der is owned by the caller (free()). source names
 * the input in messages.
 */
trustx_rc pki_pem_decode_one(const uint8_t *data, size_t len, const char *const *labels,
                             const char *source, uint8_t **der, size_t *der_len);

/* Builds an X509_NAME holding the subject's attributes in order. */
trustx_rc pki_subject_to_name(const trustx_pki_subject *s, X509_NAME **out);

/* Wraps x509 (ownership taken, also on failure) in a certificate handle. */
trustx_rc pki_cert_wrap(X509 *x509, trustx_pki_cert **out);

/* Parses a request given as PEM or DER; *out is owned by the caller. */
trustx_rc pki_csr_parse(const uint8_t *csr, size_t len, X509_REQ **out);

#endif
