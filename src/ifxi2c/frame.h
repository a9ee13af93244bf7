/* SPDX-License-Identifier: MIT */
/*
 * Internal: data-link frames of the IFX I2C protocol, FCTR(1) LEN(2) packet
 * FCS(2). A pure codec without I/O: an encoder and a decoder that accepts the
 * bytes of one frame in pieces of any size.
 */
#ifndef TRUSTX_IFXI2C_FRAME_H
#define TRUSTX_IFXI2C_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "trustx/ifxi2c.h"

/* FCTR fields: FTYPE(7) SEQCTR(6:5) RFU(4) FRNR(3:2) ACKNR(1:0). */
#define IFXI2C_FCTR_CONTROL     0x80
#define IFXI2C_FCTR_SEQCTR_MASK 0x60
#define IFXI2C_FCTR_SEQCTR_ACK  0x00
#define IFXI2C_FCTR_SEQCTR_NAK  0x20
#define IFXI2C_FCTR_SEQCTR_SYNC 0x40
#define IFXI2C_FCTR_RFU         0x10
#define IFXI2C_FCTR_RESYNC      0xC0   /* control frame, SEQCTR re-sync, numbers 0 */

/* Frame numbers count modulo 4; both sides start at 3 so that the first frame is 0. */
#define IFXI2C_FRNR_MASK        0x03
#define IFXI2C_FRNR_INITIAL     3

/* Smallest DATA_REG_LEN the chip accepts (register 0x81 range 0x0010..). */
#define IFXI2C_FRAME_MIN        16

uint8_t ifxi2c_fctr_data(unsigned frnr, unsigned acknr);
uint8_t ifxi2c_fctr_ack(unsigned acknr);
uint8_t ifxi2c_fctr_nak(unsigned acknr);

/*
 * Returns nonzero for the FCTR values the protocol defines: data frames
 * 0x00..0x0F (ACK) and 0x20..0x2F (NAK), control ACK 0x80..0x83, control NAK
 * 0xA0..0xA3 and re-sync 0xC0. Every other value sets an RFU bit, uses
 * SEQCTR 11, or gives a control frame a frame number.
 */
int ifxi2c_fctr_is_valid(uint8_t fctr);

static inline int ifxi2c_fctr_is_control(uint8_t fctr)
{
    return (fctr & IFXI2C_FCTR_CONTROL) != 0;
}

static inline unsigned ifxi2c_fctr_seqctr(uint8_t fctr)
{
    return fctr & IFXI2C_FCTR_SEQCTR_MASK;
}

static inline unsigned ifxi2c_fctr_frnr(uint8_t fctr)
{
    return (fctr >> 2) & IFXI2C_FRNR_MASK;
}

static inline unsigned ifxi2c_fctr_acknr(uint8_t fctr)
{
    return fctr & IFXI2C_FRNR_MASK;
}

/*
 * Encodes one frame into out (cap bytes) and returns its length, packet_len
 * + 5. Returns 0 when out is too small or packet_len exceeds the largest
 * frame (TRUSTX_FRAME_MAX - 5). packet may be NULL when packet_len is 0.
 */
size_t ifxi2c_frame_encode(uint8_t fctr, const uint8_t *packet, size_t packet_len,
                           uint8_t *out, size_t cap);

typedef enum ifxi2c_frame_status {
    IFXI2C_FRAME_INCOMPLETE = 0,   /* more bytes are needed */
    IFXI2C_FRAME_VALID,            /* a whole frame with a correct FCS */
    IFXI2C_FRAME_INVALID           /* rejected; see the error */
} ifxi2c_frame_status;

typedef enum ifxi2c_frame_error {
    IFXI2C_FRAME_OK = 0,
    IFXI2C_FRAME_BAD_FCTR,         /* undefined FCTR value (RFU bits, SEQCTR 11, ...) */
    IFXI2C_FRAME_BAD_LENGTH,       /* LEN 0 in a data frame, LEN != 0 in a control frame,
                                      LEN above the frame size, or bytes missing or left over */
    IFXI2C_FRAME_BAD_FCS           /* CRC mismatch */
} ifxi2c_frame_error;

/* Decoder state for one frame; the decoded packet stays inside it. */
typedef struct ifxi2c_frame_decoder {
    size_t max_packet;             /* negotiated frame size - 5 */
    size_t used;                   /* bytes stored in buf */
    size_t total;                  /* whole frame length once LEN is known, else 0 */
    ifxi2c_frame_status status;
    ifxi2c_frame_error error;
    uint8_t buf[TRUSTX_FRAME_MAX];
} ifxi2c_frame_decoder;

/*
 * Starts a new frame. frame_size is the negotiated DATA_REG_LEN; values
 * outside IFXI2C_FRAME_MIN..TRUSTX_FRAME_MAX are clamped into that range.
 */
void ifxi2c_frame_decoder_init(ifxi2c_frame_decoder *d, size_t frame_size);

/*
 * Feeds len bytes and returns how many were consumed. Consumption stops at
 * the end of the frame or at the first invalid byte, so a return value below
 * len means the frame is finished (valid or not) and the rest belongs to
 * something else. The result is in d->status and d->error.
 */
size_t ifxi2c_frame_decoder_feed(ifxi2c_frame_decoder *d, const uint8_t *data, size_t len);

/*
 * Decodes buf as exactly one frame, as read from the DATA register: bytes
 * missing or left over are IFXI2C_FRAME_BAD_LENGTH. Returns the error (OK on
 * success); d holds the frame afterwards.
 */
ifxi2c_frame_error ifxi2c_frame_decode(ifxi2c_frame_decoder *d, size_t frame_size,
                                       const uint8_t *buf, size_t len);

/* Accessors, valid once d->status is IFXI2C_FRAME_VALID. */
uint8_t ifxi2c_frame_fctr(const ifxi2c_frame_decoder *d);
const uint8_t *ifxi2c_frame_packet(const ifxi2c_frame_decoder *d, size_t *len);

/* Returns a short lowercase description of err, such as "bad FCS". */
const char *ifxi2c_frame_error_name(ifxi2c_frame_error err);

#endif
