/* SPDX-License-Identifier: MIT */
/*
 * PKI helpers on OpenSSL 3. They build subject names from config files and
 * DN strings and PKCS#10 requests whose signature comes from a callback (the
 * chip's key). They load certificates, check that a certificate pairs with a
 * key, encode and decode the formats of the chip's certificate slots, and run
 * a small local CA. Nothing here talks to a chip.
 *
 * Conventions for the whole header:
 * - Public keys are uncompressed EC points 04||X||Y: 65 bytes for P-256,
 *   97 bytes for P-384. Signatures are DER ECDSA-Sig-Value (SEQUENCE of the
 *   INTEGERs r and s), as X.509 and PKCS#10 carry them.
 * - Inputs that may be PEM or DER are recognised by content: DER when the
 *   first byte is 0x30 (a SEQUENCE), PEM when the data contains
 *   "-----BEGIN " (text around the PEM blocks is ignored), DER otherwise.
 * - Buffers returned through uint8_t ** or char ** are allocated with
 *   malloc() and owned by the caller, who frees them with free(). On failure
 *   they are left untouched.
 * - Pointer arguments MUST NOT be NULL unless the comment says so.
 * - Failures are recorded with trustx_fail(TRUSTX_LAYER_PKI, ...): the
 *   message names the file, attribute or value and says what to do.
 *   TRUSTX_E_INVALID_ARG is bad user input, TRUSTX_E_VERIFY a signature or
 *   key that does not match, TRUSTX_E_CRYPTO an OpenSSL failure.
 */
#ifndef TRUSTX_PKI_H
#define TRUSTX_PKI_H

#include <stddef.h>
#include <stdint.h>

#include "trustx/cmd.h"
#include "trustx/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Subject (distinguished name) ---- */

#define TRUSTX_PKI_SUBJECT_MAX 16          /* attributes in one subject */
#define TRUSTX_PKI_VALUE_CHARS_MAX 128     /* largest per-attribute bound, in characters */
#define TRUSTX_PKI_VALUE_BYTES_MAX (4 * TRUSTX_PKI_VALUE_CHARS_MAX + 1)   /* UTF-8 and NUL */
#define TRUSTX_PKI_CONFIG_MAX 65536        /* largest subject config file, in bytes */

/*
 * One attribute of a subject. name is the canonical name from the table
 * below and points to static storage; value is NUL-terminated UTF-8.
 */
typedef struct trustx_pki_attr {
    const char *name;
    char value[TRUSTX_PKI_VALUE_BYTES_MAX];
} trustx_pki_attr;

/*
 * A subject as a sequence of single-valued RDNs. attrs[0] is the first RDN
 * of the encoded RDNSequence, which is also the first one that
 * `openssl req -text` prints.
 */
typedef struct trustx_pki_subject {
    size_t count;
    trustx_pki_attr attrs[TRUSTX_PKI_SUBJECT_MAX];
} trustx_pki_subject;

/*
 * Accepted attributes, canonical name first, with the value rules checked
 * by trustx_pki_subject_add(). Lengths count characters, not bytes. Bounds
 * marked X.520 are the ub-* values of RFC 5280 Appendix A, the others are
 * trustx limits.
 *   CN                      UTF8String, 1..64 (X.520)
 *   O, OU                   UTF8String, 1..64 (X.520)
 *   C                       PrintableString, exactly 2 upper-case letters (ISO 3166)
 *   ST, L                   UTF8String, 1..128 (X.520)
 *   serialNumber            PrintableString, 1..64 (X.520)
 *   emailAddress            IA5String, 1..128
 *   title                   UTF8String, 1..64 (X.520)
 *   givenName, surname      UTF8String, 1..128
 *   dnQualifier             PrintableString, 1..64
 *   organizationIdentifier  UTF8String, 1..128
 *   DC                      IA5String, 1..63 (one DNS label)
 *   UID                     UTF8String, 1..128
 * Every value is valid UTF-8 without control characters (U+0000..U+001F,
 * U+007F..U+009F) and is not empty.
 */

