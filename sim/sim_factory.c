/* SPDX-License-Identifier: MIT */
/*
 * The factory step of a new simulated chip: a random UID in the Trust X
 * layout, a simulated vendor CA, the device key in 0xE0F0 and its
 * certificate, issued by that CA, in 0xE0E0.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sim_app_internal.h"

#define SERIAL_LEN 16
#define UID_HEX_LEN (2 * SIM_UID_LEN)
#define TAGGED_CERT_HEADER 9              /* C0, 2-byte length, 3-byte chain, 3-byte cert */
#define CERT_NOT_AFTER "99991231235959Z"  /* RFC 5280: no well-defined expiration date */

/*
 * UID fields that are the same on every chip of the product. They are taken
 * from the UID of a real Trust X with FW 1.40.1118: CIM id CD, platform id
 * 16, model id 33, ROM mask 6B01, chip type 001C00010000, firmware id
 * 80101071, build 1118. Batch number and wafer coordinates are random.
 */
static const uint8_t uid_head[11] = {0xCD, 0x16, 0x33, 0x6B, 0x01, 0x00,
                                     0x1C, 0x00, 0x01, 0x00, 0x00};
static const uint8_t uid_tail[6] = {0x80, 0x10, 0x10, 0x71, 0x11, 0x18};

static trustx_rc make_uid(sim_app *app)
{
    uint8_t *uid = app->uid;

    memcpy(uid, uid_head, sizeof(uid_head));
    if (RAND_bytes(uid + 11, 10) != 1) /* batch (6), wafer X (2), wafer Y (2) */
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_CRYPTO, "random generator failed");
    uid[17] = 0x00; /* wafer coordinates below 256 */
    uid[19] = 0x00;
    memcpy(uid + 21, uid_tail, sizeof(uid_tail));

    memcpy(sim_object_find(app, 0xE0C2)->data, uid, SIM_UID_LEN);
    return TRUSTX_OK;
}

static int set_serial(X509 *cert)
{
    uint8_t bytes[SERIAL_LEN];
    BIGNUM *bn;
    int ok;

    if (RAND_bytes(bytes, sizeof(bytes)) != 1)
        return 0;
    bytes[0] = (uint8_t)((bytes[0] & 0x7F) | 0x40); /* positive, full length */
    bn = BN_bin2bn(bytes, sizeof(bytes), NULL);
    ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok;
}

static int set_subject(X509 *cert, const char *common_name)
{
    X509_NAME *name = X509_get_subject_name(cert);

    return X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                      (const unsigned char *)"trustx simulator", -1, -1, 0) &&
           X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                      (const unsigned char *)common_name, -1, -1, 0);
}

static int add_extension(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = ext != NULL && X509_add_ext(cert, ext, -1);

    X509_EXTENSION_free(ext);
    return ok;
}

