/* SPDX-License-Identifier: MIT */
/*
 * Host side of the Infineon IFX I2C protocol v1.65 as the OPTIGA Trust X
 * implements it: physical layer (registers, polling, guard time, soft reset,
 * negotiation), data link (frames, CRC, ACK/NAK, retransmission, re-sync) and
 * network layer (chaining). The stack does no I/O of its own: every bus access
 * and every clock reading goes through the transport it was opened on.
 */
#ifndef TRUSTX_IFXI2C_H
#define TRUSTX_IFXI2C_H

#include <stddef.h>
#include <stdint.h>

#include "trustx/error.h"
#include "trustx/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Register addresses (first byte of an I2C write). */
#define TRUSTX_REG_DATA          0x80
#define TRUSTX_REG_DATA_REG_LEN  0x81
#define TRUSTX_REG_I2C_STATE     0x82
#define TRUSTX_REG_BASE_ADDR     0x83
#define TRUSTX_REG_MAX_SCL_FREQU 0x84
#define TRUSTX_REG_GUARD_TIME    0x85
#define TRUSTX_REG_TRANS_TIMEOUT 0x86
#define TRUSTX_REG_SOFT_RESET    0x88
#define TRUSTX_REG_I2C_MODE      0x89

/* I2C_STATE byte 0 flags. */
#define TRUSTX_STATE_BUSY        0x80
#define TRUSTX_STATE_RESP_RDY    0x40
#define TRUSTX_STATE_SOFT_RESET  0x08

/* Largest frame the Trust X accepts (DATA_REG_LEN 0x0115). */
#define TRUSTX_FRAME_MAX         277
#define TRUSTX_FRAME_OVERHEAD    5     /* FCTR(1) LEN(2) FCS(2) */

/* Largest APDU the stack reassembles; the chip's 0xE0C6 value is smaller. */
#define TRUSTX_APDU_MAX          2048

/* CRC-16 of the frame check sequence (CRC-16/KERMIT register, init 0). */
uint16_t trustx_crc16(const uint8_t *data, size_t len);

/* Continues a CRC over more bytes, starting from register value crc. */
uint16_t trustx_crc16_update(uint16_t crc, const uint8_t *data, size_t len);

typedef struct trustx_ifxi2c_config {
    unsigned speed_khz;         /* wanted bus clock; 0 means the transport's value */
    unsigned frame_size;        /* wanted DATA_REG_LEN; 0 means 277 */
    uint32_t response_timeout_ms; /* per transceive; 0 means 6000 */
    int skip_reset;             /* nonzero: do not soft-reset on open (resume a session) */
} trustx_ifxi2c_config;

/* Counters of what the stack did, for diagnostics and benchmarks. */
typedef struct trustx_ifxi2c_stats {
    uint64_t transactions;      /* I2C transactions attempted */
    uint64_t nacks;             /* address NACKs seen */
    uint64_t state_polls;       /* I2C_STATE reads */
    uint64_t empty_polls;       /* I2C_STATE reads that found nothing to read */
    uint64_t frames_sent;       /* data frames sent, first attempts */
    uint64_t frames_resent;     /* data frames retransmitted */
    uint64_t frames_received;   /* data frames accepted */
    uint64_t naks_sent;         /* NAK control frames sent */
    uint64_t resyncs;           /* re-sync frames sent */
    uint64_t bytes_written;     /* bytes in write transactions, register byte included */
    uint64_t bytes_read;        /* bytes in read transactions */
    uint64_t guard_us;          /* time spent waiting for guard time */
    uint64_t sleep_us;          /* time spent waiting for the chip (polling intervals) */
    uint64_t transceives;       /* trustx_ifxi2c_transceive calls */
    uint64_t data_reads;        /* DATA register reads (frames fetched) */
    uint64_t acks_sent;         /* control ACK frames sent */
    uint64_t frames_corrupt;    /* frames read with a bad FCS, length or FCTR */
    uint64_t frames_repeated;   /* chip data frames received again (ACKed again, not delivered) */
    uint64_t frames_dropped;    /* valid frames ignored (stale ACKNR, unexpected control frame) */
    uint64_t chain_restarts;    /* commands sent again after the chip's chain error packet */
    uint64_t chain_errors_sent; /* chain error packets sent for malformed response chains */
    uint64_t nack_wait_us;      /* time between tries of NACKed transactions */
    uint64_t reset_wait_us;     /* start-up time after soft resets */
} trustx_ifxi2c_stats;

typedef struct trustx_ifxi2c trustx_ifxi2c;

/*
 * Opens the protocol stack on t (which stays owned by the caller and MUST
 * outlive the stack): soft reset unless cfg->skip_reset, negotiation of the
 * clock and the frame size, data link counters reset (with skip_reset by a
 * re-sync frame, which keeps the chip's application open). cfg may be NULL.
 */
trustx_rc trustx_ifxi2c_open(trustx_transport *t, const trustx_ifxi2c_config *cfg,
                             trustx_ifxi2c **out);

/* Frees the stack (not the transport). Accepts NULL. */
void trustx_ifxi2c_close(trustx_ifxi2c *s);

/*
 * Sends one command APDU and receives its response APDU, chaining both ways
 * as needed. resp has room for resp_cap bytes; a longer response fails with
 * TRUSTX_E_OVERFLOW after the chain has been drained, and *resp_len then
 * holds the full response length. exec_hint_us is the chip's expected
 * execution time for this command (0 if unknown); the stack uses it to
 * decide when to start polling for the response. The whole exchange is
 * bounded by the response timeout; after a failure other than
 * TRUSTX_E_OVERFLOW the next call first sends a re-sync frame.
 */
trustx_rc trustx_ifxi2c_transceive(trustx_ifxi2c *s, const uint8_t *apdu, size_t apdu_len,
                                   uint8_t *resp, size_t resp_cap, size_t *resp_len,
                                   uint32_t exec_hint_us);

/* Soft-resets the chip and negotiates again. */
trustx_rc trustx_ifxi2c_reset(trustx_ifxi2c *s);

/* Returns the negotiated frame size (DATA_REG_LEN) and clock. */
unsigned trustx_ifxi2c_frame_size(const trustx_ifxi2c *s);
unsigned trustx_ifxi2c_speed_khz(const trustx_ifxi2c *s);

/* Returns the counters since open. */
const trustx_ifxi2c_stats *trustx_ifxi2c_get_stats(const trustx_ifxi2c *s);

#ifdef __cplusplus
}
#endif

#endif