/* Empties s. */
void trustx_pki_subject_init(trustx_pki_subject *s);

/*
 * Validates value against the rules of attribute name and appends it.
 * name is matched without regard to case against the canonical names, the
 * OpenSSL long names ("commonName", "organizationName", ...), the OpenSSL
 * short names "GN" and "SN", and "E" for emailAddress. Duplicates are allowed here (a DN may carry two
 * OU or DC attributes). TRUSTX_E_INVALID_ARG names the attribute and value.
 * TRUSTX_E_OVERFLOW when s already contains TRUSTX_PKI_SUBJECT_MAX attributes.
 */
trustx_rc trustx_pki_subject_add(trustx_pki_subject *s, const char *name, const char *value);

/*
 * Parses a subject config: a flat JSON object (UTF-8, optional BOM) whose
 * keys are canonical attribute names, spelled exactly as in the table above,
 * with string values, such as {"CN": "dev-1", "O": "Acme", "C": "DE"}.
 * The subject keeps the file's key order. CN is required. Unknown or
 * misspelled keys, duplicate keys, non-string values and values that break
 * an attribute rule are rejected with TRUSTX_E_INVALID_ARG; the message
 * starts with source (a file name, for messages only) and names the key.
 * s is overwritten even on failure.
 */
trustx_rc trustx_pki_subject_from_json(const char *json, size_t len, const char *source,
                                       trustx_pki_subject *s);

/* Reads the config file path (at most TRUSTX_PKI_CONFIG_MAX bytes) and parses it as above. */
trustx_rc trustx_pki_subject_load(const char *path, trustx_pki_subject *s);

/*
 * Parses a DN string in one of two forms, chosen by its first non-blank
 * character, and requires CN:
 * - OpenSSL form, starting with '/': "/CN=dev-1/O=Acme/C=DE". Attributes
 *   come in encoding order. A backslash takes the next character literally
 *   ("\/" for a slash). '+' is an ordinary character, as in `openssl req -subj`.
 * - RFC 4514 form: "CN=dev-1,O=Acme,C=DE". As RFC 4514 defines, the string
 *   lists the RDNs last first, so this example encodes C, O, CN in that
 *   order. Escapes are '\' followed by one of ` "#+,;<=>\` or by two hex
 *   digits (one byte of the UTF-8 value). Blanks around ',' and '=' are
 *   ignored; keep a leading or trailing blank in a value by escaping it.
 *   Multi-valued RDNs (an unescaped '+') and "#hex" values are rejected.
 * Attribute names are matched as in trustx_pki_subject_add(). s is
 * overwritten even on failure.
 */
trustx_rc trustx_pki_subject_parse(const char *text, trustx_pki_subject *s);

/* Returns the value of the first attribute called name (canonical name, any case) or NULL. */
const char *trustx_pki_subject_find(const trustx_pki_subject *s, const char *name);

/*
 * Writes s in the OpenSSL form ("/CN=dev-1/O=Acme") with '/' and '\'
 * escaped, so that trustx_pki_subject_parse() and `openssl req -subj` read
 * it back in the same order. TRUSTX_E_OVERFLOW when it does not fit cap
 * bytes including the NUL.
 */
trustx_rc trustx_pki_subject_format(const trustx_pki_subject *s, char *buf, size_t cap);

/* Returns the canonical attribute names as one comma-separated static string, for help texts. */
const char *trustx_pki_subject_names(void);

/* ---- Keys, digests and signatures ---- */

#define TRUSTX_PKI_DIGEST_MAX 48     /* SHA-384 */
#define TRUSTX_PKI_SIG_MAX 128       /* DER ECDSA-Sig-Value; P-384 needs at most 104 bytes */

/* Returns "P-256" or "P-384", or "unknown" for any other value. */
const char *trustx_pki_curve_name(trustx_curve curve);

