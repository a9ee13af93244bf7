/* SPDX-License-Identifier: MIT */
/*
 * Internal: network layer of the IFX I2C protocol. A packet is PCTR(1) plus
 * an APDU fragment; APDUs longer than one packet are chained in both
 * directions. Trust X has one channel and no presentation layer, so PCTR
 * bits 7..3 are always 0.
 */
#ifndef TRUSTX_IFXI2C_NETWORK_H
#define TRUSTX_IFXI2C_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#include "ifxi2c/datalink.h"

/* PCTR chain values (bits 2..0). */
#define IFXI2C_CHAIN_SINGLE    0x00
#define IFXI2C_CHAIN_FIRST     0x01
#define IFXI2C_CHAIN_MIDDLE    0x02
#define IFXI2C_CHAIN_LAST      0x04
#define IFXI2C_CHAIN_ERROR     0x07   /* also the whole chain error packet: PCTR only */
#define IFXI2C_PCTR_CHAIN_MASK 0x07

/* Times a command is sent again whole after the chip answers with a chain error. */
#define IFXI2C_CHAIN_RESENDS_MAX 1u

/* Largest APDU in either direction: a 4-byte header plus a 16-bit length of data. */
#define IFXI2C_APDU_LEN_MAX    (4u + 0xFFFFu)

/* First response poll after the command when the caller gives no execution time. */
#define IFXI2C_EXEC_DEFAULT_US 1000u

/*
 * Sends apdu (1..IFXI2C_APDU_LEN_MAX bytes) and reassembles the response
 * into resp (resp_cap bytes; resp may be NULL when resp_cap is 0). The first
 * response poll is exec_hint_us after the last command frame was written
 * (IFXI2C_EXEC_DEFAULT_US when 0). *resp_len receives the response length,
 * also when it fails with TRUSTX_E_OVERFLOW after draining the chain. A
 * malformed response chain is answered with one chain error packet and
 * fails with TRUSTX_E_PROTOCOL.
 */
trustx_rc ifxi2c_net_transceive(ifxi2c_dl *dl, const uint8_t *apdu, size_t apdu_len,
                                uint8_t *resp, size_t resp_cap, size_t *resp_len,
                                uint32_t exec_hint_us);

#endif
