/* SPDX-License-Identifier: MIT */
/*
 * The crypto commands of the application model: GetRandom, GenKeyPair,
 * CalcSign and VerifySign (ECDSA on P-256 and P-384, no hashing in the chip)
 * and CalcHash (SHA-256).
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "sim_app_internal.h"
#include "sim_app_timing.h"

#define PARAM_RANDOM_TRNG 0x00
#define PARAM_RANDOM_DRNG 0x01
#define RANDOM_MIN 8
#define RANDOM_MAX 256

#define PARAM_ECDSA_NO_HASH 0x11
#define PARAM_SHA256 0xE2

/* GenKeyPair TLVs. */
#define TAG_KEY_OID 0x01
#define TAG_KEY_USAGE 0x02
#define TAG_EXPORT 0x07
#define TAG_OUT_PRIVATE 0x01
#define TAG_OUT_PUBLIC 0x02

/* CalcSign and VerifySign TLVs. */
#define TAG_DIGEST 0x01
#define TAG_SIGNATURE 0x02
#define TAG_SIGN_KEY_OID 0x03
#define TAG_CERT_OID 0x04
#define TAG_CURVE 0x05
#define TAG_PUBLIC_KEY 0x06
#define DIGEST_MIN 10               /* shortest digest CalcSign accepts */
#define VERIFY_DIGEST_MAX 64

/* CalcHash TLVs: tag = source << 4 | sequence. */
#define TAG_CONTEXT_IMPORT 0x06
#define TAG_CONTEXT_EXPORT 0x07
#define HASH_SOURCE_STREAM 0x0
#define HASH_SOURCE_OBJECT 0x1
#define HASH_START 0x0
#define HASH_START_FINAL 0x1
#define HASH_CONTINUE 0x2
#define HASH_FINAL 0x3
#define HASH_TERMINATE 0x4
#define HASH_FINAL_KEEP 0x5
#define TAG_HASH_DIGEST 0x01
#define SHA256_LEN 32

#define MAX_TLVS 4

/* Appends Tag(1) Len(2) Value to the reply; returns 0 if it does not fit. */
static int put_tlv(sim_reply *reply, uint8_t tag, const uint8_t *value, size_t len)
{
    if (reply->len + 3 + len > reply->cap)
        return 0;
    reply->out[reply->len] = tag;
    sim_put_be16(reply->out + reply->len + 1, (uint16_t)len);
    memcpy(reply->out + reply->len + 3, value, len);
    reply->len += 3 + len;
    return 1;
}

uint8_t sim_cmd_get_random(sim_app *app, const sim_apdu *apdu, sim_reply *reply)
{
    size_t len;

    (void)app;
    if (apdu->param != PARAM_RANDOM_TRNG && apdu->param != PARAM_RANDOM_DRNG)
        return SIM_ERR_INVALID_PARAM;
    if (apdu->in_len != 2)
        return SIM_ERR_INVALID_LENGTH;
    len = sim_be16(apdu->in);
    if (len < RANDOM_MIN || len > RANDOM_MAX)
        return SIM_ERR_INVALID_INDATA;
    if (len > reply->cap || RAND_bytes(reply->out, (int)len) != 1)
        return SIM_ERR_INTERNAL;

    reply->len = len;
    reply->exec_us = sim_app_timing_us(SIM_APP_OP_GET_RANDOM, len);
    return SIM_ERR_NONE;
}

/* Finds the key or session object named by a 2-byte OID TLV value. */
static uint8_t find_key_object(sim_app *app, const sim_tlv *oid, sim_object **out)
{
    sim_object *obj;

    if (oid == NULL || oid->len != 2)
        return SIM_ERR_INVALID_INDATA;
    obj = sim_object_find(app, sim_be16(oid->value));
    if (obj == NULL)
        return SIM_ERR_INVALID_OID;
    if (obj->def->kind != SIM_OBJ_KEY && obj->def->kind != SIM_OBJ_SESSION)
        return SIM_ERR_INVALID_INDATA;
    *out = obj;
    return SIM_ERR_NONE;
}

