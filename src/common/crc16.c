/* SPDX-License-Identifier: MIT */
/*
 * Frame check sequence of the IFX I2C data link: CRC-16 with the CCITT
 * polynomial processed reflected (0x8408), initial value 0, no final XOR
 * (the CRC-16/KERMIT register; check value 0x2189 for "123456789"). The
 * register goes on the wire high byte first. Host and simulator share this
 * pure helper; tests pin it with known answers.
 */
#include "trustx/ifxi2c.h"

uint16_t trustx_crc16_update(uint16_t crc, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 1u) ? (uint16_t)((crc >> 1) ^ 0x8408u) : (uint16_t)(crc >> 1);
    }
    return crc;
}

uint16_t trustx_crc16(const uint8_t *data, size_t len)
{
    return trustx_crc16_update(0, data, len);
}
