/* SPDX-License-Identifier: MIT */
/*
 * Physical layer: register access with the guard time and NACK retries,
 * I2C_STATE decoding, soft reset and negotiation of clock and frame size.
 */
#include "ifxi2c/phy.h"

#include <stdio.h>
#include <string.h>

#include "ifxi2c/frame.h"

#define STATE_LEN        4
#define MAX_SCL_LEN      4
#define DATA_REG_LEN_LEN 2

void ifxi2c_phy_init(ifxi2c_phy *p, trustx_transport *t, trustx_ifxi2c_stats *stats)
{
    memset(p, 0, sizeof(*p));
    p->transport = t;
    p->stats = stats;
    p->speed_khz = t->speed_khz;
}

uint64_t ifxi2c_phy_now(ifxi2c_phy *p)
{
    return trustx_transport_now_us(p->transport);
}

static void sleep_for(ifxi2c_phy *p, uint64_t us, uint64_t *account)
{
    if (us > UINT32_MAX)
        us = UINT32_MAX;
    trustx_transport_sleep_us(p->transport, (uint32_t)us);
    *account += us;
}

void ifxi2c_phy_sleep_until(ifxi2c_phy *p, uint64_t when_us, uint64_t *account)
{
    uint64_t now = ifxi2c_phy_now(p);

    if (when_us > now)
        sleep_for(p, when_us - now, account);
}

/* Sleeps only the part of the guard time that has not passed since the last access. */
static void wait_guard(ifxi2c_phy *p)
{
    if (p->accessed)
        ifxi2c_phy_sleep_until(p, p->last_access_us + IFXI2C_GUARD_US, &p->stats->guard_us);
}

/* One transaction, one try: out != NULL writes, otherwise in is read. */
static trustx_rc transact_once(ifxi2c_phy *p, const uint8_t *out, uint8_t *in, size_t len)
{
    trustx_rc rc;

    wait_guard(p);
    trustx_error_clear();
    if (out != NULL)
        rc = trustx_transport_write(p->transport, out, len);
    else
        rc = trustx_transport_read(p->transport, in, len);
    p->last_access_us = ifxi2c_phy_now(p);
    p->accessed = 1;

    p->stats->transactions++;
    if (rc == TRUSTX_E_NACK)
        p->stats->nacks++;
    else if (rc == TRUSTX_OK && out != NULL)
        p->stats->bytes_written += len;
    else if (rc == TRUSTX_OK)
        p->stats->bytes_read += len;
    return rc;
}

static trustx_rc report_bus_error(ifxi2c_phy *p, trustx_rc rc, const char *what, uint8_t reg)
{
    /* Keep the transport's own message when it recorded one for this failure. */
    if (trustx_error_last()->rc != TRUSTX_OK) {
        trustx_error_prefix("physical layer: %s of register 0x%02X failed", what, reg);
        return rc;
    }
    return trustx_fail(TRUSTX_LAYER_PHYSICAL, rc,
                       "physical layer: %s of register 0x%02X failed (%s)", what, reg,
                       trustx_rc_name(rc));
}

static int past_deadline(ifxi2c_phy *p)
{
    return p->deadline_us != 0 && ifxi2c_phy_now(p) >= p->deadline_us;
}

/*
 * Repeats a NACKed transaction every IFXI2C_NACK_RETRY_US, at most
 * IFXI2C_NACK_TRIES_MAX tries in all and not past the exchange deadline.
 */
