/* SPDX-License-Identifier: MIT */
/* Internal state and helpers of the command layer. */
#ifndef TRUSTX_CMD_INTERNAL_H
#define TRUSTX_CMD_INTERNAL_H

#include "trustx/cmd.h"

/* Until 0xE0C6 is read, chunks assume the smallest buffer a chip is known to have. */
#define CMD_DEFAULT_MAX_APDU 0x0200
#define CMD_MIN_MAX_APDU 0x0040

/*
 * Chip execution times passed to the protocol stack as hints: it polls for
 * the response at that time and backs off from there while the chip is
 * still busy. A hint that is too short costs a few I2C_STATE reads while
 * the chip works, one that is too long leaves the chip idle, so the data
 * command hints are lower estimates. Source: Trust X datasheet v2.70, table
 * 15, whose figures are measured at the I2C interface at 400 kHz and so
 * include moving the command and the response (about 4 ms for a 100-byte
 * object, with polls and ACKs). NOTE: the datasheet gives no time for
 * OpenApplication, a rejected command or metadata, and does not split the
 * data commands into a fixed part and a part per byte; those are estimates.
 */
#define CMD_EXEC_OPEN_APP_US 1000u

/* The earliest a response can be ready, such as the error a rejected command returns. */
#define CMD_EXEC_MIN_US 250u

/*
 * GetDataObject: 9 ms for 100 bytes at the interface, about 5 ms of it in
 * the chip. SetDataObject: 15 ms for 100 bytes, about 11 ms in the chip.
 */
#define CMD_EXEC_GET_DATA_US 1000u
#define CMD_EXEC_GET_DATA_PER_BYTE_US 40u
#define CMD_EXEC_SET_DATA_US 1000u
#define CMD_EXEC_SET_DATA_PER_BYTE_US 100u

/* GetRandom: 5-7 ms for 16 bytes at the interface, of which 1-2 ms move the frames. */
#define CMD_EXEC_RANDOM_US 4000u

#define CMD_EXEC_GENKEY_P256_US 80000u
#define CMD_EXEC_SIGN_P256_US 60000u
#define CMD_EXEC_VERIFY_P256_US 85000u
/* NOTE: P-384 times are not in the datasheet; these assume about twice P-256. */
#define CMD_EXEC_GENKEY_P384_US 160000u
#define CMD_EXEC_SIGN_P384_US 120000u
#define CMD_EXEC_VERIFY_P384_US 170000u

/* Object sizes the session has learned, for the GetDataObject hints only. */
#define CMD_KNOWN_SIZES 8

typedef struct cmd_object_size {
    uint16_t oid;
    uint32_t size;              /* used size in bytes */
    int known;
} cmd_object_size;

struct trustx_chip {
    trustx_transport *transport;
    trustx_ifxi2c *stack;
    unsigned max_apdu;          /* max comms buffer from 0xE0C6 */
    cmd_object_size sizes[CMD_KNOWN_SIZES];  /* learned from writes, reads and metadata */
    unsigned sizes_next;        /* entry replaced next once all are in use */
};

/* Sends an APDU and checks the response header; no status interpretation. */
trustx_rc cmd_exchange_raw(trustx_chip *chip, const uint8_t *apdu, size_t len, uint8_t *resp,
                           size_t cap, size_t *resp_len, uint32_t exec_hint_us);

/*
 * Sends an APDU; a non-zero status reads 0xF1C2 and fails with
 * TRUSTX_E_DEVICE, the device code recorded and `what` naming the command.
 */
trustx_rc cmd_exchange(trustx_chip *chip, const char *what, const uint8_t *apdu, size_t len,
                       uint8_t *resp, size_t cap, size_t *resp_len, uint32_t exec_hint_us);

/* Returns the GetDataObject hint for a response of bytes data bytes. */
static inline uint32_t cmd_get_data_hint_us(size_t bytes)
{
    return CMD_EXEC_GET_DATA_US + (uint32_t)(bytes * CMD_EXEC_GET_DATA_PER_BYTE_US);
}

/* Returns the SetDataObject hint for bytes data bytes written. */
static inline uint32_t cmd_set_data_hint_us(size_t bytes)
{
    return CMD_EXEC_SET_DATA_US + (uint32_t)(bytes * CMD_EXEC_SET_DATA_PER_BYTE_US);
}

static inline void cmd_put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

#endif
