/* SPDX-License-Identifier: MIT */
/*
 * Data link layer: frame numbering, acknowledgement, NAK of corrupted
 * frames, retransmission and re-sync, and the polling schedule described in
 * datalink.h. Received frames are checked in the order the Trust X host
 * library uses, so that a chip written for it behaves the same here.
 */
#include "ifxi2c/datalink.h"

#include <string.h>

#include "trustx/log.h"

#define LOG_COMPONENT "ifxi2c"

/* What one received frame means for the exchange. */
typedef enum frame_event {
    EVENT_NONE = 0,     /* nothing for the caller: keep polling */
    EVENT_ACK,          /* control ACK of the host's last data frame */
    EVENT_RETRANSMIT,   /* NAK of the host's frame or a corrupted ACK: send it again */
    EVENT_DATA          /* a new chip data frame, accepted and acknowledged */
} frame_event;

void ifxi2c_dl_init(ifxi2c_dl *dl, ifxi2c_phy *phy)
{
    memset(dl, 0, sizeof(*dl));
    dl->phy = phy;
    dl->stats = phy->stats;
    ifxi2c_dl_reset_counters(dl);
}

void ifxi2c_dl_reset_counters(ifxi2c_dl *dl)
{
    dl->tx_frnr = IFXI2C_FRNR_INITIAL;
    dl->rx_frnr = IFXI2C_FRNR_INITIAL;
}

void ifxi2c_dl_begin(ifxi2c_dl *dl, uint32_t timeout_ms)
{
    dl->started_us = ifxi2c_phy_now(dl->phy);
    dl->deadline_us = dl->started_us + (uint64_t)timeout_ms * 1000u;
    dl->phy->deadline_us = dl->deadline_us;
    dl->retransmissions = 0;
    dl->resyncs = 0;
    dl->rejected = 0;
}

size_t ifxi2c_dl_max_packet(const ifxi2c_dl *dl)
{
    return dl->phy->frame_size - TRUSTX_FRAME_OVERHEAD;
}

const uint8_t *ifxi2c_dl_packet(const ifxi2c_dl *dl, size_t *len)
{
    *len = dl->rx_len;
    return dl->rx_packet;
}

uint64_t ifxi2c_dl_sent_us(const ifxi2c_dl *dl)
{
    return dl->sent_us;
}

static unsigned elapsed_ms(ifxi2c_dl *dl)
{
    return (unsigned)((ifxi2c_phy_now(dl->phy) - dl->started_us) / 1000u);
}

static trustx_rc send_control(ifxi2c_dl *dl, uint8_t fctr)
{
    uint8_t frame[TRUSTX_FRAME_OVERHEAD];
    size_t len = ifxi2c_frame_encode(fctr, NULL, 0, frame, sizeof(frame));

    return ifxi2c_phy_write_reg(dl->phy, TRUSTX_REG_DATA, frame, len);
}

static trustx_rc send_ack(ifxi2c_dl *dl)
{
    dl->stats->acks_sent++;
    return send_control(dl, ifxi2c_fctr_ack(dl->rx_frnr));
}

/* A NAK names the frame the host expects next: the last good one + 1. */
static trustx_rc send_nak(ifxi2c_dl *dl)
{
    dl->stats->naks_sent++;
    return send_control(dl, ifxi2c_fctr_nak(dl->rx_frnr + 1));
}

trustx_rc ifxi2c_dl_resync(ifxi2c_dl *dl)
{
    trustx_rc rc;

    dl->stats->resyncs++;
    trustx_log(TRUSTX_LOG_DEBUG, LOG_COMPONENT, "sending re-sync, frame counters reset");
    rc = send_control(dl, IFXI2C_FCTR_RESYNC);
    ifxi2c_dl_reset_counters(dl);
    return rc;
}

