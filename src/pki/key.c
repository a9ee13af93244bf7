/* SPDX-License-Identifier: MIT */
/*
 * EC keys as the chip hands them over (uncompressed points), the hash that
 * goes with each curve, and ECDSA verification over a precomputed digest.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>

#include "pki/pki_internal.h"

typedef struct curve_info {
    trustx_curve curve;
    const char *name;          /* NIST name, for messages */
    const char *group;         /* OpenSSL group name */
    size_t field_bytes;
} curve_info;

static const curve_info curves[] = {
    {TRUSTX_CURVE_P256, "P-256", "prime256v1", TRUSTX_P256_BYTES},
    {TRUSTX_CURVE_P384, "P-384", "secp384r1", TRUSTX_P384_BYTES},
};

static const curve_info *find_curve(trustx_curve curve)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (curves[i].curve == curve)
            return &curves[i];
    }
    return NULL;
}

trustx_rc pki_fail_ossl(trustx_rc rc, const char *fmt, ...)
{
    char text[TRUSTX_ERROR_MSG_MAX];
    char reason[160] = "no OpenSSL detail";
    unsigned long err = ERR_peek_last_error();
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);

    if (err != 0)
        ERR_error_string_n(err, reason, sizeof(reason));
    ERR_clear_error();
    return trustx_fail(TRUSTX_LAYER_PKI, rc, "%s (%s)", text, reason);
}

void pki_hex_prefix(const uint8_t *data, size_t len, char *buf, size_t cap)
{
    static const size_t shown = 8;
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < len && i < shown && used + 3 <= cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%02x", data[i]);
    if (len > shown && used + 4 <= cap)
        memcpy(buf + used, "...", 4);
}

const char *trustx_pki_curve_name(trustx_curve curve)
{
    const curve_info *info = find_curve(curve);

    return info != NULL ? info->name : "unknown";
}

size_t trustx_pki_point_len(trustx_curve curve)
{
    const curve_info *info = find_curve(curve);

    return info != NULL ? 1 + 2 * info->field_bytes : 0;
}

const EVP_MD *pki_curve_md(trustx_curve curve)
{
    if (curve == TRUSTX_CURVE_P256)
        return EVP_sha256();
    if (curve == TRUSTX_CURVE_P384)
        return EVP_sha384();
    return NULL;
}

static trustx_rc check_point_shape(const curve_info *info, trustx_curve curve, const uint8_t *pub,
                                   size_t pub_len)
{
    if (info == NULL)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "curve 0x%02x is not supported; use P-256 (0x03) or P-384 (0x04)",
                           (unsigned)curve);
    if (pub_len != 1 + 2 * info->field_bytes || pub[0] != 0x04)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "public key of %zu bytes starting with 0x%02x is not an uncompressed "
                           "%s point (04||X||Y, %zu bytes)",
                           pub_len, pub_len > 0 ? pub[0] : 0, info->name,
                           1 + 2 * info->field_bytes);
    return TRUSTX_OK;
}

static trustx_rc check_on_curve(EVP_PKEY *key, const char *curve_name)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok;

    if (ctx == NULL)
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot check an EC public key");
    ok = EVP_PKEY_public_check(ctx);
    EVP_PKEY_CTX_free(ctx);
    if (ok != 1)
        return pki_fail_ossl(TRUSTX_E_INVALID_ARG, "public key is not a point on %s",
                             curve_name);
    return TRUSTX_OK;
}

trustx_rc pki_key_from_point(trustx_curve curve, const uint8_t *pub, size_t pub_len,
                             EVP_PKEY **out)
{
    const curve_info *info = find_curve(curve);
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;
    OSSL_PARAM params[3];
    trustx_rc rc = check_point_shape(info, curve, pub, pub_len);

    if (rc != TRUSTX_OK)
        return rc;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                 (char *)info->group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, pub_len);
    params[2] = OSSL_PARAM_construct_end();

    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_CTX_free(ctx);
        return pki_fail_ossl(TRUSTX_E_INVALID_ARG, "public key is not a point on %s",
                             info->name);
    }
    EVP_PKEY_CTX_free(ctx);

    rc = check_on_curve(key, info->name);
    if (rc != TRUSTX_OK) {
        EVP_PKEY_free(key);
        return rc;
    }
    *out = key;
    return TRUSTX_OK;
}

