/* SPDX-License-Identifier: MIT */
/*
 * Network layer: splits a command APDU into packets, reassembles the
 * response chain into the caller's buffer with a bound check on every
 * fragment, and handles chain errors in both directions.
 */
#include "ifxi2c/network.h"

#include <string.h>

#include "trustx/log.h"

#define LOG_COMPONENT "ifxi2c"

/* Response being reassembled. */
typedef struct reassembly {
    uint8_t *out;
    size_t cap;
    size_t total;          /* APDU bytes received, counted past cap too */
    unsigned fragments;
    int open;              /* a chain is in progress */
} reassembly;

static int is_chain_error(const uint8_t *packet)
{
    return packet[0] == IFXI2C_CHAIN_ERROR;
}

static trustx_rc send_packet(ifxi2c_dl *dl, uint8_t pctr, const uint8_t *data, size_t len,
                             ifxi2c_dl_reply *reply)
{
    uint8_t packet[TRUSTX_FRAME_MAX];

    packet[0] = pctr;
    memcpy(packet + 1, data, len);
    return ifxi2c_dl_send(dl, packet, len + 1, reply);
}

/* Before the last fragment the chip may send only a control ACK or a chain error packet. */
static trustx_rc on_early_data(ifxi2c_dl *dl, size_t apdu_len, int *chain_error)
{
    size_t len;
    const uint8_t *packet = ifxi2c_dl_packet(dl, &len);

    if (is_chain_error(packet)) {
        *chain_error = 1;
        return TRUSTX_OK;
    }
    return trustx_fail(TRUSTX_LAYER_NETWORK, TRUSTX_E_PROTOCOL,
                       "network layer: chip sent data (packet control 0x%02X, %zu bytes) before "
                       "the last fragment of a %zu-byte command; expected only an "
                       "acknowledgement", packet[0], len, apdu_len);
}

/*
 * Sends apdu as one packet or as a chain whose first and intermediate
 * packets fill a frame exactly. *have_data is set when the chip's reply to
 * the last packet already carried response data.
 */
static trustx_rc send_command(ifxi2c_dl *dl, const uint8_t *apdu, size_t len, int *chain_error,
                              int *have_data)
{
    size_t chunk = ifxi2c_dl_max_packet(dl) - 1;
    uint8_t pctr = len > chunk ? IFXI2C_CHAIN_FIRST : IFXI2C_CHAIN_SINGLE;
    size_t offset = 0;
    ifxi2c_dl_reply reply;
    trustx_rc rc;

    while (len - offset > chunk) {
        rc = send_packet(dl, pctr, apdu + offset, chunk, &reply);
        if (rc != TRUSTX_OK)
            return rc;
        if (reply == IFXI2C_DL_DATA)
            return on_early_data(dl, len, chain_error);
        offset += chunk;
        pctr = IFXI2C_CHAIN_MIDDLE;
    }

    if (pctr != IFXI2C_CHAIN_SINGLE)
        pctr = IFXI2C_CHAIN_LAST;
    rc = send_packet(dl, pctr, apdu + offset, len - offset, &reply);
    *have_data = rc == TRUSTX_OK && reply == IFXI2C_DL_DATA;
    return rc;
}

/* Returns NULL when packet may come next in r, else the reason it may not. */
static const char *check_fragment(const ifxi2c_dl *dl, const reassembly *r,
                                  const uint8_t *packet, size_t len)
{
    size_t max_packet = ifxi2c_dl_max_packet(dl);
    unsigned max_fragments = (unsigned)(IFXI2C_APDU_LEN_MAX / (max_packet - 1) + 1);
    unsigned chain = packet[0] & IFXI2C_PCTR_CHAIN_MASK;
    int continues = chain == IFXI2C_CHAIN_MIDDLE || chain == IFXI2C_CHAIN_LAST;

    if ((packet[0] & ~IFXI2C_PCTR_CHAIN_MASK) != 0)
        return "channel or presentation bits set";
    if (chain != IFXI2C_CHAIN_SINGLE && chain != IFXI2C_CHAIN_FIRST && !continues)
        return "undefined chain value";
    if (continues != r->open)
        return r->open ? "new packet while a chain was open" : "chain continued without a start";
    if ((chain == IFXI2C_CHAIN_FIRST || chain == IFXI2C_CHAIN_MIDDLE) && len != max_packet)
        return "first or intermediate packet shorter than a full frame";
    if (len < 2)
        return "packet without data";
    if (r->fragments >= max_fragments)
        return "chain longer than the largest APDU";
    return NULL;
}

/* Stores what fits of a checked fragment and notes whether the chain is complete. */
static void add_fragment(reassembly *r, const uint8_t *packet, size_t len, int *done)
{
    unsigned chain = packet[0] & IFXI2C_PCTR_CHAIN_MASK;
    size_t data_len = len - 1;

    if (r->total < r->cap) {
        size_t room = r->cap - r->total;

        memcpy(r->out + r->total, packet + 1, data_len < room ? data_len : room);
    }
    r->total += data_len;
    r->fragments++;
    r->open = chain == IFXI2C_CHAIN_FIRST || chain == IFXI2C_CHAIN_MIDDLE;
    *done = !r->open;
}

