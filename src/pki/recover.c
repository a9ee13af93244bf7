/* SPDX-License-Identifier: MIT */
/*
 * Public key recovery from ECDSA signatures, and public key export.
 *
 * The chip never exports the public key of a stored key pair after
 * GenKeyPair. For a signature (r, s) over digest e, the signer's key is one
 * of Q = r^-1 (s R - e G), where R is a curve point with x = r (two choices
 * of y; x = r + n is possible only with negligible probability and is not
 * tried). Two signatures over different digests leave one common candidate.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include "pki_internal.h"

#define RECOVER_CANDIDATES 2

typedef struct recover_ctx {
    EC_GROUP *group;
    BN_CTX *bn;
    BIGNUM *order;
} recover_ctx;

static int curve_nid(trustx_curve curve)
{
    return curve == TRUSTX_CURVE_P384 ? NID_secp384r1 : NID_X9_62_prime256v1;
}

/* Converts the leftmost bits of a digest to an integer, as ECDSA does (FIPS 186-4, 6.4). */
static BIGNUM *digest_to_bn(const recover_ctx *c, const uint8_t *digest, size_t len)
{
    int order_bits = BN_num_bits(c->order);
    BIGNUM *e = BN_bin2bn(digest, (int)len, NULL);

    if (e != NULL && (int)len * 8 > order_bits)
        BN_rshift(e, e, (int)len * 8 - order_bits);
    return e;
}

/* Fills out[0..1] with the two candidate keys (uncompressed points) for one signature. */
static trustx_rc candidates(const recover_ctx *c, const uint8_t *digest, size_t digest_len,
                            const uint8_t *sig, size_t sig_len, uint8_t out[][TRUSTX_PUBKEY_MAX],
                            size_t *point_len)
{
    const unsigned char *p = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
    const BIGNUM *r = NULL, *s = NULL;
    BIGNUM *e = NULL, *rinv = NULL, *u1 = NULL, *u2 = NULL;
    EC_POINT *R = EC_POINT_new(c->group), *Q = EC_POINT_new(c->group);
    trustx_rc rc = TRUSTX_OK;

    if (es == NULL || p != sig + sig_len) {
        rc = trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_PROTOCOL,
                         "the chip's signature is not DER ECDSA");
        goto out;
    }
    ECDSA_SIG_get0(es, &r, &s);
    e = digest_to_bn(c, digest, digest_len);
    rinv = BN_mod_inverse(NULL, r, c->order, c->bn);
    u1 = BN_new();
    u2 = BN_new();
    if (e == NULL || rinv == NULL || u1 == NULL || u2 == NULL || R == NULL || Q == NULL) {
        rc = pki_fail_ossl(TRUSTX_E_CRYPTO, "key recovery: arithmetic setup failed");
        goto out;
    }

    /* Q = (-e r^-1) G + (s r^-1) R */
    BN_mod_mul(u1, e, rinv, c->order, c->bn);
    BN_sub(u1, c->order, u1);
    BN_mod_mul(u2, s, rinv, c->order, c->bn);

    for (int y_bit = 0; y_bit < RECOVER_CANDIDATES; y_bit++) {
        if (EC_POINT_set_compressed_coordinates(c->group, R, r, y_bit, c->bn) != 1 ||
            EC_POINT_mul(c->group, Q, u1, R, u2, c->bn) != 1) {
            rc = trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_VERIFY,
                             "signature r is not the x coordinate of a curve point");
            goto out;
        }
        *point_len = EC_POINT_point2oct(c->group, Q, POINT_CONVERSION_UNCOMPRESSED, out[y_bit],
                                        TRUSTX_PUBKEY_MAX, c->bn);
        if (*point_len == 0) {
            rc = pki_fail_ossl(TRUSTX_E_CRYPTO, "key recovery: point encoding failed");
            goto out;
        }
    }

out:
    BN_free(e);
    BN_free(rinv);
    BN_free(u1);
    BN_free(u2);
    EC_POINT_free(R);
    EC_POINT_free(Q);
    ECDSA_SIG_free(es);
    return rc;
}

trustx_rc trustx_pki_recover_public_key(trustx_curve curve, const uint8_t *digest1,
                                        const uint8_t *sig1, size_t sig1_len,
                                        const uint8_t *digest2, const uint8_t *sig2,
                                        size_t sig2_len, size_t digest_len, uint8_t *pub,
                                        size_t cap, size_t *pub_len)
{
    uint8_t first[RECOVER_CANDIDATES][TRUSTX_PUBKEY_MAX];
    uint8_t second[RECOVER_CANDIDATES][TRUSTX_PUBKEY_MAX];
    size_t len1 = 0, len2 = 0;
    int matches = 0;
    recover_ctx c = {EC_GROUP_new_by_curve_name(curve_nid(curve)), BN_CTX_new(), NULL};
    trustx_rc rc = TRUSTX_OK;

    if (c.group == NULL || c.bn == NULL) {
        rc = pki_fail_ossl(TRUSTX_E_CRYPTO, "key recovery: curve setup failed");
        goto out;
    }
    c.order = (BIGNUM *)EC_GROUP_get0_order(c.group);

    rc = candidates(&c, digest1, digest_len, sig1, sig1_len, first, &len1);
    if (rc == TRUSTX_OK)
        rc = candidates(&c, digest2, digest_len, sig2, sig2_len, second, &len2);
    if (rc != TRUSTX_OK)
        goto out;

    for (int i = 0; i < RECOVER_CANDIDATES; i++) {
        for (int j = 0; j < RECOVER_CANDIDATES; j++) {
            if (memcmp(first[i], second[j], len1) == 0 && len1 <= cap) {
                memcpy(pub, first[i], len1);
                *pub_len = len1;
                matches++;
            }
        }
    }
    if (matches != 1)
        rc = trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_VERIFY,
                         "the two signatures do not share one public key (%d common "
                         "candidates); they were not made by one key",
                         matches);
    else
        rc = trustx_pki_verify_digest(curve, pub, *pub_len, digest1, digest_len, sig1, sig1_len);

out:
    BN_CTX_free(c.bn);
    EC_GROUP_free(c.group);
    return rc;
}

trustx_rc trustx_pki_public_key_pem(trustx_curve curve, const uint8_t *pub, size_t pub_len,
                                    char **pem, size_t *pem_len)
{
    EVP_PKEY *key = NULL;
    BIO *bio = NULL;
    char *data = NULL;
    long n;
    trustx_rc rc = pki_key_from_point(curve, pub, pub_len, &key);

    if (rc != TRUSTX_OK)
        return rc;
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PUBKEY(bio, key) != 1) {
        rc = pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot encode the public key as PEM");
        goto out;
    }
    n = BIO_get_mem_data(bio, &data);
    *pem = malloc((size_t)n + 1);
    if (*pem == NULL) {
        rc = trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_NOMEM, "out of memory");
        goto out;
    }
    memcpy(*pem, data, (size_t)n);
    (*pem)[n] = '\0';
    *pem_len = (size_t)n;

out:
    BIO_free(bio);
    EVP_PKEY_free(key);
    return rc;
}