/* Stores key in obj and records its algorithm (0xE0) and usage (0xE1) in the metadata. */
static uint8_t store_key(sim_object *obj, EVP_PKEY *key, uint8_t curve, uint8_t usage)
{
    uint8_t meta[SIM_META_MAX];
    size_t meta_len = obj->metadata_len;

    memcpy(meta, obj->metadata, meta_len);
    if (sim_meta_set(meta, &meta_len, SIM_TAG_ALGORITHM, &curve, 1) != 0 ||
        sim_meta_set(meta, &meta_len, SIM_TAG_KEY_USAGE, &usage, 1) != 0) {
        EVP_PKEY_free(key);
        return SIM_ERR_METADATA_TRUNCATION;
    }
    if (sim_object_set_key(obj, key, curve) != TRUSTX_OK)
        return SIM_ERR_INTERNAL;

    memcpy(obj->metadata, meta, meta_len);
    obj->metadata_len = meta_len;
    return SIM_ERR_NONE;
}

/* Checks the GenKeyPair InData: either 01 OID + 02 usage, or 07 alone (export). */
static uint8_t parse_gen_key_pair(sim_app *app, const sim_apdu *apdu, sim_object **target,
                                  uint8_t *usage)
{
    sim_tlv tlvs[MAX_TLVS];
    size_t count = 0;
    const sim_tlv *oid;
    const sim_tlv *key_usage;
    uint8_t err;

    if (sim_tlv_parse(apdu->in, apdu->in_len, tlvs, MAX_TLVS, &count) != 0)
        return SIM_ERR_INVALID_INDATA;
    *target = NULL;
    if (sim_tlv_find(tlvs, count, TAG_EXPORT) != NULL)
        return count == 1 && tlvs[0].len == 0 ? SIM_ERR_NONE : SIM_ERR_INVALID_INDATA;

    oid = sim_tlv_find(tlvs, count, TAG_KEY_OID);
    key_usage = sim_tlv_find(tlvs, count, TAG_KEY_USAGE);
    if (count != 2 || key_usage == NULL || key_usage->len != 1)
        return SIM_ERR_INVALID_INDATA;
    *usage = key_usage->value[0];
    if (*usage == 0 || (*usage & ~SIM_KEY_USAGE_ALL) != 0)
        return SIM_ERR_INVALID_INDATA;
    err = find_key_object(app, oid, target);
    if (err != SIM_ERR_NONE)
        return err;

    /* The target's change condition guards key generation (0xE0F0: NEV). */
    if ((*target)->def->kind == SIM_OBJ_KEY && !sim_object_ac_allows(app, *target, SIM_TAG_CHANGE))
        return SIM_ERR_ACCESS;
    return SIM_ERR_NONE;
}

uint8_t sim_cmd_gen_key_pair(sim_app *app, const sim_apdu *apdu, sim_reply *reply)
{
    uint8_t curve = apdu->param;
    uint8_t public_key[4 + 2 * 48];
    uint8_t private_key[2 + 48];
    sim_object *target = NULL;
    uint8_t usage = 0;
    size_t public_len;
    size_t private_len = 0;
    EVP_PKEY *key;
    uint8_t err;

    if (curve != SIM_CURVE_P256 && curve != SIM_CURVE_P384)
        return SIM_ERR_INVALID_PARAM;
    err = parse_gen_key_pair(app, apdu, &target, &usage);
    if (err != SIM_ERR_NONE)
        return err;

    key = sim_key_generate(curve);
    if (key == NULL)
        return SIM_ERR_INTERNAL;
    public_len = sim_key_public_bitstring(key, public_key, sizeof(public_key));
    if (target == NULL)
        private_len = sim_key_private_octets(key, private_key, sizeof(private_key));
    if (public_len == 0 || (target == NULL && private_len == 0)) {
        EVP_PKEY_free(key);
        return SIM_ERR_INTERNAL;
    }

    if (target == NULL) {
        EVP_PKEY_free(key);
        if (!put_tlv(reply, TAG_OUT_PRIVATE, private_key, private_len))
            return SIM_ERR_INTERNAL;
    } else {
        err = store_key(target, key, curve, usage);
        if (err != SIM_ERR_NONE)
            return err;
    }
    OPENSSL_cleanse(private_key, sizeof(private_key));
    if (!put_tlv(reply, TAG_OUT_PUBLIC, public_key, public_len))
        return SIM_ERR_INTERNAL;

    reply->exec_us = sim_app_timing_us(
        curve == SIM_CURVE_P256 ? SIM_APP_OP_GEN_KEY_P256 : SIM_APP_OP_GEN_KEY_P384, 0);
    if (target != NULL && target->def->kind == SIM_OBJ_KEY) {
        target->writes++;
        sim_app_security_event(app, reply);
    }
    return SIM_ERR_NONE;
}

