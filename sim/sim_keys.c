/* SPDX-License-Identifier: MIT */
/*
 * Elliptic-curve keys of the application model on OpenSSL 3: generation,
 * the chip's wire encodings (public key BIT STRING, private key OCTET STRING,
 * r and s as two DER INTEGERs) and PEM for the state file.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "sim_app_internal.h"

#define DER_INTEGER 0x02
#define DER_BIT_STRING 0x03
#define DER_OCTET_STRING 0x04
#define POINT_UNCOMPRESSED 0x04
#define ECDSA_SIG_DER_MAX 160      /* DER ECDSA-Sig-Value for P-384 is at most 104 bytes */

static const char *curve_group(uint8_t curve)
{
    if (curve == SIM_CURVE_P256)
        return "P-256";
    if (curve == SIM_CURVE_P384)
        return "P-384";
    return NULL;
}

size_t sim_curve_bytes(uint8_t curve)
{
    if (curve == SIM_CURVE_P256)
        return 32;
    if (curve == SIM_CURVE_P384)
        return 48;
    return 0;
}

EVP_PKEY *sim_key_generate(uint8_t curve)
{
    const char *group = curve_group(curve);

    if (group == NULL)
        return NULL;
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
}

uint8_t sim_key_curve(const EVP_PKEY *key)
{
    char name[64];
    size_t len = 0;
    int nid;

    if (key == NULL || !EVP_PKEY_is_a(key, "EC"))
        return 0;
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                        &len))
        return 0;

    nid = OBJ_txt2nid(name);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name);
    if (nid == NID_X9_62_prime256v1)
        return SIM_CURVE_P256;
    if (nid == NID_secp384r1)
        return SIM_CURVE_P384;
    return 0;
}

/* Writes bn as a big-endian number of exactly width bytes; returns 1 on success. */
static int bn_fixed(const BIGNUM *bn, uint8_t *out, size_t width)
{
    return bn != NULL && BN_bn2binpad(bn, out, (int)width) == (int)width;
}

size_t sim_key_public_bitstring(const EVP_PKEY *key, uint8_t *out, size_t cap)
{
    size_t width = sim_curve_bytes(sim_key_curve(key));
    size_t total = 4 + 2 * width;
    BIGNUM *x = NULL;
    BIGNUM *y = NULL;
    size_t result = 0;

    if (width == 0 || cap < total)
        return 0;
    if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
        goto out;

    out[0] = DER_BIT_STRING;
    out[1] = (uint8_t)(total - 2);
    out[2] = 0x00; /* no unused bits */
    out[3] = POINT_UNCOMPRESSED;
    if (bn_fixed(x, out + 4, width) && bn_fixed(y, out + 4 + width, width))
        result = total;

out:
    BN_free(x);
    BN_free(y);
    return result;
}

size_t sim_key_private_octets(const EVP_PKEY *key, uint8_t *out, size_t cap)
{
    size_t width = sim_curve_bytes(sim_key_curve(key));
    BIGNUM *d = NULL;
    size_t result = 0;

    if (width == 0 || cap < 2 + width)
        return 0;
    if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d))
        return 0;

    out[0] = DER_OCTET_STRING;
    out[1] = (uint8_t)width;
    if (bn_fixed(d, out + 2, width))
        result = 2 + width;
    BN_clear_free(d);
    return result;
}

EVP_PKEY *sim_key_from_bitstring(uint8_t curve, const uint8_t *bits, size_t len)
{
    const char *group = curve_group(curve);
    size_t width = sim_curve_bytes(curve);
    OSSL_PARAM_BLD *build = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;

    if (group == NULL || len != 4 + 2 * width || bits[0] != DER_BIT_STRING ||
        bits[1] != len - 2 || bits[2] != 0x00 || bits[3] != POINT_UNCOMPRESSED)
        return NULL;

    build = OSSL_PARAM_BLD_new();
    if (build == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(build, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(build, OSSL_PKEY_PARAM_PUB_KEY, bits + 3, len - 3))
        goto out;
    params = OSSL_PARAM_BLD_to_param(build);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0)
        goto out;
    if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        key = NULL;

out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(build);
    return key;
}