/* Issues a certificate for key; issuer = NULL makes it self-signed. */
static X509 *issue_cert(EVP_PKEY *key, const char *common_name, X509 *issuer,
                        EVP_PKEY *issuer_key, int is_ca)
{
    X509 *cert = X509_new();
    X509V3_CTX ctx;
    int ok;

    if (cert == NULL)
        return NULL;
    ok = X509_set_version(cert, X509_VERSION_3) && set_serial(cert) &&
         set_subject(cert, common_name) &&
         X509_set_issuer_name(cert, X509_get_subject_name(issuer != NULL ? issuer : cert)) &&
         X509_gmtime_adj(X509_getm_notBefore(cert), 0) != NULL &&
         ASN1_TIME_set_string_X509(X509_getm_notAfter(cert), CERT_NOT_AFTER) &&
         X509_set_pubkey(cert, key);

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : cert, cert, NULL, NULL, 0);
    if (is_ca) {
        ok = ok && add_extension(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE") &&
             add_extension(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             add_extension(cert, &ctx, NID_subject_key_identifier, "hash");
    } else {
        ok = ok && add_extension(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
             add_extension(cert, &ctx, NID_key_usage, "critical,digitalSignature") &&
             add_extension(cert, &ctx, NID_subject_key_identifier, "hash") &&
             add_extension(cert, &ctx, NID_authority_key_identifier, "keyid:always");
    }

    if (!ok || X509_sign(cert, issuer_key, EVP_sha256()) <= 0) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

static char *cert_to_pem(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    char *pem = NULL;
    long len = 0;

    if (bio != NULL && PEM_write_bio_X509(bio, cert))
        len = BIO_get_mem_data(bio, &data);
    if (len > 0) {
        pem = malloc((size_t)len + 1);
        if (pem != NULL) {
            memcpy(pem, data, (size_t)len);
            pem[len] = '\0';
        }
    }
    BIO_free(bio);
    return pem;
}

/* Stores DER in 0xE0E0 as C0 | N+6 (2) | N+3 (3) | N (3) | DER, the TLS identity form. */
static trustx_rc store_tagged_cert(sim_app *app, X509 *cert)
{
    sim_object *obj = sim_object_find(app, 0xE0E0);
    int der_len = i2d_X509(cert, NULL);
    uint8_t *p = obj->data;
    size_t n;

    if (der_len <= 0 || (size_t)der_len + TAGGED_CERT_HEADER > obj->def->max_size)
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_CRYPTO,
                           "device certificate does not fit object 0xE0E0 (%d bytes)", der_len);
    n = (size_t)der_len;

    p[0] = 0xC0;
    sim_put_be16(p + 1, (uint16_t)(n + 6));
    p[3] = 0x00;
    sim_put_be16(p + 4, (uint16_t)(n + 3));
    p[6] = 0x00;
    sim_put_be16(p + 7, (uint16_t)n);
    p += TAGGED_CERT_HEADER;
    i2d_X509(cert, &p);

    sim_object_set_used(obj, (uint16_t)(n + TAGGED_CERT_HEADER));
    return TRUSTX_OK;
}

static void uid_hex(const uint8_t *uid, char *out)
{
    static const char digits[] = "0123456789ABCDEF";

    for (size_t i = 0; i < SIM_UID_LEN; i++) {
        out[2 * i] = digits[uid[i] >> 4];
        out[2 * i + 1] = digits[uid[i] & 0x0F];
    }
    out[UID_HEX_LEN] = '\0';
}

trustx_rc sim_factory_init(sim_app *app)
{
    char device_cn[UID_HEX_LEN + 1];
    EVP_PKEY *ca_key = NULL;
    EVP_PKEY *device_key = NULL;
    X509 *ca_cert = NULL;
    X509 *device_cert = NULL;
    trustx_rc rc = make_uid(app);

    if (rc != TRUSTX_OK)
        return rc;

    ca_key = sim_key_generate(SIM_CURVE_P256);
    device_key = sim_key_generate(SIM_CURVE_P256);
    if (ca_key != NULL && device_key != NULL)
        ca_cert = issue_cert(ca_key, "trustx Simulated OPTIGA Trust X Vendor CA", NULL, ca_key,
                             1);
    uid_hex(app->uid, device_cn);
    if (ca_cert != NULL)
        device_cert = issue_cert(device_key, device_cn, ca_cert, ca_key, 0);
    if (device_cert == NULL) {
        rc = trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_CRYPTO,
                         "failed to create the vendor CA or the device certificate");
        goto out;
    }

    app->ca_cert_pem = cert_to_pem(ca_cert);
    app->ca_key_pem = sim_key_to_pem(ca_key);
    if (app->ca_cert_pem == NULL || app->ca_key_pem == NULL) {
        rc = trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_CRYPTO, "failed to encode the vendor CA");
        goto out;
    }
    rc = store_tagged_cert(app, device_cert);
    if (rc == TRUSTX_OK) {
        rc = sim_object_set_key(sim_object_find(app, 0xE0F0), device_key, SIM_CURVE_P256);
        device_key = NULL; /* owned by the object, even on failure */
    }

out:
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(device_key);
    X509_free(ca_cert);
    X509_free(device_cert);
    return rc;
}