/* Returns the uncompressed point size of curve (65 or 97), 0 for an unknown curve. */
size_t trustx_pki_point_len(trustx_curve curve);

/*
 * Checks that pub is an uncompressed point of the right size on curve.
 * TRUSTX_E_INVALID_ARG otherwise.
 */
trustx_rc trustx_pki_point_check(trustx_curve curve, const uint8_t *pub, size_t pub_len);

/*
 * Hashes data with the hash that goes with curve in X.509 (SHA-256 for
 * P-256, SHA-384 for P-384). digest receives 32 or 48 bytes; cap MUST be at
 * least that (TRUSTX_PKI_DIGEST_MAX always is).
 */
trustx_rc trustx_pki_digest(trustx_curve curve, const uint8_t *data, size_t len,
                            uint8_t *digest, size_t cap, size_t *digest_len);

/*
 * Verifies the DER ECDSA signature sig over digest (used as it is, no
 * further hashing) with the point pub on curve. TRUSTX_E_VERIFY when the
 * signature does not verify or is not DER.
 */
trustx_rc trustx_pki_verify_digest(trustx_curve curve, const uint8_t *pub, size_t pub_len,
                                   const uint8_t *digest, size_t digest_len,
                                   const uint8_t *sig, size_t sig_len);

/*
 * Recovers the public key that made two ECDSA signatures (DER) over two
 * different digests of digest_len bytes each. The chip exports a key pair's
 * public key only when it generates it; this recovers it later from two
 * signatures the chip makes. pub receives the uncompressed point (cap MUST be
 * at least trustx_pki_point_len(curve)). TRUSTX_E_VERIFY when the signatures
 * do not come from one key.
 */
trustx_rc trustx_pki_recover_public_key(trustx_curve curve, const uint8_t *digest1,
                                        const uint8_t *sig1, size_t sig1_len,
                                        const uint8_t *digest2, const uint8_t *sig2,
                                        size_t sig2_len, size_t digest_len, uint8_t *pub,
                                        size_t cap, size_t *pub_len);

/* Encodes a point as a PEM SubjectPublicKeyInfo ("PUBLIC KEY"); *pem is malloc'd and NUL-terminated. */
trustx_rc trustx_pki_public_key_pem(trustx_curve curve, const uint8_t *pub, size_t pub_len,
                                    char **pem, size_t *pem_len);

/* ---- Certificate signing requests (PKCS#10) ---- */

/*
 * Signs digest (digest_len bytes, already hashed) with the private key that
 * belongs to the request's public key and writes a DER ECDSA-Sig-Value of at
 * most cap bytes (cap is TRUSTX_PKI_SIG_MAX) to sig_der. On failure it
 * records the cause with trustx_fail() and returns its code, which the
 * caller passes on.
 */
typedef trustx_rc (*trustx_pki_sign_fn)(void *user, const uint8_t *digest, size_t digest_len,
                                        uint8_t *sig_der, size_t cap, size_t *sig_len);

/*
 * Builds a PKCS#10 request, DER encoded, for the point pub on curve:
 * version 0, the subject in its order, the public key, and an
 * extensionRequest attribute asking for keyUsage digitalSignature (critical,
 * minimal DER). sign signs the SHA-256 (P-256) or SHA-384 (P-384) digest of
 * the CertificationRequestInfo; the signature algorithm is
 * ecdsa-with-SHA256 or ecdsa-with-SHA384 without parameters (RFC 5758).
 * Before returning, the request is parsed back and its self-signature
 * verified with pub: TRUSTX_E_VERIFY means the signer's key does not belong
 * to pub. The signer's own failure code is returned unchanged, with
 * "signing the request" prefixed to its message.
 */
trustx_rc trustx_pki_csr_build(const trustx_pki_subject *subject, trustx_curve curve,
                               const uint8_t *pub, size_t pub_len, trustx_pki_sign_fn sign,
                               void *user, uint8_t **der, size_t *der_len);

