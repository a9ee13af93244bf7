/* SPDX-License-Identifier: MIT */
/* FT260 HID report encoders and decoders for I2C; no I/O. */
#include <stdio.h>
#include <string.h>

#include "ft260_proto.h"

#define FT260_BITS_PER_BYTE 9      /* 8 data bits and the acknowledge bit */

size_t transport_ft260_write_report_count(size_t len)
{
    if (len == 0)
        return 1;
    return (len + FT260_WRITE_PAYLOAD_MAX - 1) / FT260_WRITE_PAYLOAD_MAX;
}

/* The smallest data report ID whose payload fits n (1..60) bytes. */
static uint8_t data_report_id(size_t n)
{
    return (uint8_t)(FT260_REPORT_I2C_DATA_FIRST + (n - 1) / 4);
}

/* Payload capacity of data report ID id: 4 bytes for 0xD0, 60 for 0xDE. */
static size_t data_report_capacity(uint8_t id)
{
    return 4u * (size_t)(id - FT260_REPORT_I2C_DATA_FIRST + 1);
}

size_t transport_ft260_encode_write(uint8_t addr, const uint8_t *data, size_t len, size_t index,
                                    uint8_t *report)
{
    size_t count = transport_ft260_write_report_count(len);
    size_t offset = index * FT260_WRITE_PAYLOAD_MAX;
    size_t chunk;
    uint8_t flags = FT260_I2C_NONE;
    uint8_t id;

    if (len == 0 || index >= count)
        return 0;

    chunk = len - offset < FT260_WRITE_PAYLOAD_MAX ? len - offset : FT260_WRITE_PAYLOAD_MAX;
    if (index == 0)
        flags |= FT260_I2C_START;
    if (index == count - 1)
        flags |= FT260_I2C_STOP;

    id = data_report_id(chunk);
    memset(report, 0, FT260_WRITE_HEADER_LEN + data_report_capacity(id));
    report[0] = id;
    report[1] = addr;
    report[2] = flags;
    report[3] = (uint8_t)chunk;
    memcpy(report + FT260_WRITE_HEADER_LEN, data + offset, chunk);
    return FT260_WRITE_HEADER_LEN + data_report_capacity(id);
}

size_t transport_ft260_encode_read_request(uint8_t addr, size_t len, uint8_t flags,
                                           uint8_t *report)
{
    if (len == 0 || len > FT260_READ_LEN_MAX)
        return 0;

    report[0] = FT260_REPORT_I2C_READ_REQUEST;
    report[1] = addr;
    report[2] = flags;
    report[3] = (uint8_t)(len & 0xFF);
    report[4] = (uint8_t)(len >> 8);
    return FT260_READ_REQUEST_LEN;
}

int transport_ft260_decode_input(const uint8_t *report, size_t n, size_t *offset, size_t *len)
{
    if (n < FT260_INPUT_HEADER_LEN || report[0] < FT260_REPORT_I2C_DATA_FIRST ||
        report[0] > FT260_REPORT_I2C_DATA_LAST)
        return -1;
    if (report[1] > n - FT260_INPUT_HEADER_LEN)
        return -2;

    *offset = FT260_INPUT_HEADER_LEN;
    *len = report[1];
    return 0;
}

int transport_ft260_decode_status(const uint8_t *report, size_t n, ft260_status *out)
{
    if (n < FT260_STATUS_REPORT_MIN || report[0] != FT260_REPORT_I2C_STATUS)
        return -1;

    out->bus = report[1];
    out->clock_khz = (unsigned)report[2] | ((unsigned)report[3] << 8);
    return 0;
}

ft260_outcome transport_ft260_classify(uint8_t bus, int last)
{
    if (bus & FT260_STATUS_CONTROLLER_BUSY)
        return FT260_OUTCOME_PENDING;
    if (bus & FT260_STATUS_ADDRESS_NACK)
        return FT260_OUTCOME_NACK;
    if (bus & FT260_STATUS_ERRORS)
        return FT260_OUTCOME_FAILED;
    if (last && (bus & FT260_STATUS_BUS_BUSY))
        return FT260_OUTCOME_PENDING;
    return FT260_OUTCOME_DONE;
}

const char *transport_ft260_status_words(uint8_t bus, char *buf, size_t cap)
{
    static const struct {
        uint8_t bit;
        const char *word;
    } names[] = {
        {FT260_STATUS_CONTROLLER_BUSY, "controller busy"},
        {FT260_STATUS_ERROR, "error"},
        {FT260_STATUS_ADDRESS_NACK, "address not acknowledged"},
        {FT260_STATUS_DATA_NACK, "data not acknowledged"},
        {FT260_STATUS_ARBITRATION_LOST, "arbitration lost"},
        {FT260_STATUS_CONTROLLER_IDLE, "controller idle"},
        {FT260_STATUS_BUS_BUSY, "bus busy"},
    };
    size_t used = 0;

    if (cap == 0)
        return buf;
    buf[0] = '\0';

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int n;

        if (!(bus & names[i].bit))
            continue;
        n = snprintf(buf + used, cap - used, "%s%s", used > 0 ? ", " : "", names[i].word);
        if (n < 0 || (size_t)n >= cap - used)
            return buf;
        used += (size_t)n;
    }

    if (used == 0)
        snprintf(buf, cap, "no status bits");
    return buf;
}

size_t transport_ft260_encode_set_clock(unsigned khz, uint8_t *report)
{
    report[0] = FT260_REPORT_SYSTEM_SETTINGS;
    report[1] = FT260_REQUEST_SET_I2C_CLOCK;
    report[2] = (uint8_t)(khz & 0xFF);
    report[3] = (uint8_t)((khz >> 8) & 0xFF);
    return 4;
}

size_t transport_ft260_encode_i2c_reset(uint8_t *report)
{
    report[0] = FT260_REPORT_SYSTEM_SETTINGS;
    report[1] = FT260_REQUEST_I2C_RESET;
    return 2;
}

size_t transport_ft260_encode_enable_i2c(uint8_t *report)
{
    report[0] = FT260_REPORT_SYSTEM_SETTINGS;
    report[1] = FT260_REQUEST_SET_I2C_MODE;
    report[2] = 1;
    return 3;
}

uint32_t transport_ft260_bus_time_us(size_t len, unsigned khz)
{
    uint64_t bits = (uint64_t)(len + 1) * FT260_BITS_PER_BYTE;

    if (khz == 0)
        khz = FT260_CLOCK_MIN_KHZ;
    return (uint32_t)((bits * 1000u + khz - 1) / khz);
}