trustx_rc trustx_pki_point_check(trustx_curve curve, const uint8_t *pub, size_t pub_len)
{
    EVP_PKEY *key = NULL;
    trustx_rc rc = pki_key_from_point(curve, pub, pub_len, &key);

    EVP_PKEY_free(key);
    return rc;
}

static const curve_info *find_group(const char *group)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (strcmp(curves[i].group, group) == 0)
            return &curves[i];
    }
    return NULL;
}

trustx_rc pki_key_point(const EVP_PKEY *key, trustx_curve *curve, uint8_t *pub, size_t cap,
                        size_t *pub_len)
{
    char group[64] = "";
    const curve_info *info;
    BIGNUM *x = NULL, *y = NULL;
    trustx_rc rc = TRUSTX_OK;

    if (!EVP_PKEY_is_a(key, "EC"))
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_UNSUPPORTED,
                           "key is %s, not EC; only P-256 and P-384 keys are supported",
                           EVP_PKEY_get0_type_name(key));
    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL);
    info = find_group(group);
    if (info == NULL)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_UNSUPPORTED,
                           "EC key on curve \"%s\" is not supported; use P-256 or P-384",
                           group[0] != '\0' ? group : "(unnamed)");
    if (cap < 1 + 2 * info->field_bytes)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_OVERFLOW,
                           "%s point needs %zu bytes, the buffer holds %zu", info->name,
                           1 + 2 * info->field_bytes, cap);

    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
        BN_bn2binpad(x, pub + 1, (int)info->field_bytes) < 0 ||
        BN_bn2binpad(y, pub + 1 + info->field_bytes, (int)info->field_bytes) < 0) {
        rc = pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot read the %s public point", info->name);
    } else {
        pub[0] = 0x04;
        *pub_len = 1 + 2 * info->field_bytes;
        *curve = info->curve;
    }
    BN_free(x);
    BN_free(y);
    return rc;
}

trustx_rc trustx_pki_digest(trustx_curve curve, const uint8_t *data, size_t len,
                            uint8_t *digest, size_t cap, size_t *digest_len)
{
    const EVP_MD *md = pki_curve_md(curve);
    unsigned int out_len = 0;

    if (md == NULL)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "curve 0x%02x is not supported; use P-256 (0x03) or P-384 (0x04)",
                           (unsigned)curve);
    if (cap < (size_t)EVP_MD_get_size(md))
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_OVERFLOW,
                           "%s digest needs %d bytes, the buffer holds %zu", EVP_MD_get0_name(md),
                           EVP_MD_get_size(md), cap);
    if (EVP_Digest(data, len, digest, &out_len, md, NULL) != 1)
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "%s failed", EVP_MD_get0_name(md));
    *digest_len = out_len;
    return TRUSTX_OK;
}

trustx_rc pki_verify_with_key(EVP_PKEY *key, const uint8_t *digest, size_t digest_len,
                              const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok;

    if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1) {
        EVP_PKEY_CTX_free(ctx);
        return pki_fail_ossl(TRUSTX_E_CRYPTO, "cannot set up signature verification");
    }
    ok = EVP_PKEY_verify(ctx, sig, sig_len, digest, digest_len);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (ok != 1)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_VERIFY,
                           "ECDSA signature (%zu bytes) over the %zu-byte digest does not verify "
                           "with the public key",
                           sig_len, digest_len);
    return TRUSTX_OK;
}

trustx_rc trustx_pki_verify_digest(trustx_curve curve, const uint8_t *pub, size_t pub_len,
                                   const uint8_t *digest, size_t digest_len,
                                   const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY *key = NULL;
    trustx_rc rc = pki_key_from_point(curve, pub, pub_len, &key);

    if (rc != TRUSTX_OK)
        return rc;
    rc = pki_verify_with_key(key, digest, digest_len, sig, sig_len);
    EVP_PKEY_free(key);
    return rc;
}
