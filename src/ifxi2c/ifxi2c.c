/* SPDX-License-Identifier: MIT */
/*
 * The protocol stack object: opens the physical layer (reset, negotiation),
 * holds the data link state between exchanges and runs one command exchange
 * through the network layer.
 */
#include <stdlib.h>

#include "ifxi2c/datalink.h"
#include "ifxi2c/network.h"
#include "ifxi2c/phy.h"

#define DEFAULT_RESPONSE_TIMEOUT_MS 6000u

struct trustx_ifxi2c {
    trustx_transport *transport;   /* borrowed */
    trustx_ifxi2c_config config;   /* with defaults filled in */
    trustx_ifxi2c_stats stats;
    ifxi2c_phy phy;
    ifxi2c_dl dl;
    int need_resync;               /* the last exchange failed mid-way */
};

/* Fills in defaults; the wanted clock is taken before negotiation changes the transport's. */
static trustx_rc resolve_config(const trustx_transport *t, const trustx_ifxi2c_config *cfg,
                                trustx_ifxi2c_config *out)
{
    if (cfg != NULL)
        *out = *cfg;
    if (out->speed_khz == 0)
        out->speed_khz = t->speed_khz != 0 ? t->speed_khz : TRUSTX_I2C_DEFAULT_KHZ;
    if (out->frame_size == 0)
        out->frame_size = TRUSTX_FRAME_MAX;
    if (out->response_timeout_ms == 0)
        out->response_timeout_ms = DEFAULT_RESPONSE_TIMEOUT_MS;

    if (out->frame_size < IFXI2C_FRAME_MIN || out->frame_size > TRUSTX_FRAME_MAX)
        return trustx_fail(TRUSTX_LAYER_PHYSICAL, TRUSTX_E_INVALID_ARG,
                           "frame size %u is out of range; use %u..%u bytes", out->frame_size,
                           IFXI2C_FRAME_MIN, TRUSTX_FRAME_MAX);
    return TRUSTX_OK;
}

/*
 * Resets (unless skipped) and negotiates, then aligns the frame counters: a
 * reset restarts them on the chip, and without one a re-sync does.
 */
static trustx_rc start(trustx_ifxi2c *s, int skip_reset)
{
    trustx_rc rc = ifxi2c_phy_start(&s->phy, skip_reset, s->config.speed_khz,
                                    s->config.frame_size);

    if (rc != TRUSTX_OK)
        return rc;
    s->need_resync = 0;
    if (skip_reset)
        return ifxi2c_dl_resync(&s->dl);
    ifxi2c_dl_reset_counters(&s->dl);
    return TRUSTX_OK;
}

trustx_rc trustx_ifxi2c_open(trustx_transport *t, const trustx_ifxi2c_config *cfg,
                             trustx_ifxi2c **out)
{
    trustx_ifxi2c *s;
    trustx_rc rc;

    if (t == NULL || out == NULL)
        return trustx_fail(TRUSTX_LAYER_PHYSICAL, TRUSTX_E_INVALID_ARG,
                           "protocol stack needs a transport and an output pointer");

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return trustx_fail(TRUSTX_LAYER_PHYSICAL, TRUSTX_E_NOMEM, "out of memory");

    s->transport = t;
    rc = resolve_config(t, cfg, &s->config);
    if (rc == TRUSTX_OK) {
        ifxi2c_phy_init(&s->phy, t, &s->stats);
        ifxi2c_dl_init(&s->dl, &s->phy);
        rc = start(s, s->config.skip_reset);
    }
    if (rc != TRUSTX_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return TRUSTX_OK;
}

void trustx_ifxi2c_close(trustx_ifxi2c *s)
{
    free(s);
}

trustx_rc trustx_ifxi2c_reset(trustx_ifxi2c *s)
{
    return start(s, 0);
}

/* Failures that leave the two sides' frame counters or chain state out of step. */
static int leaves_link_unsettled(trustx_rc rc)
{
    return rc != TRUSTX_OK && rc != TRUSTX_E_OVERFLOW && rc != TRUSTX_E_INVALID_ARG;
}

/* Runs one exchange after the re-sync a previous failure left pending. */
static trustx_rc run_exchange(trustx_ifxi2c *s, const uint8_t *apdu, size_t apdu_len,
                              uint8_t *resp, size_t resp_cap, size_t *resp_len,
                              uint32_t exec_hint_us)
{
    /* The chip drops a half-done chain or response on a re-sync, so both sides start clean. */
    if (s->need_resync) {
        trustx_rc rc = ifxi2c_dl_resync(&s->dl);

        if (rc != TRUSTX_OK)
            return rc;
        s->need_resync = 0;
    }
    return ifxi2c_net_transceive(&s->dl, apdu, apdu_len, resp, resp_cap, resp_len,
                                 exec_hint_us);
}

trustx_rc trustx_ifxi2c_transceive(trustx_ifxi2c *s, const uint8_t *apdu, size_t apdu_len,
                                   uint8_t *resp, size_t resp_cap, size_t *resp_len,
                                   uint32_t exec_hint_us)
{
    trustx_rc rc;

    if (apdu == NULL || apdu_len == 0 || apdu_len > IFXI2C_APDU_LEN_MAX || resp_len == NULL ||
        (resp == NULL && resp_cap > 0))
        return trustx_fail(TRUSTX_LAYER_NETWORK, TRUSTX_E_INVALID_ARG,
                           "network layer: invalid command of %zu bytes (1..%u allowed) or "
                           "response buffer", apdu_len, IFXI2C_APDU_LEN_MAX);

    *resp_len = 0;
    s->stats.transceives++;
    ifxi2c_dl_begin(&s->dl, s->config.response_timeout_ms);
    rc = run_exchange(s, apdu, apdu_len, resp, resp_cap, resp_len, exec_hint_us);
    s->phy.deadline_us = 0;

    if (leaves_link_unsettled(rc))
        s->need_resync = 1;
    return rc;
}

unsigned trustx_ifxi2c_frame_size(const trustx_ifxi2c *s)
{
    return s->phy.frame_size;
}

unsigned trustx_ifxi2c_speed_khz(const trustx_ifxi2c *s)
{
    return s->phy.speed_khz;
}

const trustx_ifxi2c_stats *trustx_ifxi2c_get_stats(const trustx_ifxi2c *s)
{
    return &s->stats;
}
