/* SPDX-License-Identifier: MIT */
/*
 * Internal: data link layer of the IFX I2C protocol with window size 1.
 * Sends one data frame at a time and waits for its acknowledgement (a
 * control ACK or a chip data frame that carries it), receives chip data
 * frames and acknowledges each with a control ACK, rejects corrupted frames
 * with a NAK, retransmits and re-synchronises within fixed bounds.
 *
 * Polling schedule, all times on the transport clock:
 *   - acknowledgement: the first I2C_STATE poll follows the frame write after
 *     the guard time only, then one poll every IFXI2C_ACK_POLL_US; the last
 *     poll is at IFXI2C_ACK_TIMEOUT_US after the write, then the frame is
 *     sent again;
 *   - response: the first poll is at the time the caller names (the write of
 *     the command plus the chip's execution time); a poll that finds nothing
 *     is followed by a wait of 1/IFXI2C_POLL_BACKOFF_DIV of the time the
 *     response is overdue, kept within IFXI2C_POLL_MIN_US..IFXI2C_POLL_MAX_US.
 */
#ifndef TRUSTX_IFXI2C_DATALINK_H
#define TRUSTX_IFXI2C_DATALINK_H

#include <stddef.h>
#include <stdint.h>

#include "ifxi2c/frame.h"
#include "ifxi2c/phy.h"

/* TRANS_TIMEOUT: the chip makes the ACK of a data frame readable within 10 ms. */
#define IFXI2C_ACK_TIMEOUT_US    10000u

/* Interval between I2C_STATE polls while an ACK is awaited. */
#define IFXI2C_ACK_POLL_US       250u

/* Bounds of the interval between polls while a response is awaited. */
#define IFXI2C_POLL_MIN_US       250u
#define IFXI2C_POLL_MAX_US       5000u
#define IFXI2C_POLL_BACKOFF_DIV  8u

/* TRANS_REPEAT: retransmissions of one frame before a re-sync. */
#define IFXI2C_RETRANSMIT_MAX    3u

/* Re-syncs (each followed by a new round of retransmissions) before giving up. */
#define IFXI2C_RESYNC_MAX        2u

/* How the chip acknowledged a data frame. */
typedef enum ifxi2c_dl_reply {
    IFXI2C_DL_ACKED = 0,   /* control ACK; nothing else received */
    IFXI2C_DL_DATA         /* a chip data frame carried the ACK; its packet is available */
} ifxi2c_dl_reply;

typedef struct ifxi2c_dl {
    ifxi2c_phy *phy;                    /* borrowed */
    trustx_ifxi2c_stats *stats;         /* borrowed */
    unsigned tx_frnr;                   /* number of the host's last data frame */
    unsigned rx_frnr;                   /* number of the chip's last accepted data frame */
    uint64_t started_us;                /* start of the current exchange */
    uint64_t deadline_us;               /* the exchange fails after this time */
    uint64_t sent_us;                   /* end of the last data frame write */
    unsigned retransmissions;           /* in the current exchange */
    unsigned resyncs;                   /* in the current exchange */
    unsigned rejected;                  /* corrupted frames in the current exchange */
    size_t tx_len;
    size_t rx_len;
    uint8_t tx_packet[TRUSTX_FRAME_MAX];  /* packet of the last data frame, for retransmission */
    uint8_t rx_packet[TRUSTX_FRAME_MAX];  /* packet of the last accepted chip data frame */
    ifxi2c_frame_decoder decoder;
} ifxi2c_dl;

/* Binds dl to phy (and its stats), which MUST outlive dl, and resets the counters. */
void ifxi2c_dl_init(ifxi2c_dl *dl, ifxi2c_phy *phy);

/* Sets both frame counters to their start value (after a reset or re-sync). */
void ifxi2c_dl_reset_counters(ifxi2c_dl *dl);

/* Starts an exchange that must finish within timeout_ms; NACK retries stop at its end too. */
void ifxi2c_dl_begin(ifxi2c_dl *dl, uint32_t timeout_ms);

/* Returns the largest packet a frame carries: the negotiated frame size - 5. */
size_t ifxi2c_dl_max_packet(const ifxi2c_dl *dl);

/*
 * Sends packet (1..ifxi2c_dl_max_packet bytes) as the next data frame and
 * waits until the chip acknowledges it, retransmitting on a NAK or after
 * IFXI2C_ACK_TIMEOUT_US, and re-syncing after IFXI2C_RETRANSMIT_MAX
 * retransmissions. On IFXI2C_DL_DATA the chip's data frame has been accepted
 * and acknowledged; read it with ifxi2c_dl_packet(). Fails with
 * TRUSTX_E_TIMEOUT when the bounds or the exchange deadline run out.
 */
trustx_rc ifxi2c_dl_send(ifxi2c_dl *dl, const uint8_t *packet, size_t len,
                         ifxi2c_dl_reply *reply);

/*
 * Waits for the chip's next data frame, first polling at first_poll_us, and
 * acknowledges it. Fails with TRUSTX_E_TIMEOUT at the exchange deadline.
 */
trustx_rc ifxi2c_dl_receive(ifxi2c_dl *dl, uint64_t first_poll_us);

/* Returns the packet of the chip data frame accepted last; valid until the next call. */
const uint8_t *ifxi2c_dl_packet(const ifxi2c_dl *dl, size_t *len);

/* Returns the time the last data frame was written (for the chip's execution time). */
uint64_t ifxi2c_dl_sent_us(const ifxi2c_dl *dl);

/* Sends a re-sync control frame and resets both counters. */
trustx_rc ifxi2c_dl_resync(ifxi2c_dl *dl);

#endif