static uint8_t key_usage(const sim_object *obj)
{
    const uint8_t *value;
    size_t len;

    if (sim_meta_find(obj->metadata, obj->metadata_len, SIM_TAG_KEY_USAGE, &value, &len) &&
        len == 1)
        return value[0];
    return 0;
}

/*
 * The key object's execute condition (D3) and key usage (Sign or Auth) are
 * checked. NOTE: an empty key slot fails with 0x0B and a key without Sign or
 * Auth usage with 0x24. No Trust X source documents the codes for these cases.
 */
uint8_t sim_cmd_calc_sign(sim_app *app, const sim_apdu *apdu, sim_reply *reply)
{
    sim_tlv tlvs[MAX_TLVS];
    size_t count = 0;
    const sim_tlv *digest;
    sim_object *obj = NULL;
    size_t sig_len;
    uint8_t err;

    if (apdu->param != PARAM_ECDSA_NO_HASH)
        return SIM_ERR_INVALID_PARAM;
    if (sim_tlv_parse(apdu->in, apdu->in_len, tlvs, MAX_TLVS, &count) != 0 || count != 2)
        return SIM_ERR_INVALID_INDATA;
    digest = sim_tlv_find(tlvs, count, TAG_DIGEST);
    if (digest == NULL)
        return SIM_ERR_INVALID_INDATA;
    err = find_key_object(app, sim_tlv_find(tlvs, count, TAG_SIGN_KEY_OID), &obj);
    if (err != SIM_ERR_NONE)
        return err;

    if (!sim_object_ac_allows(app, obj, SIM_TAG_EXECUTE))
        return SIM_ERR_ACCESS;
    if (obj->key == NULL)
        return SIM_ERR_SEQUENCE;
    if ((key_usage(obj) & (SIM_KEY_USAGE_SIGN | SIM_KEY_USAGE_AUTH)) == 0)
        return SIM_ERR_UNSUPPORTED;
    if (digest->len < DIGEST_MIN || digest->len > sim_curve_bytes(obj->curve))
        return SIM_ERR_INVALID_INDATA;

    sig_len = sim_key_sign(obj->key, digest->value, digest->len, reply->out, reply->cap);
    if (sig_len == 0)
        return SIM_ERR_INTERNAL;
    reply->len = sig_len;
    reply->exec_us = sim_app_timing_us(
        obj->curve == SIM_CURVE_P256 ? SIM_APP_OP_SIGN_P256 : SIM_APP_OP_SIGN_P384, 0);
    sim_app_security_event(app, reply);
    return SIM_ERR_NONE;
}

/*
 * Takes the public key from a stored certificate, which must be a plain DER
 * certificate (first byte 0x30) readable under the object's read condition.
 */
