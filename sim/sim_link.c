/* SPDX-License-Identifier: MIT */
/*
 * The chip's data link (frame checks, numbering, ACK/NAK, re-sync, the
 * frame DATA presents) and network layer (chained commands and responses),
 * written from the IFX I2C v1.65 rules as Trust X applies them.
 */
#include "sim_link.h"

#include <string.h>

#include "sim_timing.h"
#include "trustx/ifxi2c.h"

/* FCTR: frame type, sequence control, frame number and acknowledge number. */
#define FCTR_CONTROL 0x80u
#define FCTR_SEQ_MASK 0x60u
#define FCTR_SEQ_ACK 0x00u
#define FCTR_SEQ_NAK 0x20u
#define FCTR_SEQ_RESYNC 0x40u
#define FCTR_SEQ_RFU 0x60u
#define FCTR_RFU 0x10u
#define FCTR_FRNR(fctr) (((fctr) >> 2) & 3u)
#define FCTR_ACKNR(fctr) ((fctr) & 3u)

/* PCTR: channel and presentation bits must be 0 on Trust X; the low 3 bits chain. */
#define PCTR_RESERVED 0xF8u
#define PCTR_CHAIN_MASK 0x07u
#define CHAIN_SINGLE 0x00u
#define CHAIN_FIRST 0x01u
#define CHAIN_MIDDLE 0x02u
#define CHAIN_LAST 0x04u
#define CHAIN_ERROR 0x07u

#define SEQ_START 3u               /* counters after a reset: the first frame is number 0 */
#define NS_PER_US 1000u

static uint8_t next_number(uint8_t number)
{
    return (uint8_t)((number + 1u) & 3u);
}

/* Writes FCTR, LEN, packet and FCS into out; out has room for n + 5 bytes. */
static size_t build_frame(uint8_t *out, uint8_t fctr, const uint8_t *packet, size_t n)
{
    uint16_t fcs;

    out[0] = fctr;
    out[1] = (uint8_t)(n >> 8);
    out[2] = (uint8_t)n;
    if (n > 0)
        memcpy(out + 3, packet, n);

    fcs = trustx_crc16(out, 3 + n);
    out[3 + n] = (uint8_t)(fcs >> 8);
    out[4 + n] = (uint8_t)fcs;
    return n + SIM_LINK_OVERHEAD;
}

static void set_control(sim_link *link, uint8_t seq, uint8_t number, uint64_t now_ns)
{
    build_frame(link->ctrl, (uint8_t)(FCTR_CONTROL | seq | number), NULL, 0);
    link->ctrl_valid = 1;
    link->ctrl_ready_ns = now_ns + (uint64_t)SIM_ACK_DELAY_US * NS_PER_US;
}

static void drop_response(sim_link *link)
{
    link->resp_len = 0;
    link->resp_sent = 0;
    link->resp_pending = 0;
    link->resp_chain_error = 0;
    link->out_valid = 0;
    link->out_lost = 0;
}

void sim_link_init(sim_link *link, uint64_t lose_frame)
{
    memset(link, 0, sizeof(*link));
    link->lose_frame = lose_frame;
    sim_link_reset(link);
}

void sim_link_reset(sim_link *link)
{
    link->tx_frnr = SEQ_START;
    link->rx_frnr = SEQ_START;
    link->chain_open = 0;
    link->cmd_len = 0;
    drop_response(link);
    link->ctrl_valid = 0;
    link->announced = SIM_LINK_NONE;
}

/* The host acknowledged the chip's data frame: the next fragment, if any, is due at once. */
static void acknowledge_out(sim_link *link, uint64_t now_ns)
{
    link->resp_sent += link->out_apdu_bytes;
    link->out_valid = 0;
    link->out_lost = 0;
    if (!link->resp_chain_error && link->resp_sent < link->resp_len) {
        link->resp_pending = 1;
        link->resp_ready_ns = now_ns;
    }
}

static sim_link_event reject_frame(sim_link *link, uint64_t now_ns)
{
    /* NAK with the number of the frame the chip expects: last good + 1. */
    set_control(link, FCTR_SEQ_NAK, next_number(link->rx_frnr), now_ns);
    return SIM_LINK_CORRUPT;
}

static sim_link_event chain_error(sim_link *link, uint64_t now_ns)
{
    link->chain_open = 0;
    link->cmd_len = 0;
    drop_response(link);
    link->resp_chain_error = 1;
    link->resp_pending = 1;
    link->resp_ready_ns = now_ns + (uint64_t)SIM_ACK_DELAY_US * NS_PER_US;
    return SIM_LINK_ACCEPTED;
}

/* Appends a fragment to the command; a command longer than the chip's buffer is a chain error. */
static int append_fragment(sim_link *link, const uint8_t *data, size_t n)
{
    if (n > sizeof(link->cmd) - link->cmd_len)
        return -1;
    memcpy(link->cmd + link->cmd_len, data, n);
    link->cmd_len += n;
    return 0;
}

/*
 * The host reported a chain error in the chip's response: send the whole
 * response again from its first fragment.
 */
