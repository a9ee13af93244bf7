/* SPDX-License-Identifier: MIT */
/* Internal state and helpers of the command layer. */
#ifndef TRUSTX_CMD_INTERNAL_H
#define TRUSTX_CMD_INTERNAL_H

#include "trustx/cmd.h"

/* Until 0xE0C6 is read, chunks assume the smallest buffer a chip is known to have. */
#define CMD_DEFAULT_MAX_APDU 0x0200
#define CMD_MIN_MAX_APDU 0x0040

/*
 * Execution times from the Trust X datasheet (v2.70, table 15, 400 kHz),
 * passed to the protocol stack so that it polls when the answer can be
 * ready. They are hints: the stack still polls until its deadline.
 */
#define CMD_EXEC_OPEN_APP_US 1000u
#define CMD_EXEC_GET_DATA_US 3000u          /* plus CMD_EXEC_PER_100B_READ_US per 100 bytes */
#define CMD_EXEC_PER_100B_READ_US 6000u     /* 9 ms for 100 bytes in the datasheet */
#define CMD_EXEC_SET_DATA_US 5000u          /* plus CMD_EXEC_PER_100B_WRITE_US per 100 bytes */
#define CMD_EXEC_PER_100B_WRITE_US 10000u   /* 15 ms for 100 bytes in the datasheet */
#define CMD_EXEC_RANDOM_US 6000u
#define CMD_EXEC_GENKEY_P256_US 80000u
#define CMD_EXEC_SIGN_P256_US 60000u
#define CMD_EXEC_VERIFY_P256_US 85000u
/* NOTE: P-384 times are not in the datasheet; these assume about twice P-256. */
#define CMD_EXEC_GENKEY_P384_US 160000u
#define CMD_EXEC_SIGN_P384_US 120000u
#define CMD_EXEC_VERIFY_P384_US 170000u

struct trustx_chip {
    trustx_transport *transport;
    trustx_ifxi2c *stack;
    unsigned max_apdu;          /* max comms buffer from 0xE0C6 */
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

static inline void cmd_put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

#endif