static trustx_rc transact(ifxi2c_phy *p, const uint8_t *out, uint8_t *in, size_t len,
                          uint8_t reg)
{
    const char *what = out != NULL ? "write" : "read";
    char cause[TRUSTX_ERROR_MSG_MAX];
    unsigned tries;

    for (tries = 1;; tries++) {
        trustx_rc rc = transact_once(p, out, in, len);

        if (rc == TRUSTX_OK)
            return rc;
        if (rc != TRUSTX_E_NACK)
            return report_bus_error(p, rc, what, reg);
        if (tries == IFXI2C_NACK_TRIES_MAX || past_deadline(p))
            break;
        sleep_for(p, IFXI2C_NACK_RETRY_US, &p->stats->nack_wait_us);
    }
    /* The transport's own message names the device (path, serial, socket). */
    snprintf(cause, sizeof(cause), "%s", trustx_error_last()->message);
    return trustx_fail(TRUSTX_LAYER_PHYSICAL, TRUSTX_E_NACK,
                       "physical layer: chip at address 0x%02X did not acknowledge the %s of "
                       "register 0x%02X after %u tries (%u ms apart); check wiring, address "
                       "and power (last: %s)",
                       p->transport->addr, what, reg, tries, IFXI2C_NACK_RETRY_US / 1000u,
                       cause);
}

trustx_rc ifxi2c_phy_write_reg(ifxi2c_phy *p, uint8_t reg, const uint8_t *data, size_t len)
{
    uint8_t buf[1 + TRUSTX_FRAME_MAX];

    if (len > TRUSTX_FRAME_MAX)
        return trustx_fail(TRUSTX_LAYER_PHYSICAL, TRUSTX_E_INVALID_ARG,
                           "physical layer: write of %zu bytes to register 0x%02X exceeds the "
                           "%d-byte maximum", len, reg, TRUSTX_FRAME_MAX);

    buf[0] = reg;
    if (len > 0)
        memcpy(buf + 1, data, len);
    return transact(p, buf, NULL, len + 1, reg);
}

trustx_rc ifxi2c_phy_read_reg(ifxi2c_phy *p, uint8_t reg, uint8_t *buf, size_t len)
{
    trustx_rc rc = ifxi2c_phy_write_reg(p, reg, NULL, 0);

    if (rc != TRUSTX_OK)
        return rc;
    return transact(p, NULL, buf, len, reg);
}

trustx_rc ifxi2c_phy_read_state(ifxi2c_phy *p, ifxi2c_state *state)
{
    uint8_t raw[STATE_LEN];
    trustx_rc rc = ifxi2c_phy_read_reg(p, TRUSTX_REG_I2C_STATE, raw, sizeof(raw));

    if (rc != TRUSTX_OK)
        return rc;

    p->stats->state_polls++;
    state->flags = raw[0];
    state->length = ((unsigned)raw[2] << 8) | raw[3];
    return TRUSTX_OK;
}

int ifxi2c_phy_frame_ready(const ifxi2c_phy *p, const ifxi2c_state *state)
{
    return (state->flags & TRUSTX_STATE_RESP_RDY) != 0 && state->length > 0 &&
           state->length <= p->frame_size;
}

static trustx_rc set_bus_speed(ifxi2c_phy *p, unsigned khz)
{
    trustx_rc rc = trustx_transport_set_speed(p->transport, khz);

    if (rc != TRUSTX_OK) {
        trustx_error_prefix("physical layer: cannot set the bus clock to %u kHz", khz);
        return rc;
    }
    p->speed_khz = khz;
    return TRUSTX_OK;
}

static trustx_rc soft_reset(ifxi2c_phy *p)
{
    static const uint8_t any_value[2] = {0x00, 0x00};
    ifxi2c_state state;
    trustx_rc rc = ifxi2c_phy_read_state(p, &state);

    if (rc != TRUSTX_OK)
        return rc;
    if ((state.flags & TRUSTX_STATE_SOFT_RESET) == 0)
        return trustx_fail(TRUSTX_LAYER_PHYSICAL, TRUSTX_E_UNSUPPORTED,
                           "physical layer: chip does not offer a soft reset (I2C_STATE byte 0 "
                           "is 0x%02X, flag 0x08 clear); power-cycle it instead", state.flags);

    rc = ifxi2c_phy_write_reg(p, TRUSTX_REG_SOFT_RESET, any_value, sizeof(any_value));
    if (rc != TRUSTX_OK)
        return rc;

    sleep_for(p, IFXI2C_STARTUP_US, &p->stats->reset_wait_us);
    return TRUSTX_OK;
}