/* Writes the current data frame; its ACKNR acknowledges the chip's last accepted frame. */
static trustx_rc write_data_frame(ifxi2c_dl *dl)
{
    uint8_t frame[TRUSTX_FRAME_MAX];
    uint8_t fctr = ifxi2c_fctr_data(dl->tx_frnr, dl->rx_frnr);
    size_t len = ifxi2c_frame_encode(fctr, dl->tx_packet, dl->tx_len, frame, sizeof(frame));
    trustx_rc rc = ifxi2c_phy_write_reg(dl->phy, TRUSTX_REG_DATA, frame, len);

    dl->sent_us = ifxi2c_phy_now(dl->phy);
    return rc;
}

/* Reads I2C_STATE and, when a frame is announced, the frame itself into the decoder. */
static trustx_rc poll_frame(ifxi2c_dl *dl, int *got_frame, size_t *frame_len)
{
    uint8_t raw[TRUSTX_FRAME_MAX];
    ifxi2c_state state;
    trustx_rc rc = ifxi2c_phy_read_state(dl->phy, &state);

    *got_frame = 0;
    if (rc != TRUSTX_OK)
        return rc;
    if (!ifxi2c_phy_frame_ready(dl->phy, &state)) {
        dl->stats->empty_polls++;
        return TRUSTX_OK;
    }

    rc = ifxi2c_phy_read_reg(dl->phy, TRUSTX_REG_DATA, raw, state.length);
    if (rc != TRUSTX_OK)
        return rc;
    dl->stats->data_reads++;
    ifxi2c_frame_decode(&dl->decoder, dl->phy->frame_size, raw, state.length);
    *got_frame = 1;
    *frame_len = state.length;
    return TRUSTX_OK;
}

/*
 * A corrupted frame of control-frame size while an ACK is awaited is taken as
 * a damaged ACK, so the host's frame goes again. Anything longer was a data
 * frame and is NAKed so that the chip sends it again.
 */
static trustx_rc on_corrupt(ifxi2c_dl *dl, int awaiting_ack, size_t frame_len,
                            frame_event *event)
{
    dl->stats->frames_corrupt++;
    dl->rejected++;
    trustx_log(TRUSTX_LOG_DEBUG, LOG_COMPONENT, "rejected a %zu-byte frame: %s", frame_len,
               ifxi2c_frame_error_name(dl->decoder.error));

    if (frame_len == TRUSTX_FRAME_OVERHEAD) {
        if (awaiting_ack)
            *event = EVENT_RETRANSMIT;
        return TRUSTX_OK;
    }
    return send_nak(dl);
}

/*
 * Control frames: while only data is awaited every control frame but a
 * re-sync is dropped, and while an ACK is awaited a re-sync is dropped. ACK
 * and NAK count only when they name the host's last frame.
 */
static void on_control(ifxi2c_dl *dl, uint8_t fctr, int awaiting_ack, frame_event *event)
{
    unsigned seqctr = ifxi2c_fctr_seqctr(fctr);

    if (seqctr == IFXI2C_FCTR_SEQCTR_SYNC) {
        if (!awaiting_ack)
            ifxi2c_dl_reset_counters(dl);
        else
            dl->stats->frames_dropped++;
        return;
    }
    if (!awaiting_ack || ifxi2c_fctr_acknr(fctr) != dl->tx_frnr) {
        dl->stats->frames_dropped++;
        return;
    }
    *event = seqctr == IFXI2C_FCTR_SEQCTR_NAK ? EVENT_RETRANSMIT : EVENT_ACK;
}

static void accept_data(ifxi2c_dl *dl, uint8_t fctr)
{
    const uint8_t *packet = ifxi2c_frame_packet(&dl->decoder, &dl->rx_len);

    memcpy(dl->rx_packet, packet, dl->rx_len);
    dl->rx_frnr = ifxi2c_fctr_frnr(fctr);
    dl->stats->frames_received++;
}

/*
 * Data frames: an unexpected number (such as the chip repeating a frame whose
 * ACK it lost) gets the ACK of the last good frame again and is not
 * delivered. A frame that does not acknowledge the host's last frame is
 * dropped without a reply, and a piggy-backed NAK asks for the host's frame.
 */
