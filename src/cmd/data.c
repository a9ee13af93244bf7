/* SPDX-License-Identifier: MIT */
/*
 * Data object access: GetDataObject and SetDataObject split into chunks that
 * fit the chip's max comms buffer, metadata reads and writes, GetRandom.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_internal.h"

/* Read chunks leave room for the response header; write chunks for the command header and OID/offset. */
#define READ_CHUNK_OVERHEAD 4
#define WRITE_CHUNK_OVERHEAD 8
#define OBJECT_SIZE_MAX 0x10000u
#define RANDOM_MIN 8
#define RANDOM_MAX 256

/* System objects of fixed size (Trust X datasheet object table). */
static const cmd_object_size fixed_sizes[] = {
    {TRUSTX_OID_LCSG, 1, 1},          {TRUSTX_OID_SECSTATUS, 1, 1},
    {TRUSTX_OID_UID, 27, 1},          {TRUSTX_OID_SLEEP_DELAY, 1, 1},
    {TRUSTX_OID_CURRENT_LIMIT, 1, 1}, {TRUSTX_OID_SEC, 1, 1},
    {TRUSTX_OID_MAX_COMMS, 2, 1},     {TRUSTX_OID_LCSA, 1, 1},
    {TRUSTX_OID_APP_SECSTATUS, 1, 1}, {TRUSTX_OID_LAST_ERROR, 1, 1},
};

static cmd_object_size *learned_size(trustx_chip *chip, uint16_t oid)
{
    for (size_t i = 0; i < CMD_KNOWN_SIZES; i++)
        if (chip->sizes[i].known && chip->sizes[i].oid == oid)
            return &chip->sizes[i];
    return NULL;
}

/* Returns the used size of oid from the datasheet or from this session, else -1. */
static long known_size(trustx_chip *chip, uint16_t oid)
{
    const cmd_object_size *entry = learned_size(chip, oid);

    for (size_t i = 0; entry == NULL && i < sizeof(fixed_sizes) / sizeof(fixed_sizes[0]); i++)
        if (fixed_sizes[i].oid == oid)
            entry = &fixed_sizes[i];
    return entry != NULL ? (long)entry->size : -1;
}

/* Records the used size of oid; the oldest entry makes room when all are in use. */
static void remember_size(trustx_chip *chip, uint16_t oid, size_t size)
{
    cmd_object_size *entry = learned_size(chip, oid);

    if (entry == NULL) {
        entry = &chip->sizes[chip->sizes_next];
        chip->sizes_next = (chip->sizes_next + 1) % CMD_KNOWN_SIZES;
    }
    entry->oid = oid;
    entry->size = (uint32_t)size;
    entry->known = 1;
}

static void forget_size(trustx_chip *chip, uint16_t oid)
{
    cmd_object_size *entry = learned_size(chip, oid);

    if (entry != NULL)
        entry->known = 0;
}

/* Records the used size (tag 0xC5) that a metadata TLV carries, if it decodes. */
static void learn_used_size(trustx_chip *chip, uint16_t oid, const uint8_t *tlv, size_t len)
{
    trustx_metadata md;

    if (trustx_metadata_decode(tlv, len, &md) != TRUSTX_OK) {
        trustx_error_clear();
        return;
    }
    if (md.used_size >= 0)
        remember_size(chip, oid, (size_t)md.used_size);
}

/*
 * Returns the hint for reading want bytes at offset: the chip's time for the
 * bytes it will return when the object's size is known, and the earliest
 * response time when no bytes are left (the chip returns "out of bounds").
 * For an object of unknown size it is the earliest response time as well,
 * because the object may be empty or much shorter than requested, and the
 * stack's back-off finds a longer response.
 */
static uint32_t read_hint_us(trustx_chip *chip, uint16_t oid, size_t offset, size_t want)
{
    long size = known_size(chip, oid);
    size_t left;

    if (size < 0 || (size_t)size <= offset)
        return CMD_EXEC_MIN_US;
    left = (size_t)size - offset;
    return cmd_get_data_hint_us(left < want ? left : want);
}