static trustx_rc read_max_khz(ifxi2c_phy *p, unsigned *khz)
{
    uint8_t raw[MAX_SCL_LEN];
    trustx_rc rc = ifxi2c_phy_read_reg(p, TRUSTX_REG_MAX_SCL_FREQU, raw, sizeof(raw));

    if (rc == TRUSTX_OK)
        *khz = ((unsigned)raw[2] << 8) | raw[3];
    return rc;
}

/* Returns the I2C_MODE value to write for wanted_khz, or 0 when the mode already fits. */
static uint8_t mode_for_speed(unsigned wanted_khz, unsigned max_khz)
{
    if (wanted_khz > IFXI2C_FM_MAX_KHZ && max_khz <= IFXI2C_FM_MAX_KHZ)
        return IFXI2C_MODE_FM_PLUS;
    if (wanted_khz <= IFXI2C_FM_MAX_KHZ && max_khz > IFXI2C_FM_MAX_KHZ)
        return IFXI2C_MODE_SM_FM;
    return 0;
}

static trustx_rc negotiate_speed(ifxi2c_phy *p, unsigned wanted_khz)
{
    unsigned max_khz = 0;
    uint8_t mode;
    trustx_rc rc = read_max_khz(p, &max_khz);

    if (rc != TRUSTX_OK)
        return rc;

    mode = mode_for_speed(wanted_khz, max_khz);
    if (mode != 0) {
        const uint8_t value[2] = {IFXI2C_MODE_PERSISTENT, mode};

        rc = ifxi2c_phy_write_reg(p, TRUSTX_REG_I2C_MODE, value, sizeof(value));
        if (rc == TRUSTX_OK)
            rc = read_max_khz(p, &max_khz);
        if (rc != TRUSTX_OK)
            return rc;
    }

    if (wanted_khz > max_khz)
        return trustx_fail(TRUSTX_LAYER_PHYSICAL, TRUSTX_E_UNSUPPORTED,
                           "physical layer: chip runs at most %u kHz but %u kHz was requested; "
                           "choose speed=%u or less", max_khz, wanted_khz, max_khz);
    return set_bus_speed(p, wanted_khz);
}

static trustx_rc negotiate_frame_size(ifxi2c_phy *p, unsigned wanted)
{
    const uint8_t request[DATA_REG_LEN_LEN] = {(uint8_t)(wanted >> 8), (uint8_t)wanted};
    uint8_t stored[DATA_REG_LEN_LEN];
    unsigned size;
    trustx_rc rc = ifxi2c_phy_write_reg(p, TRUSTX_REG_DATA_REG_LEN, request, sizeof(request));

    if (rc == TRUSTX_OK)
        rc = ifxi2c_phy_read_reg(p, TRUSTX_REG_DATA_REG_LEN, stored, sizeof(stored));
    if (rc != TRUSTX_OK)
        return rc;

    /* The chip stores its own maximum when it cannot take the value; smaller is fine. */
    size = ((unsigned)stored[0] << 8) | stored[1];
    if (size > wanted || size < IFXI2C_FRAME_MIN)
        return trustx_fail(TRUSTX_LAYER_PHYSICAL, TRUSTX_E_PROTOCOL,
                           "physical layer: chip reports a frame size (DATA_REG_LEN) of %u bytes "
                           "after %u was requested; expected %u..%u", size, wanted,
                           IFXI2C_FRAME_MIN, wanted);
    p->frame_size = size;
    return TRUSTX_OK;
}

trustx_rc ifxi2c_phy_start(ifxi2c_phy *p, int skip_reset, unsigned speed_khz,
                           unsigned frame_size)
{
    trustx_rc rc = set_bus_speed(p, IFXI2C_NEGOTIATE_KHZ);

    if (rc == TRUSTX_OK && !skip_reset)
        rc = soft_reset(p);
    if (rc == TRUSTX_OK)
        rc = negotiate_speed(p, speed_khz);
    if (rc == TRUSTX_OK)
        rc = negotiate_frame_size(p, frame_size);
    return rc;
}
