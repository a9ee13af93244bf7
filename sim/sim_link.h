/* SPDX-License-Identifier: MIT */
/*
 * Chip side of the IFX I2C data link and network layers: checks the frames
 * the host writes to DATA, numbers and acknowledges them, reassembles
 * chained commands, cuts responses into frames of the negotiated size and
 * decides which frame DATA presents. It does no I/O and reads no clock: the
 * bus model passes the time of every event. Written for the chip's role; it
 * shares only the CRC with the host stack.
 */
#ifndef TRUSTX_SIM_LINK_H
#define TRUSTX_SIM_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "sim_app.h"

#define SIM_LINK_FRAME_MIN 0x0010  /* smallest DATA_REG_LEN the chip stores */
#define SIM_LINK_FRAME_MAX 0x0115  /* largest DATA_REG_LEN of Trust X (277 bytes) */
#define SIM_LINK_OVERHEAD 5        /* FCTR(1) LEN(2) FCS(2) */

/* Largest command or response APDU: header plus the 0xE0C6 comms buffer. */
#define SIM_LINK_APDU_MAX (4 + SIM_APP_MAX_COMMS_BUFFER)

/* What the link made of a frame written to DATA. */
typedef enum sim_link_event {
    SIM_LINK_DROPPED,          /* ignored: a control frame of the wrong size or with FRNR set */
    SIM_LINK_CORRUPT,          /* bad length, FCS or FCTR: a NAK is presented */
    SIM_LINK_CONTROL,          /* a control frame (ACK, NAK or re-sync) was handled */
    SIM_LINK_ACCEPTED,         /* a data frame was accepted or re-acknowledged, no command yet */
    SIM_LINK_COMMAND           /* a whole command APDU is ready: see sim_link_command() */
} sim_link_event;

/* Which frame DATA presents. */
typedef enum sim_link_slot { SIM_LINK_NONE, SIM_LINK_OUT, SIM_LINK_CTRL } sim_link_slot;

typedef struct sim_link {
    uint8_t tx_frnr;           /* number of the chip's last data frame (3 after a reset) */
    uint8_t rx_frnr;           /* number of the host's last accepted data frame */

    uint8_t cmd[SIM_LINK_APDU_MAX]; /* command APDU being reassembled */
    size_t cmd_len;
    int chain_open;            /* a chained command waits for more fragments */

    uint8_t resp[SIM_LINK_APDU_MAX]; /* response APDU of the last command */
    size_t resp_len;
    size_t resp_sent;          /* response bytes in fragments the host acknowledged */
    int resp_pending;          /* fragments are left to send */
    int resp_chain_error;      /* the response is the one-byte chain error packet 07 */
    uint64_t resp_ready_ns;    /* the next fragment may be built from this time on */

    uint8_t out[SIM_LINK_FRAME_MAX]; /* the chip data frame awaiting the host's ACK */
    size_t out_len;
    size_t out_apdu_bytes;     /* response bytes that frame carries */
    int out_valid;
    int out_read;              /* the host read it; presented again after the transmit timeout */
    uint64_t out_read_ns;
    int out_lost;              /* fault injection: the frame is never presented */

    uint8_t ctrl[SIM_LINK_OVERHEAD]; /* a control frame (ACK or NAK) to present */
    int ctrl_valid;
    uint64_t ctrl_ready_ns;

    sim_link_slot announced;   /* the frame I2C_STATE announced, kept until DATA is read */

    uint64_t data_frames;      /* chip data frames built so far */
    uint64_t lose_frame;       /* 1-based number of the chip data frame to lose; 0 = none */
} sim_link;

/* Initializes the link: counters at 3, nothing pending. lose_frame as in sim_link. */
void sim_link_init(sim_link *link, uint64_t lose_frame);

/* Resets counters and drops any pending chain, response and frame (re-sync or chip reset). */
void sim_link_reset(sim_link *link);

/*
 * Processes one frame (without the register byte) that the host wrote to
 * DATA at now_ns; frame_max is the DATA_REG_LEN in force. Returns what
 * happened. After SIM_LINK_COMMAND the caller MUST run the command and
 * hand its response to sim_link_respond() before the next call.
 */
sim_link_event sim_link_receive(sim_link *link, const uint8_t *frame, size_t len,
                                size_t frame_max, uint64_t now_ns);

/* Returns the command APDU that SIM_LINK_COMMAND announced (valid until the next receive). */
const uint8_t *sim_link_command(const sim_link *link, size_t *len);

/*
 * Stores the response APDU (len <= SIM_LINK_APDU_MAX, longer ones are cut)
 * of the command just received; its first frame becomes readable at ready_ns.
 */
void sim_link_respond(sim_link *link, const uint8_t *resp, size_t len, uint64_t ready_ns);

/*
 * Returns the length of the frame DATA presents at now_ns (0 if none) and,
 * when announce is nonzero, keeps that frame selected until DATA is read,
 * as an I2C_STATE read that reported its length must.
 */
size_t sim_link_peek(sim_link *link, uint64_t now_ns, size_t frame_max, int announce);

/*
 * Copies the presented frame into buf (at most cap bytes) and marks it read.
 * Returns the frame length, or 0 when DATA presents nothing.
 */
size_t sim_link_take(sim_link *link, uint64_t now_ns, size_t frame_max, uint8_t *buf, size_t cap);

#endif