/* Writes bn as a minimal DER INTEGER (a 00 byte first when the top bit is set). */
static size_t put_der_integer(const BIGNUM *bn, uint8_t *out, size_t cap)
{
    uint8_t value[64];
    int len = BN_num_bytes(bn);
    size_t pad;

    if (len <= 0 || (size_t)len > sizeof(value))
        return 0;
    BN_bn2bin(bn, value);
    pad = (value[0] & 0x80) ? 1 : 0;
    if (cap < 2 + pad + (size_t)len)
        return 0;

    out[0] = DER_INTEGER;
    out[1] = (uint8_t)(pad + (size_t)len);
    if (pad)
        out[2] = 0x00;
    memcpy(out + 2 + pad, value, (size_t)len);
    return 2 + pad + (size_t)len;
}

size_t sim_key_sign(EVP_PKEY *key, const uint8_t *digest, size_t digest_len, uint8_t *out,
                    size_t cap)
{
    uint8_t der[ECDSA_SIG_DER_MAX];
    size_t der_len = sizeof(der);
    const uint8_t *cursor = der;
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    ECDSA_SIG *sig = NULL;
    size_t r_len = 0;
    size_t s_len = 0;

    if (ctx == NULL || EVP_PKEY_sign_init(ctx) <= 0 ||
        EVP_PKEY_sign(ctx, der, &der_len, digest, digest_len) <= 0)
        goto out;
    sig = d2i_ECDSA_SIG(NULL, &cursor, (long)der_len);
    if (sig == NULL)
        goto out;

    ECDSA_SIG_get0(sig, &r, &s);
    r_len = put_der_integer(r, out, cap);
    if (r_len > 0)
        s_len = put_der_integer(s, out + r_len, cap - r_len);

out:
    ECDSA_SIG_free(sig);
    EVP_PKEY_CTX_free(ctx);
    return s_len > 0 ? r_len + s_len : 0;
}

/* Reads one DER INTEGER (short-form length, non-negative) at *pos into a new BIGNUM. */
static BIGNUM *get_der_integer(const uint8_t *in, size_t len, size_t *pos)
{
    size_t at = *pos;
    size_t value_len;

    if (at + 2 > len || in[at] != DER_INTEGER || (in[at + 1] & 0x80))
        return NULL;
    value_len = in[at + 1];
    if (value_len == 0 || at + 2 + value_len > len || (in[at + 2] & 0x80))
        return NULL;
    *pos = at + 2 + value_len;
    return BN_bin2bn(in + at + 2, (int)value_len, NULL);
}

int sim_key_verify(EVP_PKEY *key, const uint8_t *digest, size_t digest_len,
                   const uint8_t *sig, size_t sig_len)
{
    uint8_t der[ECDSA_SIG_DER_MAX];
    uint8_t *cursor = der;
    size_t pos = 0;
    BIGNUM *r = get_der_integer(sig, sig_len, &pos);
    BIGNUM *s = r != NULL ? get_der_integer(sig, sig_len, &pos) : NULL;
    ECDSA_SIG *ecdsa = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int der_len;
    int result = -1;

    if (r == NULL || s == NULL || pos != sig_len)
        goto out;
    ecdsa = ECDSA_SIG_new();
    if (ecdsa == NULL || !ECDSA_SIG_set0(ecdsa, r, s))
        goto out;
    r = NULL; /* owned by ecdsa now */
    s = NULL;
    if (i2d_ECDSA_SIG(ecdsa, NULL) > (int)sizeof(der))
        goto out;
    der_len = i2d_ECDSA_SIG(ecdsa, &cursor);

    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (der_len <= 0 || ctx == NULL || EVP_PKEY_verify_init(ctx) <= 0)
        goto out;
    result = EVP_PKEY_verify(ctx, der, (size_t)der_len, digest, digest_len) == 1 ? 1 : 0;

out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(ecdsa);
    EVP_PKEY_CTX_free(ctx);
    return result;
}

char *sim_key_to_pem(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    char *pem = NULL;
    long len = 0;

    if (bio == NULL || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
        goto out;
    len = BIO_get_mem_data(bio, &data);
    if (len <= 0)
        goto out;
    pem = malloc((size_t)len + 1);
    if (pem != NULL) {
        memcpy(pem, data, (size_t)len);
        pem[len] = '\0';
    }

out:
    if (data != NULL && len > 0)
        OPENSSL_cleanse(data, (size_t)len);
    BIO_free(bio);
    return pem;
}

/* Rejects encrypted keys instead of prompting for a password. */
static int no_password(char *buf, int size, int rwflag, void *user)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)user;
    return -1;
}

EVP_PKEY *sim_key_from_pem(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key;

    if (bio == NULL)
        return NULL;
    key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    BIO_free(bio);
    return key;
}
