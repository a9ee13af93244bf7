/* SPDX-License-Identifier: MIT */
/*
 * Certificate slot formats of the chip: plain DER, and the TLS identity
 * form (0xC0 tag, 2-byte length, then a TLS certificate_list with 3-byte
 * lengths) that the vendor's tools write and the chip's TLS client reads.
 */
#include <string.h>

#include "pki/pki_internal.h"

#define IDENTITY_HEADER 3      /* tag and the 2-byte length of the rest */
#define LIST_LEN_BYTES 3       /* TLS uint24 length of certificate_list and of each entry */
#define IDENTITY_TOTAL_MAX 0xFFFF

static void put_be16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be24(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static size_t get_be16(const uint8_t *p)
{
    return ((size_t)p[0] << 8) | p[1];
}

static size_t get_be24(const uint8_t *p)
{
    return ((size_t)p[0] << 16) | ((size_t)p[1] << 8) | p[2];
}

static trustx_rc encode_der(const trustx_pki_chain *chain, uint8_t *out, size_t cap,
                            size_t *len)
{
    size_t der_len = 0;
    const uint8_t *der;

    if (chain->count != 1)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "plain DER holds one certificate, the chain has %zu; use the "
                           "identity format for a chain",
                           chain->count);
    der = trustx_pki_cert_der(chain->certs[0], &der_len);
    if (der_len > cap)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_OVERFLOW,
                           "certificate needs %zu bytes as DER, the slot holds %zu", der_len,
                           cap);
    memcpy(out, der, der_len);
    *len = der_len;
    return TRUSTX_OK;
}

static trustx_rc encode_identity(const trustx_pki_chain *chain, uint8_t *out, size_t cap,
                                 size_t *len)
{
    size_t list_len = 0, total, pos;

    for (size_t i = 0; i < chain->count; i++) {
        size_t der_len = 0;

        trustx_pki_cert_der(chain->certs[i], &der_len);
        list_len += LIST_LEN_BYTES + der_len;
    }
    total = LIST_LEN_BYTES + list_len;
    if (total > IDENTITY_TOTAL_MAX || IDENTITY_HEADER + total > cap)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_OVERFLOW,
                           "%zu certificate(s) need %zu bytes in the identity format, the slot "
                           "holds %zu",
                           chain->count, IDENTITY_HEADER + total,
                           cap < IDENTITY_HEADER + IDENTITY_TOTAL_MAX
                               ? cap
                               : (size_t)IDENTITY_HEADER + IDENTITY_TOTAL_MAX);

    out[0] = TRUSTX_PKI_IDENTITY_TAG;
    put_be16(out + 1, total);
    put_be24(out + IDENTITY_HEADER, list_len);
    pos = IDENTITY_HEADER + LIST_LEN_BYTES;
    for (size_t i = 0; i < chain->count; i++) {
        size_t der_len = 0;
        const uint8_t *der = trustx_pki_cert_der(chain->certs[i], &der_len);

        put_be24(out + pos, der_len);
        memcpy(out + pos + LIST_LEN_BYTES, der, der_len);
        pos += LIST_LEN_BYTES + der_len;
    }
    *len = pos;
    return TRUSTX_OK;
}

trustx_rc trustx_pki_slot_encode(const trustx_pki_chain *chain, trustx_pki_slot_format format,
                                 uint8_t *out, size_t cap, size_t *len)
{
    if (chain->count == 0 || chain->count > TRUSTX_PKI_CHAIN_MAX)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "chain of %zu certificates cannot be written; give 1..%d",
                           chain->count, TRUSTX_PKI_CHAIN_MAX);
    if (format == TRUSTX_PKI_SLOT_DER)
        return encode_der(chain, out, cap, len);
    if (format == TRUSTX_PKI_SLOT_IDENTITY)
        return encode_identity(chain, out, cap, len);
    return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG, "slot format %d is unknown",
                       (int)format);
}

/* ---- decoding ---- */

static int all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != 0)
            return 0;
    }
    return 1;
}

static trustx_rc check_padding(const uint8_t *obj, size_t used, size_t len, const char *what)
{
    for (size_t i = used; i < len; i++) {
        if (obj[i] != 0)
            return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                               "%s ends at byte %zu but byte %zu is 0x%02x, not zero padding; "
                               "the object is corrupt, write the certificate again",
                               what, used, i, obj[i]);
    }
    return TRUSTX_OK;
}

/*
 * Reads the length of the DER element at p (tag at p[0]) and returns the
 * element's full size in *size, or TRUSTX_E_INVALID_ARG when the header is
 * not a definite DER length within avail bytes.
 */