static sim_link_event restart_response(sim_link *link, uint64_t now_ns)
{
    if (link->resp_len > 0 && !link->resp_chain_error) {
        link->resp_sent = 0;
        link->out_valid = 0;
        link->resp_pending = 1;
        link->resp_ready_ns = now_ns + (uint64_t)SIM_ACK_DELAY_US * NS_PER_US;
    }
    return SIM_LINK_ACCEPTED;
}

/*
 * Network layer. First and middle fragments must fill a whole packet of the
 * negotiated size, and a last fragment carries at least one APDU byte. A
 * chain may only start when none is open. The chip replies to a violation
 * with the chain error packet 07.
 */
static sim_link_event receive_packet(sim_link *link, const uint8_t *packet, size_t n,
                                     size_t frame_max, uint64_t now_ns)
{
    size_t max_packet = frame_max - SIM_LINK_OVERHEAD;
    uint8_t pctr = packet[0];

    if (pctr & PCTR_RESERVED)
        return chain_error(link, now_ns);

    switch (pctr & PCTR_CHAIN_MASK) {
    case CHAIN_SINGLE:
        if (link->chain_open)
            return chain_error(link, now_ns);
        drop_response(link);
        link->cmd_len = 0;
        if (append_fragment(link, packet + 1, n - 1) != 0)
            return chain_error(link, now_ns);
        return SIM_LINK_COMMAND;
    case CHAIN_FIRST:
        if (link->chain_open || n != max_packet)
            return chain_error(link, now_ns);
        drop_response(link);
        link->cmd_len = 0;
        link->chain_open = 1;
        if (append_fragment(link, packet + 1, n - 1) != 0)
            return chain_error(link, now_ns);
        return SIM_LINK_ACCEPTED;
    case CHAIN_MIDDLE:
        if (!link->chain_open || n != max_packet || append_fragment(link, packet + 1, n - 1) != 0)
            return chain_error(link, now_ns);
        return SIM_LINK_ACCEPTED;
    case CHAIN_LAST:
        if (!link->chain_open || n < 2 || append_fragment(link, packet + 1, n - 1) != 0)
            return chain_error(link, now_ns);
        link->chain_open = 0;
        return SIM_LINK_COMMAND;
    case CHAIN_ERROR:
        return restart_response(link, now_ns);
    default:
        return chain_error(link, now_ns);
    }
}

static sim_link_event receive_data(sim_link *link, const uint8_t *frame, size_t n,
                                   size_t frame_max, uint64_t now_ns)
{
    uint8_t fctr = frame[0];
    uint8_t frnr = (uint8_t)FCTR_FRNR(fctr);

    /* A data frame's ACKNR acknowledges the chip's frame as a control ACK would. */
    if (link->out_valid && (fctr & FCTR_SEQ_MASK) == FCTR_SEQ_ACK &&
        FCTR_ACKNR(fctr) == FCTR_FRNR(link->out[0]))
        acknowledge_out(link, now_ns);

    /*
     * A repeated (or unexpected) number is acknowledged again but never
     * executed twice. A response not yet acknowledged is presented again,
     * because it carries that acknowledgement too.
     */
    if (frnr != next_number(link->rx_frnr)) {
        if (link->out_valid && !link->out_lost)
            link->out_read = 0;
        else
            set_control(link, FCTR_SEQ_ACK, link->rx_frnr, now_ns);
        return SIM_LINK_ACCEPTED;
    }

    link->rx_frnr = frnr;
    set_control(link, FCTR_SEQ_ACK, frnr, now_ns);
    return receive_packet(link, frame + 3, n, frame_max, now_ns);
}

static sim_link_event receive_control(sim_link *link, uint8_t fctr, size_t n, uint64_t now_ns)
{
    int matches_out = link->out_valid && FCTR_ACKNR(fctr) == FCTR_FRNR(link->out[0]);

    if (n != 0 || FCTR_FRNR(fctr) != 0)
        return SIM_LINK_DROPPED;

    switch (fctr & FCTR_SEQ_MASK) {
    case FCTR_SEQ_RESYNC:
        sim_link_reset(link);
        break;
    case FCTR_SEQ_ACK:
        if (matches_out)
            acknowledge_out(link, now_ns);
        break;
    case FCTR_SEQ_NAK:
        if (matches_out)
            link->out_read = 0;
        break;
    default:
        break;
    }
    return SIM_LINK_CONTROL;
}

sim_link_event sim_link_receive(sim_link *link, const uint8_t *frame, size_t len,
                                size_t frame_max, uint64_t now_ns)
{
    size_t n;
    uint16_t fcs;
    uint8_t fctr;

    link->announced = SIM_LINK_NONE;

    if (len < SIM_LINK_OVERHEAD || len > frame_max)
        return reject_frame(link, now_ns);
    n = ((size_t)frame[1] << 8) | frame[2];
    if (n != len - SIM_LINK_OVERHEAD)
        return reject_frame(link, now_ns);
    fcs = trustx_crc16(frame, 3 + n);
    if (frame[3 + n] != (uint8_t)(fcs >> 8) || frame[4 + n] != (uint8_t)fcs)
        return reject_frame(link, now_ns);

    fctr = frame[0];
    if ((fctr & FCTR_RFU) || (fctr & FCTR_SEQ_MASK) == FCTR_SEQ_RFU)
        return reject_frame(link, now_ns);
    if (fctr & FCTR_CONTROL)
        return receive_control(link, fctr, n, now_ns);
    if ((fctr & FCTR_SEQ_MASK) == FCTR_SEQ_RESYNC || n == 0)
        return reject_frame(link, now_ns);
    return receive_data(link, frame, n, frame_max, now_ns);
}