static trustx_rc on_data(ifxi2c_dl *dl, uint8_t fctr, frame_event *event)
{
    if (ifxi2c_fctr_frnr(fctr) != ((dl->rx_frnr + 1) & IFXI2C_FRNR_MASK)) {
        dl->stats->frames_repeated++;
        return send_ack(dl);
    }
    if (ifxi2c_fctr_acknr(fctr) != dl->tx_frnr) {
        dl->stats->frames_dropped++;
        return TRUSTX_OK;
    }
    if (ifxi2c_fctr_seqctr(fctr) == IFXI2C_FCTR_SEQCTR_NAK) {
        *event = EVENT_RETRANSMIT;
        return TRUSTX_OK;
    }

    accept_data(dl, fctr);
    *event = EVENT_DATA;
    return send_ack(dl);
}

/* Polls once and classifies what was read. */
static trustx_rc poll_event(ifxi2c_dl *dl, int awaiting_ack, frame_event *event)
{
    int got_frame = 0;
    size_t frame_len = 0;
    uint8_t fctr;
    trustx_rc rc = poll_frame(dl, &got_frame, &frame_len);

    *event = EVENT_NONE;
    if (rc != TRUSTX_OK || !got_frame)
        return rc;
    if (dl->decoder.status != IFXI2C_FRAME_VALID)
        return on_corrupt(dl, awaiting_ack, frame_len, event);

    fctr = ifxi2c_frame_fctr(&dl->decoder);
    if (ifxi2c_fctr_is_control(fctr)) {
        on_control(dl, fctr, awaiting_ack, event);
        return TRUSTX_OK;
    }
    return on_data(dl, fctr, event);
}

static trustx_rc fail_no_ack(ifxi2c_dl *dl)
{
    return trustx_fail(TRUSTX_LAYER_DATALINK, TRUSTX_E_TIMEOUT,
                       "data link layer: no valid acknowledgement from the chip after %u "
                       "retransmissions and %u re-syncs (%u corrupted frames rejected); gave "
                       "up after %u ms; check the bus at a lower speed or power-cycle the chip",
                       dl->retransmissions, dl->resyncs, dl->rejected, elapsed_ms(dl));
}

static trustx_rc fail_no_response(ifxi2c_dl *dl)
{
    return trustx_fail(TRUSTX_LAYER_DATALINK, TRUSTX_E_TIMEOUT,
                       "data link layer: no valid response from the chip within %u ms "
                       "(%u retransmissions, %u re-syncs, %u corrupted frames rejected); "
                       "reset the chip or raise the response timeout",
                       elapsed_ms(dl), dl->retransmissions, dl->resyncs, dl->rejected);
}

/*
 * Polls for the ACK of the frame written at dl->sent_us until
 * IFXI2C_ACK_TIMEOUT_US has passed. *event stays EVENT_NONE when no ACK came.
 */
static trustx_rc await_ack(ifxi2c_dl *dl, frame_event *event)
{
    uint64_t ack_deadline = dl->sent_us + IFXI2C_ACK_TIMEOUT_US;
    uint64_t next_poll = dl->sent_us;

    for (;;) {
        trustx_rc rc;
        uint64_t now;

        ifxi2c_phy_sleep_until(dl->phy, next_poll, &dl->stats->sleep_us);
        rc = poll_event(dl, 1, event);
        if (rc != TRUSTX_OK || *event != EVENT_NONE)
            return rc;

        now = ifxi2c_phy_now(dl->phy);
        if (now >= ack_deadline || now >= dl->deadline_us)
            return TRUSTX_OK;
        next_poll = now + IFXI2C_ACK_POLL_US;
        if (next_poll > ack_deadline)
            next_poll = ack_deadline;
    }
}

/*
 * Prepares the next try of the current frame: a plain retransmission, or a
 * re-sync once IFXI2C_RETRANSMIT_MAX retransmissions have failed (the frame
 * is then numbered anew). Fails when both bounds or the deadline are spent.
 */