/* Reads one chunk; *got receives the data length, copied to dst. */
static trustx_rc read_chunk(trustx_chip *chip, uint16_t oid, unsigned offset, size_t want,
                            uint8_t *dst, size_t *got, uint8_t *resp, size_t resp_cap)
{
    uint8_t apdu[10] = {TRUSTX_CMD_GET_DATA_OBJECT, 0x00, 0x00, 0x06};
    size_t resp_len = 0;
    char what[48];
    trustx_rc rc;

    cmd_put16(apdu + 4, oid);
    cmd_put16(apdu + 6, offset);
    cmd_put16(apdu + 8, (unsigned)want);
    snprintf(what, sizeof(what), "GetDataObject 0x%04X at offset %u", oid, offset);

    rc = cmd_exchange(chip, what, apdu, sizeof(apdu), resp, resp_cap, &resp_len,
                      read_hint_us(chip, oid, offset, want));
    if (rc != TRUSTX_OK)
        return rc;
    if (resp_len - 4 > want)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_PROTOCOL,
                           "%s: chip returned %zu bytes for %zu requested", what, resp_len - 4,
                           want);
    memcpy(dst, resp + 4, resp_len - 4);
    *got = resp_len - 4;
    return TRUSTX_OK;
}

trustx_rc trustx_get_data(trustx_chip *chip, uint16_t oid, uint16_t offset, uint8_t *buf,
                          size_t cap, size_t *len)
{
    size_t chunk = chip->max_apdu - READ_CHUNK_OVERHEAD;
    size_t total = 0;
    int at_end = 0;
    uint8_t *resp = malloc(chip->max_apdu + 4);
    trustx_rc rc = TRUSTX_OK;

    if (resp == NULL)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_NOMEM, "out of memory");

    /* Bounded: every pass either ends the loop or adds a full chunk below OBJECT_SIZE_MAX. */
    while (total < cap && offset + total < OBJECT_SIZE_MAX) {
        size_t want = cap - total < chunk ? cap - total : chunk;
        size_t got = 0;

        rc = read_chunk(chip, oid, (unsigned)(offset + total), want, buf + total, &got, resp,
                        chip->max_apdu + 4);

        /*
         * The chip answers "out of bounds" (0x08) for an offset at the end of
         * the data, which ends a read whose size is a multiple of the chunk,
         * and for an empty object read from offset 0.
         */
        if (rc == TRUSTX_E_DEVICE && trustx_error_last()->device_code == TRUSTX_DEV_OUT_OF_BOUNDS &&
            (total > 0 || offset == 0)) {
            trustx_error_clear();
            rc = TRUSTX_OK;
            at_end = 1;
            break;
        }
        if (rc != TRUSTX_OK)
            break;

        total += got;
        if (got < want) {
            at_end = 1;
            break;
        }
    }

    if (at_end)
        remember_size(chip, oid, offset + total);
    free(resp);
    *len = total;
    return rc;
}

trustx_rc trustx_get_metadata(trustx_chip *chip, uint16_t oid, uint8_t *buf, size_t cap,
                              size_t *len)
{
    uint8_t apdu[6] = {TRUSTX_CMD_GET_DATA_OBJECT, 0x01, 0x00, 0x02};
    uint8_t resp[4 + 256];
    size_t resp_len = 0;
    char what[48];
    trustx_rc rc;

    cmd_put16(apdu + 4, oid);
    snprintf(what, sizeof(what), "reading metadata of 0x%04X", oid);
    /* The datasheet gives no time for metadata, so the hint is that of a short read. */
    rc = cmd_exchange(chip, what, apdu, sizeof(apdu), resp, sizeof(resp), &resp_len,
                      CMD_EXEC_GET_DATA_US);
    if (rc != TRUSTX_OK)
        return rc;
    if (resp_len - 4 > cap)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_OVERFLOW,
                           "%s: %zu bytes do not fit the %zu-byte buffer", what, resp_len - 4,
                           cap);
    memcpy(buf, resp + 4, resp_len - 4);
    *len = resp_len - 4;
    learn_used_size(chip, oid, buf, *len);
    return TRUSTX_OK;
}

static trustx_rc write_chunk(trustx_chip *chip, uint16_t oid, uint8_t param, unsigned offset,
                             const uint8_t *data, size_t len, uint8_t *apdu)
{
    uint8_t resp[16];
    size_t resp_len = 0;
    char what[64];

    apdu[0] = TRUSTX_CMD_SET_DATA_OBJECT;
    apdu[1] = param;
    cmd_put16(apdu + 2, (unsigned)(len + 4));
    cmd_put16(apdu + 4, oid);
    cmd_put16(apdu + 6, offset);
    memcpy(apdu + 8, data, len);
    snprintf(what, sizeof(what), "SetDataObject 0x%04X at offset %u", oid, offset);

    return cmd_exchange(chip, what, apdu, len + 8, resp, sizeof(resp), &resp_len,
                        cmd_set_data_hint_us(len));
}

