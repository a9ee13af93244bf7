/* SPDX-License-Identifier: MIT */
/*
 * Data-link frame codec: FCTR rules, frame encoding and a decoder that can be
 * fed one frame in pieces. The FCS register goes on the wire high byte first.
 */
#include "ifxi2c/frame.h"

#include <string.h>

#define FRAME_HEADER_LEN 3     /* FCTR + LEN */
#define FRAME_FCS_LEN    2

uint8_t ifxi2c_fctr_data(unsigned frnr, unsigned acknr)
{
    return (uint8_t)(((frnr & IFXI2C_FRNR_MASK) << 2) | (acknr & IFXI2C_FRNR_MASK));
}

uint8_t ifxi2c_fctr_ack(unsigned acknr)
{
    return (uint8_t)(IFXI2C_FCTR_CONTROL | IFXI2C_FCTR_SEQCTR_ACK | (acknr & IFXI2C_FRNR_MASK));
}

uint8_t ifxi2c_fctr_nak(unsigned acknr)
{
    return (uint8_t)(IFXI2C_FCTR_CONTROL | IFXI2C_FCTR_SEQCTR_NAK | (acknr & IFXI2C_FRNR_MASK));
}

int ifxi2c_fctr_is_valid(uint8_t fctr)
{
    unsigned seqctr = ifxi2c_fctr_seqctr(fctr);

    if (fctr & IFXI2C_FCTR_RFU)
        return 0;
    if (!ifxi2c_fctr_is_control(fctr))
        return seqctr == IFXI2C_FCTR_SEQCTR_ACK || seqctr == IFXI2C_FCTR_SEQCTR_NAK;

    /* Control frames carry no frame number, and a re-sync also has ACKNR 0. */
    if (ifxi2c_fctr_frnr(fctr) != 0)
        return 0;
    if (seqctr == IFXI2C_FCTR_SEQCTR_SYNC)
        return ifxi2c_fctr_acknr(fctr) == 0;
    return seqctr == IFXI2C_FCTR_SEQCTR_ACK || seqctr == IFXI2C_FCTR_SEQCTR_NAK;
}

size_t ifxi2c_frame_encode(uint8_t fctr, const uint8_t *packet, size_t packet_len,
                           uint8_t *out, size_t cap)
{
    size_t total = packet_len + TRUSTX_FRAME_OVERHEAD;
    uint16_t fcs;

    if (packet_len > TRUSTX_FRAME_MAX - TRUSTX_FRAME_OVERHEAD || cap < total)
        return 0;

    out[0] = fctr;
    out[1] = (uint8_t)(packet_len >> 8);
    out[2] = (uint8_t)packet_len;
    if (packet_len > 0)
        memcpy(out + FRAME_HEADER_LEN, packet, packet_len);

    fcs = trustx_crc16(out, FRAME_HEADER_LEN + packet_len);
    out[FRAME_HEADER_LEN + packet_len] = (uint8_t)(fcs >> 8);
    out[FRAME_HEADER_LEN + packet_len + 1] = (uint8_t)fcs;
    return total;
}

void ifxi2c_frame_decoder_init(ifxi2c_frame_decoder *d, size_t frame_size)
{
    if (frame_size < IFXI2C_FRAME_MIN)
        frame_size = IFXI2C_FRAME_MIN;
    if (frame_size > TRUSTX_FRAME_MAX)
        frame_size = TRUSTX_FRAME_MAX;

    d->max_packet = frame_size - TRUSTX_FRAME_OVERHEAD;
    d->used = 0;
    d->total = 0;
    d->status = IFXI2C_FRAME_INCOMPLETE;
    d->error = IFXI2C_FRAME_OK;
}

static void reject(ifxi2c_frame_decoder *d, ifxi2c_frame_error err)
{
    d->status = IFXI2C_FRAME_INVALID;
    d->error = err;
}

/* Checks LEN against the frame type and the frame size once the header is complete. */
static void check_header(ifxi2c_frame_decoder *d)
{
    size_t packet_len = ((size_t)d->buf[1] << 8) | d->buf[2];
    int control = ifxi2c_fctr_is_control(d->buf[0]);

    if ((control && packet_len != 0) || (!control && packet_len == 0) ||
        packet_len > d->max_packet) {
        reject(d, IFXI2C_FRAME_BAD_LENGTH);
        return;
    }
    d->total = packet_len + TRUSTX_FRAME_OVERHEAD;
}

static void check_fcs(ifxi2c_frame_decoder *d)
{
    size_t covered = d->total - FRAME_FCS_LEN;
    uint16_t expected = trustx_crc16(d->buf, covered);
    uint16_t received = (uint16_t)((d->buf[covered] << 8) | d->buf[covered + 1]);

    if (expected != received) {
        reject(d, IFXI2C_FRAME_BAD_FCS);
        return;
    }
    d->status = IFXI2C_FRAME_VALID;
}

/* Runs the check that belongs to the byte count just reached. */
static void check_progress(ifxi2c_frame_decoder *d)
{
    if (d->used == 1 && !ifxi2c_fctr_is_valid(d->buf[0]))
        reject(d, IFXI2C_FRAME_BAD_FCTR);
    else if (d->used == FRAME_HEADER_LEN)
        check_header(d);
    else if (d->total != 0 && d->used == d->total)
        check_fcs(d);
}

/* Returns the byte count at which the next check runs. */
static size_t next_boundary(const ifxi2c_frame_decoder *d)
{
    if (d->used < 1)
        return 1;
    if (d->used < FRAME_HEADER_LEN)
        return FRAME_HEADER_LEN;
    return d->total;
}

size_t ifxi2c_frame_decoder_feed(ifxi2c_frame_decoder *d, const uint8_t *data, size_t len)
{
    size_t consumed = 0;

    while (consumed < len && d->status == IFXI2C_FRAME_INCOMPLETE) {
        size_t take = next_boundary(d) - d->used;

        if (take > len - consumed)
            take = len - consumed;
        memcpy(d->buf + d->used, data + consumed, take);
        d->used += take;
        consumed += take;
        check_progress(d);
    }
    return consumed;
}

ifxi2c_frame_error ifxi2c_frame_decode(ifxi2c_frame_decoder *d, size_t frame_size,
                                       const uint8_t *buf, size_t len)
{
    size_t consumed;

    ifxi2c_frame_decoder_init(d, frame_size);
    consumed = ifxi2c_frame_decoder_feed(d, buf, len);

    if (d->status == IFXI2C_FRAME_INCOMPLETE ||
        (d->status == IFXI2C_FRAME_VALID && consumed != len))
        reject(d, IFXI2C_FRAME_BAD_LENGTH);
    return d->error;
}

uint8_t ifxi2c_frame_fctr(const ifxi2c_frame_decoder *d)
{
    return d->buf[0];
}

const uint8_t *ifxi2c_frame_packet(const ifxi2c_frame_decoder *d, size_t *len)
{
    *len = d->total - TRUSTX_FRAME_OVERHEAD;
    return d->buf + FRAME_HEADER_LEN;
}

const char *ifxi2c_frame_error_name(ifxi2c_frame_error err)
{
    switch (err) {
    case IFXI2C_FRAME_OK: return "valid";
    case IFXI2C_FRAME_BAD_FCTR: return "undefined FCTR value";
    case IFXI2C_FRAME_BAD_LENGTH: return "bad length";
    case IFXI2C_FRAME_BAD_FCS: return "bad FCS";
    }
    return "unknown frame error";
}