/* Replies to a malformed response chain with one chain error packet, then fails. */
static trustx_rc reject_chain(ifxi2c_dl *dl, const char *reason, uint8_t pctr, size_t len)
{
    static const uint8_t error_packet[1] = {IFXI2C_CHAIN_ERROR};
    ifxi2c_dl_reply reply;
    trustx_rc rc;

    dl->stats->chain_errors_sent++;
    trustx_log(TRUSTX_LOG_DEBUG, LOG_COMPONENT, "malformed response chain: %s", reason);
    rc = ifxi2c_dl_send(dl, error_packet, sizeof(error_packet), &reply);
    if (rc != TRUSTX_OK) {
        trustx_error_prefix("network layer: malformed response chain from the chip (%s), and "
                            "sending the chain error failed", reason);
        return rc;
    }
    return trustx_fail(TRUSTX_LAYER_NETWORK, TRUSTX_E_PROTOCOL,
                       "network layer: malformed response chain from the chip (%s; packet "
                       "control 0x%02X, %zu bytes); sent a chain error and gave up; retry the "
                       "command", reason, pctr, len);
}

/*
 * Collects response packets until the chain is complete. The first packet
 * may already be waiting (have_data); later fragments are polled for right
 * after the host's ACK of the previous one.
 */
static trustx_rc receive_response(ifxi2c_dl *dl, reassembly *r, int have_data,
                                  uint64_t first_poll_us, int *chain_error)
{
    for (;;) {
        const uint8_t *packet;
        const char *reason;
        size_t len;
        int done = 0;

        if (!have_data) {
            trustx_rc rc = ifxi2c_dl_receive(dl, first_poll_us);

            if (rc != TRUSTX_OK)
                return rc;
        }
        have_data = 0;

        packet = ifxi2c_dl_packet(dl, &len);
        if (is_chain_error(packet)) {
            *chain_error = 1;
            return TRUSTX_OK;
        }
        reason = check_fragment(dl, r, packet, len);
        if (reason != NULL)
            return reject_chain(dl, reason, packet[0], len);

        add_fragment(r, packet, len, &done);
        if (done)
            return TRUSTX_OK;
        first_poll_us = ifxi2c_phy_now(dl->phy);
    }
}

static trustx_rc finish(const reassembly *r, size_t *resp_len)
{
    *resp_len = r->total;
    if (r->total > r->cap)
        return trustx_fail(TRUSTX_LAYER_NETWORK, TRUSTX_E_OVERFLOW,
                           "network layer: response of %zu bytes does not fit the %zu-byte "
                           "buffer; the whole response was read and discarded",
                           r->total, r->cap);
    return TRUSTX_OK;
}

/* Sends the command once and collects the response. *chain_error reports a chain error. */
static trustx_rc exchange(ifxi2c_dl *dl, const uint8_t *apdu, size_t apdu_len, reassembly *r,
                          uint32_t exec_hint_us, int *chain_error)
{
    int have_data = 0;
    trustx_rc rc = send_command(dl, apdu, apdu_len, chain_error, &have_data);

    if (rc != TRUSTX_OK || *chain_error)
        return rc;
    return receive_response(dl, r, have_data, ifxi2c_dl_sent_us(dl) + exec_hint_us,
                            chain_error);
}

trustx_rc ifxi2c_net_transceive(ifxi2c_dl *dl, const uint8_t *apdu, size_t apdu_len,
                                uint8_t *resp, size_t resp_cap, size_t *resp_len,
                                uint32_t exec_hint_us)
{
    if (exec_hint_us == 0)
        exec_hint_us = IFXI2C_EXEC_DEFAULT_US;

    for (unsigned resends = 0;; resends++) {
        reassembly r = {resp, resp_cap, 0, 0, 0};
        int chain_error = 0;
        trustx_rc rc = exchange(dl, apdu, apdu_len, &r, exec_hint_us, &chain_error);

        if (rc != TRUSTX_OK)
            return rc;
        if (!chain_error)
            return finish(&r, resp_len);
        if (resends == IFXI2C_CHAIN_RESENDS_MAX)
            break;

        dl->stats->chain_restarts++;
        trustx_log(TRUSTX_LOG_DEBUG, LOG_COMPONENT,
                   "chip reported a chain error; sending the %zu-byte command again", apdu_len);
    }
    return trustx_fail(TRUSTX_LAYER_NETWORK, TRUSTX_E_PROTOCOL,
                       "network layer: chip rejected the %zu-byte command with a chain error "
                       "%u times (frame size %u bytes); reset the chip and retry",
                       apdu_len, IFXI2C_CHAIN_RESENDS_MAX + 1, dl->phy->frame_size);
}