/*
 * Checks a request (PEM or DER, exactly one): its self-signature verifies
 * and its public key is the point pub on curve. TRUSTX_E_VERIFY for a bad
 * signature or another key; TRUSTX_E_INVALID_ARG when it does not parse.
 */
trustx_rc trustx_pki_csr_check(const uint8_t *csr, size_t len, trustx_curve curve,
                               const uint8_t *pub, size_t pub_len);

/* Converts a request given as PEM or DER to DER (checked to parse, nothing else). */
trustx_rc trustx_pki_csr_to_der(const uint8_t *csr, size_t len, uint8_t **der, size_t *der_len);

/* ---- PEM and files ---- */

#define TRUSTX_PKI_PEM_CSR "CERTIFICATE REQUEST"
#define TRUSTX_PKI_PEM_CERT "CERTIFICATE"

/*
 * Encodes der as one PEM block with the given label (such as
 * TRUSTX_PKI_PEM_CERT): 64-column base64, LF line ends, final newline.
 * *pem is NUL-terminated; *pem_len excludes the NUL. pem_len may be NULL.
 */
trustx_rc trustx_pki_pem_encode(const char *label, const uint8_t *der, size_t len, char **pem,
                                size_t *pem_len);

/*
 * Reads all of path into a new buffer with one extra NUL byte after the
 * data (not counted in *len). TRUSTX_E_OVERFLOW when the file is larger
 * than max bytes, and TRUSTX_E_INVALID_ARG (with errno) when it cannot be
 * opened or read, since it is the user's input.
 */
trustx_rc trustx_pki_file_read(const char *path, size_t max, uint8_t **data, size_t *len);

/*
 * Writes data to path atomically: a temporary file in the same folder is
 * written, flushed to disk and then renamed over path (replace != 0) or
 * linked to path only if path does not exist yet (replace == 0, which gives
 * TRUSTX_E_INVALID_ARG for an existing path). mode is the new file's
 * permission bits, such as 0600 for a private key.
 */
trustx_rc trustx_pki_file_write(const char *path, const void *data, size_t len, unsigned mode,
                                int replace);

/* ---- Certificates ---- */

/* An X.509 certificate together with the exact DER bytes it was parsed from. */
typedef struct trustx_pki_cert trustx_pki_cert;

/*
 * Parses exactly len bytes of DER as one certificate. Trailing bytes and
 * encodings OpenSSL does not accept give TRUSTX_E_INVALID_ARG.
 */
trustx_rc trustx_pki_cert_from_der(const uint8_t *der, size_t len, trustx_pki_cert **out);

/* Frees cert. Accepts NULL. */
void trustx_pki_cert_free(trustx_pki_cert *cert);

/* Returns the certificate's DER bytes (owned by cert) and their length in *len. */
const uint8_t *trustx_pki_cert_der(const trustx_pki_cert *cert, size_t *len);

/*
 * Gets the certificate's EC public key: *curve and the uncompressed point.
 * TRUSTX_E_UNSUPPORTED for a key that is not P-256 or P-384.
 */
trustx_rc trustx_pki_cert_public_key(const trustx_pki_cert *cert, trustx_curve *curve,
                                     uint8_t *pub, size_t cap, size_t *pub_len);

/*
 * Checks that the certificate's public key is the point pub on curve.
 * TRUSTX_E_VERIFY (naming both keys' first bytes) when it is another key.
 */
trustx_rc trustx_pki_cert_match_key(const trustx_pki_cert *cert, trustx_curve curve,
                                    const uint8_t *pub, size_t pub_len);

/*
 * Verifies the DER ECDSA signature sig over digest with the certificate's
 * key: the pairing proof for a key slot (the slot signs the digest of a
 * fresh random challenge). TRUSTX_E_VERIFY when it does not verify.
 */