/*
 * Records the used size after a write: erase & write ends the object after
 * the data, a plain write only extends a size already known, and after a
 * failed write the size is unknown.
 */
static void learn_written_size(trustx_chip *chip, uint16_t oid, size_t end, int erase,
                               trustx_rc rc)
{
    long size = known_size(chip, oid);

    if (rc != TRUSTX_OK)
        forget_size(chip, oid);
    else if (erase)
        remember_size(chip, oid, end);
    else if (size >= 0)
        remember_size(chip, oid, (size_t)size > end ? (size_t)size : end);
}

trustx_rc trustx_set_data(trustx_chip *chip, uint16_t oid, uint16_t offset, const uint8_t *data,
                          size_t len, int erase)
{
    size_t chunk = chip->max_apdu - WRITE_CHUNK_OVERHEAD;
    size_t done = 0;
    uint8_t *apdu;
    trustx_rc rc = TRUSTX_OK;

    if ((size_t)offset + len > OBJECT_SIZE_MAX)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_INVALID_ARG,
                           "write of %zu bytes at offset %u exceeds any object size", len, offset);
    apdu = malloc(chip->max_apdu + 8);
    if (apdu == NULL)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_NOMEM, "out of memory");

    do {
        size_t n = len - done < chunk ? len - done : chunk;
        uint8_t param = (done == 0 && erase) ? 0x40 : 0x00;

        rc = write_chunk(chip, oid, param, (unsigned)(offset + done), data + done, n, apdu);
        done += n;
    } while (rc == TRUSTX_OK && done < len);

    learn_written_size(chip, oid, (size_t)offset + len, erase, rc);
    free(apdu);
    return rc;
}

trustx_rc trustx_set_metadata(trustx_chip *chip, uint16_t oid, const uint8_t *tlv, size_t len)
{
    uint8_t apdu[8 + 256];
    uint8_t resp[16];
    size_t resp_len = 0;
    char what[48];

    if (len < 2 || tlv[0] != 0x20 || (size_t)tlv[1] + 2 != len || len > 256)
        return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_INVALID_ARG,
                           "metadata must be one 0x20 TLV of at most 256 bytes");

    apdu[0] = TRUSTX_CMD_SET_DATA_OBJECT;
    apdu[1] = 0x01;
    cmd_put16(apdu + 2, (unsigned)(len + 4));
    cmd_put16(apdu + 4, oid);
    cmd_put16(apdu + 6, 0);
    memcpy(apdu + 8, tlv, len);
    snprintf(what, sizeof(what), "writing metadata of 0x%04X", oid);

    /* NOTE: the datasheet gives no time for metadata writes; the hint is that of a data write. */
    return cmd_exchange(chip, what, apdu, len + 8, resp, sizeof(resp), &resp_len,
                        cmd_set_data_hint_us(len));
}

trustx_rc trustx_get_random(trustx_chip *chip, uint8_t *buf, size_t len)
{
    uint8_t apdu[6] = {TRUSTX_CMD_GET_RANDOM, 0x00, 0x00, 0x02};
    uint8_t resp[4 + RANDOM_MAX];
    size_t done = 0;

    while (done < len) {
        size_t want = len - done > RANDOM_MAX ? RANDOM_MAX : len - done;
        size_t ask = want < RANDOM_MIN ? RANDOM_MIN : want;
        size_t resp_len = 0;
        trustx_rc rc;

        cmd_put16(apdu + 4, (unsigned)ask);
        rc = cmd_exchange(chip, "GetRandom", apdu, sizeof(apdu), resp, sizeof(resp), &resp_len,
                          CMD_EXEC_RANDOM_US);
        if (rc != TRUSTX_OK)
            return rc;
        if (resp_len - 4 != ask)
            return trustx_fail(TRUSTX_LAYER_COMMAND, TRUSTX_E_PROTOCOL,
                               "GetRandom returned %zu bytes for %zu requested", resp_len - 4,
                               ask);
        memcpy(buf + done, resp + 4, want);
        done += want;
    }
    return TRUSTX_OK;
}

trustx_rc trustx_read_metadata(trustx_chip *chip, uint16_t oid, trustx_metadata *md)
{
    uint8_t raw[256];
    size_t len = 0;
    trustx_rc rc = trustx_get_metadata(chip, oid, raw, sizeof(raw), &len);

    if (rc == TRUSTX_OK)
        rc = trustx_metadata_decode(raw, len, md);
    return rc;
}
