/* SPDX-License-Identifier: MIT */
/* Names and small decoders: device error codes, object identifiers, the UID layout. */
#include <ctype.h>
#include <string.h>

#include "cmd_internal.h"

const char *trustx_device_error_name(int code)
{
    switch (code) {
    case 0x00: return "no error";
    case 0x01: return "no such object (invalid OID)";
    case 0x02: return "invalid password";
    case 0x03: return "invalid parameter field";
    case 0x04: return "invalid length field";
    case 0x05: return "invalid parameter in the command data";
    case 0x06: return "internal process error";
    case 0x07: return "access conditions not satisfied";
    case 0x08: return "data object boundary exceeded";
    case 0x09: return "metadata truncation error";
    case 0x0A: return "invalid command";
    case 0x0B: return "command out of sequence";
    case 0x0C: return "command not available (application not open)";
    case 0x0D: return "insufficient buffer or memory";
    case 0x0E: return "counter threshold reached";
    case 0x21: return "invalid handshake message";
    case 0x22: return "DTLS version mismatch";
    case 0x23: return "unsupported cipher suite";
    case 0x24: return "unsupported extension, key usage or algorithm";
    case 0x25: return "unsupported parameters";
    case 0x26: return "invalid trust anchor";
    case 0x27: return "trust anchor expired";
    case 0x28: return "unsupported trust anchor";
    case 0x29: return "invalid certificate format";
    case 0x2A: return "unsupported certificate or signature algorithm";
    case 0x2B: return "certificate expired";
    case 0x2C: return "signature verification failure";
    default: return "unknown device error";
    }
}

trustx_rc trustx_oid_parse(const char *text, uint16_t *oid)
{
    const char *p = text;
    unsigned value = 0;
    size_t digits = 0;

    if (p != NULL && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    for (; p != NULL && *p != '\0'; p++, digits++) {
        if (!isxdigit((unsigned char)*p) || digits == 4)
            break;
        value = value * 16 + (unsigned)(isdigit((unsigned char)*p) ? *p - '0'
                                                                  : tolower((unsigned char)*p) - 'a' + 10);
    }

    if (p == NULL || *p != '\0' || digits != 4)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_INVALID_ARG,
                           "invalid object identifier '%s'; use 4 hex digits such as E0F1 or "
                           "0xe0f1",
                           text ? text : "(null)");
    *oid = (uint16_t)value;
    return TRUSTX_OK;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

trustx_rc trustx_uid_decode(const uint8_t *buf, size_t len, trustx_uid *uid)
{
    if (len != sizeof(uid->raw))
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_PROTOCOL,
                           "coprocessor UID has %zu bytes; expected 27", len);

    memcpy(uid->raw, buf, len);
    uid->cim_id = buf[0];
    uid->platform_id = buf[1];
    uid->model_id = buf[2];
    uid->rom_mask_id = get16(buf + 3);
    memcpy(uid->chip_type, buf + 5, 6);
    memcpy(uid->batch, buf + 11, 6);
    uid->wafer_x = get16(buf + 17);
    uid->wafer_y = get16(buf + 19);
    uid->firmware_id = (uint32_t)buf[21] << 24 | (uint32_t)buf[22] << 16 |
                       (uint32_t)buf[23] << 8 | buf[24];
    uid->build = get16(buf + 25);
    return TRUSTX_OK;
}

const char *trustx_lcs_name(int lcs)
{
    switch (lcs) {
    case 0x01: return "creation";
    case 0x03: return "initialization";
    case 0x07: return "operational";
    case 0x0F: return "termination";
    default: return "unknown";
    }
}