static trustx_rc prepare_retry(ifxi2c_dl *dl, unsigned *round_retransmissions)
{
    trustx_rc rc;

    if (ifxi2c_phy_now(dl->phy) >= dl->deadline_us)
        return fail_no_ack(dl);

    if (*round_retransmissions < IFXI2C_RETRANSMIT_MAX) {
        (*round_retransmissions)++;
        dl->retransmissions++;
        dl->stats->frames_resent++;
        trustx_log(TRUSTX_LOG_DEBUG, LOG_COMPONENT, "retransmitting data frame %u",
                   dl->tx_frnr);
        return TRUSTX_OK;
    }
    if (dl->resyncs == IFXI2C_RESYNC_MAX)
        return fail_no_ack(dl);

    dl->resyncs++;
    rc = ifxi2c_dl_resync(dl);
    dl->tx_frnr = (dl->tx_frnr + 1) & IFXI2C_FRNR_MASK;
    *round_retransmissions = 0;
    dl->stats->frames_resent++;
    return rc;
}

/*
 * Writes the current frame until it is acknowledged or the bounds run out.
 * *round counts the retransmissions since the last re-sync.
 */
static trustx_rc deliver(ifxi2c_dl *dl, unsigned *round, ifxi2c_dl_reply *reply)
{
    for (;;) {
        frame_event event = EVENT_NONE;
        trustx_rc rc = write_data_frame(dl);

        if (rc == TRUSTX_OK)
            rc = await_ack(dl, &event);
        if (rc != TRUSTX_OK)
            return rc;

        if (event == EVENT_ACK || event == EVENT_DATA) {
            *reply = event == EVENT_DATA ? IFXI2C_DL_DATA : IFXI2C_DL_ACKED;
            return TRUSTX_OK;
        }

        rc = prepare_retry(dl, round);
        if (rc != TRUSTX_OK)
            return rc;
    }
}

trustx_rc ifxi2c_dl_send(ifxi2c_dl *dl, const uint8_t *packet, size_t len,
                         ifxi2c_dl_reply *reply)
{
    unsigned round = 0;

    if (len == 0 || len > ifxi2c_dl_max_packet(dl))
        return trustx_fail(TRUSTX_LAYER_DATALINK, TRUSTX_E_INVALID_ARG,
                           "data link layer: packet of %zu bytes does not fit a frame of %u "
                           "bytes", len, dl->phy->frame_size);

    memcpy(dl->tx_packet, packet, len);
    dl->tx_len = len;
    dl->tx_frnr = (dl->tx_frnr + 1) & IFXI2C_FRNR_MASK;
    dl->stats->frames_sent++;
    return deliver(dl, &round, reply);
}

/* Returns the wait before the next response poll: a share of the time it is overdue. */
static uint64_t response_poll_interval(uint64_t now, uint64_t expected)
{
    uint64_t interval = now > expected ? (now - expected) / IFXI2C_POLL_BACKOFF_DIV : 0;

    if (interval < IFXI2C_POLL_MIN_US)
        return IFXI2C_POLL_MIN_US;
    if (interval > IFXI2C_POLL_MAX_US)
        return IFXI2C_POLL_MAX_US;
    return interval;
}

trustx_rc ifxi2c_dl_receive(ifxi2c_dl *dl, uint64_t first_poll_us)
{
    uint64_t next_poll = first_poll_us;
    unsigned round = 0;

    for (;;) {
        frame_event event = EVENT_NONE;
        ifxi2c_dl_reply reply;
        uint64_t now;
        trustx_rc rc;

        if (next_poll > dl->deadline_us)
            next_poll = dl->deadline_us;
        ifxi2c_phy_sleep_until(dl->phy, next_poll, &dl->stats->sleep_us);
        rc = poll_event(dl, 0, &event);
        if (rc != TRUSTX_OK || event == EVENT_DATA)
            return rc;

        /* A piggy-backed NAK of the host's frame: send it again, which may bring the data. */
        if (event == EVENT_RETRANSMIT) {
            rc = prepare_retry(dl, &round);
            if (rc == TRUSTX_OK)
                rc = deliver(dl, &round, &reply);
            if (rc != TRUSTX_OK || reply == IFXI2C_DL_DATA)
                return rc;
        }

        now = ifxi2c_phy_now(dl->phy);
        if (now >= dl->deadline_us)
            return fail_no_response(dl);
        next_poll = now + response_poll_interval(now, first_poll_us);
    }
}