trustx_rc trustx_pki_cert_verify_digest(const trustx_pki_cert *cert, const uint8_t *digest,
                                        size_t digest_len, const uint8_t *sig, size_t sig_len);

/*
 * Writes a short description, one "name: value" per line: subject, issuer,
 * serial (hex), validity (ISO 8601, UTC), key (such as "EC P-256") and the
 * SHA-256 fingerprint of the DER. TRUSTX_E_OVERFLOW when it does not fit
 * cap bytes including the NUL; 1024 bytes hold common certificates.
 */
trustx_rc trustx_pki_cert_describe(const trustx_pki_cert *cert, char *buf, size_t cap);

#define TRUSTX_PKI_CHAIN_MAX 8

/* Certificates in file or wire order: the leaf first, as TLS sends them. */
typedef struct trustx_pki_chain {
    size_t count;
    trustx_pki_cert *certs[TRUSTX_PKI_CHAIN_MAX];
} trustx_pki_chain;

/* Empties chain without freeing anything (for a chain that contains nothing yet). */
void trustx_pki_chain_init(trustx_pki_chain *chain);

/* Frees every certificate in chain and empties it. */
void trustx_pki_chain_clear(trustx_pki_chain *chain);

/*
 * Parses data as PEM (one or more CERTIFICATE blocks, text between blocks
 * ignored, any other PEM block rejected) or as one DER certificate. source
 * names the input in messages. At least one certificate is required.
 * chain is initialised by the call; on failure it is left empty.
 */
trustx_rc trustx_pki_chain_parse(const uint8_t *data, size_t len, const char *source,
                                 trustx_pki_chain *chain);

/* Reads path (at most 1 MiB) and parses it as trustx_pki_chain_parse() does. */
trustx_rc trustx_pki_chain_load(const char *path, trustx_pki_chain *chain);

/*
 * Encodes every certificate of chain as a CERTIFICATE block, in chain
 * order, into one NUL-terminated text; *pem_len excludes the NUL and may be
 * NULL. An empty chain gives TRUSTX_E_INVALID_ARG.
 */
trustx_rc trustx_pki_chain_pem(const trustx_pki_chain *chain, char **pem, size_t *pem_len);

/* ---- Certificate slot formats (objects 0xE0E0..0xE0E3) ---- */

#define TRUSTX_PKI_SLOT_MAX 1728     /* size of a certificate object, in bytes */
#define TRUSTX_PKI_IDENTITY_TAG 0xC0
#define TRUSTX_PKI_USB_IDENTITY_TAG 0xC2

typedef enum trustx_pki_slot_format {
    TRUSTX_PKI_SLOT_DER = 0,    /* one certificate, plain DER: first byte 0x30 */
    TRUSTX_PKI_SLOT_IDENTITY    /* TLS identity: C0 | total (2) | chain (3) | (len (3) | DER)... */
} trustx_pki_slot_format;

/*
 * Encodes chain for a certificate slot. TRUSTX_PKI_SLOT_IDENTITY writes
 * 0xC0, the length of the rest (2 bytes), the certificate_list length
 * (3 bytes) and then each certificate as length (3 bytes) and DER, all
 * big-endian: 9 + N bytes for one certificate of N bytes.
 * TRUSTX_PKI_SLOT_DER writes the DER of a single certificate and rejects a
 * longer chain. TRUSTX_E_OVERFLOW names the size when it does not fit cap
 * (pass TRUSTX_PKI_SLOT_MAX for a slot).
 */
trustx_rc trustx_pki_slot_encode(const trustx_pki_chain *chain, trustx_pki_slot_format format,
                                 uint8_t *out, size_t cap, size_t *len);