static uint8_t key_from_certificate(sim_app *app, const sim_tlv *oid, EVP_PKEY **out)
{
    const sim_object *obj;
    const unsigned char *cursor;
    X509 *cert;

    if (oid->len != 2)
        return SIM_ERR_INVALID_INDATA;
    obj = sim_object_find(app, sim_be16(oid->value));
    if (obj == NULL)
        return SIM_ERR_INVALID_OID;
    if (obj->def->kind != SIM_OBJ_DATA || !sim_object_ac_allows(app, obj, SIM_TAG_READ))
        return SIM_ERR_ACCESS;
    if (obj->used == 0 || obj->data[0] != 0x30)
        return SIM_ERR_CERT_FORMAT;

    cursor = obj->data;
    cert = d2i_X509(NULL, &cursor, obj->used);
    if (cert == NULL)
        return SIM_ERR_CERT_FORMAT;
    *out = X509_get_pubkey(cert);
    X509_free(cert);
    if (*out == NULL || sim_key_curve(*out) == 0) {
        EVP_PKEY_free(*out);
        *out = NULL;
        return SIM_ERR_UNSUPPORTED;
    }
    return SIM_ERR_NONE;
}

static uint8_t verify_key(sim_app *app, const sim_tlv *tlvs, size_t count, EVP_PKEY **out)
{
    const sim_tlv *cert_oid = sim_tlv_find(tlvs, count, TAG_CERT_OID);
    const sim_tlv *curve = sim_tlv_find(tlvs, count, TAG_CURVE);
    const sim_tlv *public_key = sim_tlv_find(tlvs, count, TAG_PUBLIC_KEY);

    if (cert_oid != NULL && curve == NULL && public_key == NULL && count == 3)
        return key_from_certificate(app, cert_oid, out);
    if (cert_oid != NULL || curve == NULL || public_key == NULL || count != 4 || curve->len != 1)
        return SIM_ERR_INVALID_INDATA;

    *out = sim_key_from_bitstring(curve->value[0], public_key->value, public_key->len);
    return *out != NULL ? SIM_ERR_NONE : SIM_ERR_INVALID_INDATA;
}

uint8_t sim_cmd_verify_sign(sim_app *app, const sim_apdu *apdu, sim_reply *reply)
{
    sim_tlv tlvs[MAX_TLVS];
    size_t count = 0;
    const sim_tlv *digest;
    const sim_tlv *signature;
    EVP_PKEY *key = NULL;
    uint8_t curve;
    uint8_t err;
    int valid;

    if (apdu->param != PARAM_ECDSA_NO_HASH)
        return SIM_ERR_INVALID_PARAM;
    if (sim_tlv_parse(apdu->in, apdu->in_len, tlvs, MAX_TLVS, &count) != 0)
        return SIM_ERR_INVALID_INDATA;
    digest = sim_tlv_find(tlvs, count, TAG_DIGEST);
    signature = sim_tlv_find(tlvs, count, TAG_SIGNATURE);
    if (digest == NULL || signature == NULL || digest->len == 0 ||
        digest->len > VERIFY_DIGEST_MAX)
        return SIM_ERR_INVALID_INDATA;
    err = verify_key(app, tlvs, count, &key);
    if (err != SIM_ERR_NONE)
        return err;

    curve = sim_key_curve(key);
    valid = sim_key_verify(key, digest->value, digest->len, signature->value, signature->len);
    EVP_PKEY_free(key);
    if (valid < 0)
        return SIM_ERR_INVALID_INDATA;
    if (valid == 0)
        return SIM_ERR_SIGNATURE;
    reply->exec_us = sim_app_timing_us(
        curve == SIM_CURVE_P256 ? SIM_APP_OP_VERIFY_P256 : SIM_APP_OP_VERIFY_P384, 0);
    return SIM_ERR_NONE;
}

/* Resolves the data of a CalcHash data TLV: a stream, or a range of a readable object. */
static uint8_t hash_input(sim_app *app, const sim_tlv *tlv, const uint8_t **data, size_t *len)
{
    const sim_object *obj;
    size_t offset;

    if ((tlv->tag >> 4) == HASH_SOURCE_STREAM) {
        *data = tlv->value;
        *len = tlv->len;
        return SIM_ERR_NONE;
    }
    if (tlv->len != 6)
        return SIM_ERR_INVALID_INDATA;
    obj = sim_object_find(app, sim_be16(tlv->value));
    if (obj == NULL)
        return SIM_ERR_INVALID_OID;
    if (obj->data == NULL || !sim_object_ac_allows(app, obj, SIM_TAG_READ))
        return SIM_ERR_ACCESS;
    offset = sim_be16(tlv->value + 2);
    *len = sim_be16(tlv->value + 4);
    if (offset + *len > obj->used)
        return SIM_ERR_BOUNDARY;
    *data = obj->data + offset;
    return SIM_ERR_NONE;
}