const uint8_t *sim_link_command(const sim_link *link, size_t *len)
{
    *len = link->cmd_len;
    return link->cmd;
}

void sim_link_respond(sim_link *link, const uint8_t *resp, size_t len, uint64_t ready_ns)
{
    if (len > sizeof(link->resp))
        len = sizeof(link->resp);
    memcpy(link->resp, resp, len);
    link->resp_len = len;
    link->resp_sent = 0;
    link->resp_chain_error = 0;
    link->resp_pending = 1;
    link->resp_ready_ns = ready_ns;
}

/* Cuts the next fragment of the response at the frame size in force and numbers it. */
static void build_fragment(sim_link *link, size_t frame_max)
{
    uint8_t packet[SIM_LINK_FRAME_MAX];
    size_t max_data = frame_max - SIM_LINK_OVERHEAD - 1;
    size_t remaining = link->resp_len - link->resp_sent;
    size_t n = remaining;
    uint8_t pctr;

    if (link->resp_chain_error) {
        pctr = CHAIN_ERROR;
        n = 0;
    } else if (link->resp_sent == 0 && remaining <= max_data) {
        pctr = CHAIN_SINGLE;
    } else if (link->resp_sent == 0) {
        pctr = CHAIN_FIRST;
        n = max_data;
    } else if (remaining > max_data) {
        pctr = CHAIN_MIDDLE;
        n = max_data;
    } else {
        pctr = CHAIN_LAST;
    }

    packet[0] = pctr;
    if (n > 0)
        memcpy(packet + 1, link->resp + link->resp_sent, n);

    /* Every chip data frame carries ACKNR = the host's last frame number. */
    link->tx_frnr = next_number(link->tx_frnr);
    link->out_len = build_frame(link->out, (uint8_t)((link->tx_frnr << 2) | link->rx_frnr),
                                packet, n + 1);
    link->out_apdu_bytes = n;
    link->out_valid = 1;
    link->out_read = 0;
    link->resp_pending = 0;

    link->data_frames++;
    link->out_lost = link->lose_frame != 0 && link->data_frames == link->lose_frame;
    if (!link->out_lost)
        link->ctrl_valid = 0;   /* the data frame carries the acknowledgement instead */
}

static int out_presentable(const sim_link *link, uint64_t now_ns)
{
    if (!link->out_valid || link->out_lost)
        return 0;
    return !link->out_read ||
           now_ns >= link->out_read_ns + (uint64_t)SIM_TRANS_TIMEOUT_US * NS_PER_US;
}

static sim_link_slot select_frame(sim_link *link, uint64_t now_ns, size_t frame_max)
{
    if (link->announced == SIM_LINK_OUT && link->out_valid && !link->out_lost)
        return SIM_LINK_OUT;
    if (link->announced == SIM_LINK_CTRL && link->ctrl_valid)
        return SIM_LINK_CTRL;
    link->announced = SIM_LINK_NONE;

    if (link->resp_pending && !link->out_valid && now_ns >= link->resp_ready_ns)
        build_fragment(link, frame_max);

    if (out_presentable(link, now_ns))
        return SIM_LINK_OUT;
    if (link->ctrl_valid && now_ns >= link->ctrl_ready_ns)
        return SIM_LINK_CTRL;
    return SIM_LINK_NONE;
}

size_t sim_link_peek(sim_link *link, uint64_t now_ns, size_t frame_max, int announce)
{
    sim_link_slot slot = select_frame(link, now_ns, frame_max);

    if (announce)
        link->announced = slot;
    if (slot == SIM_LINK_OUT)
        return link->out_len;
    if (slot == SIM_LINK_CTRL)
        return SIM_LINK_OVERHEAD;
    return 0;
}

size_t sim_link_take(sim_link *link, uint64_t now_ns, size_t frame_max, uint8_t *buf, size_t cap)
{
    sim_link_slot slot = select_frame(link, now_ns, frame_max);
    const uint8_t *frame = NULL;
    size_t len = 0;

    if (slot == SIM_LINK_OUT) {
        frame = link->out;
        len = link->out_len;
        link->out_read = 1;
        link->out_read_ns = now_ns;
    } else if (slot == SIM_LINK_CTRL) {
        frame = link->ctrl;
        len = SIM_LINK_OVERHEAD;
        link->ctrl_valid = 0;
    }
    link->announced = SIM_LINK_NONE;

    if (frame != NULL)
        memcpy(buf, frame, len < cap ? len : cap);
    return len;
}