static trustx_rc der_element_size(const uint8_t *p, size_t avail, size_t *size)
{
    size_t header = 2, content = 0;

    if (avail < 2)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "DER header needs 2 bytes, %zu are left", avail);
    if (p[1] < 0x80) {
        content = p[1];
    } else {
        size_t count = p[1] & 0x7F;

        if (count == 0 || count > 3 || avail < 2 + count)
            return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                               "DER length byte 0x%02x is not a definite length that fits the "
                               "object",
                               p[1]);
        for (size_t i = 0; i < count; i++)
            content = (content << 8) | p[2 + i];
        header += count;
    }
    if (content > avail - header)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "DER certificate claims %zu bytes but only %zu are left",
                           header + content, avail);
    *size = header + content;
    return TRUSTX_OK;
}

static trustx_rc decode_der(const uint8_t *obj, size_t len, trustx_pki_chain *chain)
{
    size_t size = 0;
    trustx_rc rc = der_element_size(obj, len, &size);

    if (rc == TRUSTX_OK)
        rc = check_padding(obj, size, len, "DER certificate");
    if (rc == TRUSTX_OK)
        rc = trustx_pki_cert_from_der(obj, size, &chain->certs[0]);
    if (rc == TRUSTX_OK)
        chain->count = 1;
    return rc;
}

static trustx_rc decode_list(const uint8_t *list, size_t list_len, trustx_pki_chain *chain)
{
    size_t pos = 0;

    while (pos < list_len) {
        size_t cert_len;
        trustx_rc rc;

        if (list_len - pos < LIST_LEN_BYTES)
            return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                               "identity certificate_list has %zu stray bytes at its end",
                               list_len - pos);
        cert_len = get_be24(list + pos);
        pos += LIST_LEN_BYTES;
        if (cert_len == 0 || cert_len > list_len - pos)
            return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                               "identity certificate %zu claims %zu bytes but %zu are left in "
                               "the certificate_list",
                               chain->count + 1, cert_len, list_len - pos);
        if (chain->count >= TRUSTX_PKI_CHAIN_MAX)
            return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_OVERFLOW,
                               "identity object holds more than %d certificates",
                               TRUSTX_PKI_CHAIN_MAX);

        rc = trustx_pki_cert_from_der(list + pos, cert_len, &chain->certs[chain->count]);
        if (rc != TRUSTX_OK) {
            trustx_error_prefix("identity certificate %zu", chain->count + 1);
            return rc;
        }
        chain->count++;
        pos += cert_len;
    }
    if (chain->count == 0)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "identity object holds an empty certificate_list");
    return TRUSTX_OK;
}

static trustx_rc decode_identity(const uint8_t *obj, size_t len, trustx_pki_chain *chain)
{
    size_t total, list_len;
    trustx_rc rc;

    if (len < IDENTITY_HEADER + LIST_LEN_BYTES)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "identity object of %zu bytes is shorter than its 6-byte header", len);
    total = get_be16(obj + 1);
    if (total > len - IDENTITY_HEADER)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "identity object claims %zu bytes after its tag, the object has %zu",
                           total, len - IDENTITY_HEADER);
    list_len = get_be24(obj + IDENTITY_HEADER);
    if (total < LIST_LEN_BYTES || list_len != total - LIST_LEN_BYTES)
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "identity lengths disagree: %zu bytes after the tag but a "
                           "certificate_list of %zu",
                           total, list_len);

    rc = check_padding(obj, IDENTITY_HEADER + total, len, "identity object");
    if (rc == TRUSTX_OK)
        rc = decode_list(obj + IDENTITY_HEADER + LIST_LEN_BYTES, list_len, chain);
    return rc;
}

trustx_rc trustx_pki_slot_decode(const uint8_t *obj, size_t len, trustx_pki_slot_format *format,
                                 trustx_pki_chain *chain)
{
    trustx_rc rc;

    trustx_pki_chain_init(chain);
    if (len == 0 || all_zero(obj, len))
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_NOT_FOUND,
                           "certificate object is empty (%zu bytes, all zero); write a "
                           "certificate first",
                           len);

    switch (obj[0]) {
    case 0x30:
        rc = decode_der(obj, len, chain);
        if (rc == TRUSTX_OK && format != NULL)
            *format = TRUSTX_PKI_SLOT_DER;
        break;
    case TRUSTX_PKI_IDENTITY_TAG:
        rc = decode_identity(obj, len, chain);
        if (rc == TRUSTX_OK && format != NULL)
            *format = TRUSTX_PKI_SLOT_IDENTITY;
        break;
    case TRUSTX_PKI_USB_IDENTITY_TAG:
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_UNSUPPORTED,
                           "certificate object holds a USB Type-C identity chain (tag 0xC2), "
                           "which trustx does not read; read it raw with `trustx object read`");
    default:
        return trustx_fail(TRUSTX_LAYER_PKI, TRUSTX_E_INVALID_ARG,
                           "certificate object starts with 0x%02x, which is neither DER (0x30) "
                           "nor an identity chain (0xC0); the object holds no certificate",
                           obj[0]);
    }

    if (rc != TRUSTX_OK)
        trustx_pki_chain_clear(chain);
    return rc;
}