/*
 * Decodes an object read from a certificate slot by its first byte: 0x30
 * plain DER, 0xC0 identity chain (every length must agree exactly), 0xC2
 * TRUSTX_E_UNSUPPORTED. Zero bytes after the encoded data are tolerated
 * because they are erased slot space. Any other trailing byte, a bad length
 * or a certificate that does not parse gives TRUSTX_E_INVALID_ARG. An empty or
 * all-zero object gives TRUSTX_E_NOT_FOUND. format may be NULL. chain is
 * initialised by the call; on failure it is left empty.
 */
trustx_rc trustx_pki_slot_decode(const uint8_t *obj, size_t len, trustx_pki_slot_format *format,
                                 trustx_pki_chain *chain);

/* ---- Local certificate authority ---- */

#define TRUSTX_PKI_LEAF_DAYS_DEFAULT 7305   /* 20 years including leap days */
#define TRUSTX_PKI_CA_DAYS_DEFAULT 3653     /* 10 years including leap days */
#define TRUSTX_PKI_DAYS_MAX 36525           /* 100 years */

/* A CA certificate with its private key. */
typedef struct trustx_pki_ca trustx_pki_ca;

/*
 * Loads a CA from a certificate file (PEM or DER; the first certificate is
 * used) and an unencrypted private key file (PEM). Rejects, with
 * TRUSTX_E_INVALID_ARG, a key that does not belong to the certificate, a
 * certificate without basicConstraints CA:TRUE, one whose keyUsage lacks
 * keyCertSign, an encrypted key and keys other than EC and RSA.
 */
trustx_rc trustx_pki_ca_load(const char *cert_path, const char *key_path, trustx_pki_ca **out);

/* Frees ca. Accepts NULL. */
void trustx_pki_ca_free(trustx_pki_ca *ca);

/* Returns the CA certificate (owned by ca). */
const trustx_pki_cert *trustx_pki_ca_cert(const trustx_pki_ca *ca);

typedef struct trustx_pki_issue_options {
    unsigned days;   /* validity from now; 0 means TRUSTX_PKI_LEAF_DAYS_DEFAULT */
    int64_t now;     /* issue time in seconds since the epoch; 0 means the current time */
} trustx_pki_issue_options;

/*
 * Issues a leaf certificate for the request csr (PEM or DER): X.509 v3,
 * random positive 128-bit serial, validity now - 1 hour to now + days (cut
 * to the CA's notAfter, with a warning in the log), the request's subject
 * and key, issuer = the CA's subject, extensions basicConstraints CA:FALSE
 * and keyUsage digitalSignature (both critical), extendedKeyUsage
 * clientAuth, subjectKeyIdentifier (SHA-1 of the key) and
 * authorityKeyIdentifier (the CA's SKI, or SHA-1 of its key when it has
 * none). Extensions requested in the CSR are ignored. Signed with
 * SHA-384 for a P-384 CA key, SHA-512 for P-521 and SHA-256 otherwise.
 * TRUSTX_E_VERIFY when the request's self-signature fails.
 * TRUSTX_E_INVALID_ARG when the request's subject is empty or the CA is
 * expired or not yet valid at now.
 * opts may be NULL for the defaults.
 */
trustx_rc trustx_pki_ca_issue(const trustx_pki_ca *ca, const uint8_t *csr, size_t csr_len,
                              const trustx_pki_issue_options *opts, trustx_pki_cert **out);

/*
 * Creates a demo root CA. A new P-256 key is written to key_path (PKCS#8
 * PEM, unencrypted, mode 0600). A self-signed certificate is written to
 * cert_path (PEM, mode 0644) with subject, validity now - 1 hour to now +
 * days (0 means TRUSTX_PKI_CA_DAYS_DEFAULT), basicConstraints CA:TRUE and
 * keyUsage keyCertSign, cRLSign (both critical), SKI and AKI. Existing
 * files are never replaced: TRUSTX_E_INVALID_ARG names the one that exists.
 */
trustx_rc trustx_pki_ca_create_demo(const trustx_pki_subject *subject, unsigned days,
                                    const char *cert_path, const char *key_path);

#ifdef __cplusplus
}
#endif

#endif