/* Finishes ctx into a digest TLV in the reply. */
static uint8_t hash_final(EVP_MD_CTX *ctx, sim_reply *reply)
{
    uint8_t digest[SHA256_LEN];
    unsigned len = 0;

    if (EVP_DigestFinal_ex(ctx, digest, &len) != 1 || len != SHA256_LEN ||
        !put_tlv(reply, TAG_HASH_DIGEST, digest, len))
        return SIM_ERR_INTERNAL;
    return SIM_ERR_NONE;
}

static uint8_t hash_step(sim_app *app, unsigned sequence, const uint8_t *data, size_t len,
                         sim_reply *reply)
{
    EVP_MD_CTX *copy;
    uint8_t err;

    if (sequence == HASH_START || sequence == HASH_START_FINAL) {
        EVP_MD_CTX_free(app->hash); /* a new start drops a running hash */
        app->hash = EVP_MD_CTX_new();
        if (app->hash == NULL || EVP_DigestInit_ex(app->hash, EVP_sha256(), NULL) != 1)
            return SIM_ERR_INTERNAL;
    } else if (app->hash == NULL) {
        return SIM_ERR_SEQUENCE;
    }
    if (sequence == HASH_TERMINATE) {
        EVP_MD_CTX_free(app->hash);
        app->hash = NULL;
        return SIM_ERR_NONE;
    }
    if (EVP_DigestUpdate(app->hash, data, len) != 1)
        return SIM_ERR_INTERNAL;

    if (sequence == HASH_START_FINAL || sequence == HASH_FINAL) {
        err = hash_final(app->hash, reply);
        EVP_MD_CTX_free(app->hash);
        app->hash = NULL;
        return err;
    }
    if (sequence == HASH_FINAL_KEEP) {
        copy = EVP_MD_CTX_new();
        if (copy == NULL || EVP_MD_CTX_copy_ex(copy, app->hash) != 1) {
            EVP_MD_CTX_free(copy);
            return SIM_ERR_INTERNAL;
        }
        err = hash_final(copy, reply);
        EVP_MD_CTX_free(copy);
        return err;
    }
    return SIM_ERR_NONE;
}

/*
 * SHA-256 over data sent in the command or read from an object, in one go
 * (start&final) or in steps. NOTE: context export and import (tags 0x06 and
 * 0x07) are not implemented and fail with 0x05, because the chip's 130-byte
 * context format is not documented.
 */
uint8_t sim_cmd_calc_hash(sim_app *app, const sim_apdu *apdu, sim_reply *reply)
{
    sim_tlv tlvs[MAX_TLVS];
    size_t count = 0;
    const uint8_t *data = NULL;
    size_t len = 0;
    unsigned source;
    unsigned sequence;
    uint8_t err;

    if (apdu->param != PARAM_SHA256)
        return SIM_ERR_INVALID_PARAM;
    if (sim_tlv_parse(apdu->in, apdu->in_len, tlvs, MAX_TLVS, &count) != 0 || count != 1)
        return SIM_ERR_INVALID_INDATA;
    source = tlvs[0].tag >> 4;
    sequence = tlvs[0].tag & 0x0F;
    if (tlvs[0].tag == TAG_CONTEXT_IMPORT || tlvs[0].tag == TAG_CONTEXT_EXPORT ||
        source > HASH_SOURCE_OBJECT || sequence > HASH_FINAL_KEEP)
        return SIM_ERR_INVALID_INDATA;

    err = hash_input(app, &tlvs[0], &data, &len);
    if (err != SIM_ERR_NONE)
        return err;
    err = hash_step(app, sequence, data, len, reply);
    if (err != SIM_ERR_NONE)
        return err;
    reply->exec_us = sim_app_timing_us(SIM_APP_OP_CALC_HASH, len);
    return SIM_ERR_NONE;
}
