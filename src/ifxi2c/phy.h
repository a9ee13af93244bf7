/* SPDX-License-Identifier: MIT */
/*
 * Internal: physical layer of the IFX I2C protocol. Register reads and
 * writes as separate I2C transactions, the guard time between accesses,
 * retries of NACKed addresses, I2C_STATE, soft reset and the negotiation of
 * bus clock and frame size. All time comes from the transport.
 */
#ifndef TRUSTX_IFXI2C_PHY_H
#define TRUSTX_IFXI2C_PHY_H

#include <stddef.h>
#include <stdint.h>

#include "trustx/ifxi2c.h"

/* Minimum time from the STOP of one access to the START of the next. */
#define IFXI2C_GUARD_US          50u

/* A NACKed address is retried every 1 ms, 200 tries in all (chip busy or waking up). */
#define IFXI2C_NACK_TRIES_MAX    200u
#define IFXI2C_NACK_RETRY_US     1000u

/*
 * The chip takes its first transfer 10 ms after a reset. When an NVM write
 * was pending it needs up to 12 ms and NACKs its address until then, which
 * the NACK retries cover, so the host does not wait 12 ms after every reset.
 */
#define IFXI2C_STARTUP_US        10000u

/* Clock used until negotiation has read the chip's maximum. */
#define IFXI2C_NEGOTIATE_KHZ     100u

/* Fm/Fm+ boundary of I2C_MODE and the mode values written with the persistent flag. */
#define IFXI2C_FM_MAX_KHZ        400u
#define IFXI2C_MODE_PERSISTENT   0x80
#define IFXI2C_MODE_SM_FM        0x03
#define IFXI2C_MODE_FM_PLUS      0x04

typedef struct ifxi2c_phy {
    trustx_transport *transport;   /* borrowed */
    trustx_ifxi2c_stats *stats;    /* borrowed */
    uint64_t last_access_us;       /* end of the last transaction */
    uint64_t deadline_us;          /* NACK retries stop here too; 0 means no deadline */
    int accessed;                  /* nonzero once last_access_us is set */
    unsigned frame_size;           /* negotiated DATA_REG_LEN */
    unsigned speed_khz;            /* negotiated clock */
} ifxi2c_phy;

/* Decoded I2C_STATE register. */
typedef struct ifxi2c_state {
    uint8_t flags;                 /* byte 0: TRUSTX_STATE_BUSY, _RESP_RDY, _SOFT_RESET */
    unsigned length;               /* bytes 2..3: length of the frame waiting in DATA */
} ifxi2c_state;

/* Binds p to a transport and a stats block; both MUST outlive p. */
void ifxi2c_phy_init(ifxi2c_phy *p, trustx_transport *t, trustx_ifxi2c_stats *stats);

/*
 * Writes reg || data (len <= TRUSTX_FRAME_MAX) in one transaction. A failure
 * is recorded with the register named: TRUSTX_E_NACK after
 * IFXI2C_NACK_TRIES_MAX tries or once p->deadline_us has passed, or the
 * transport's error.
 */
trustx_rc ifxi2c_phy_write_reg(ifxi2c_phy *p, uint8_t reg, const uint8_t *data, size_t len);

/* Reads len bytes of register reg: a write of reg, the guard time, then a read. */
trustx_rc ifxi2c_phy_read_reg(ifxi2c_phy *p, uint8_t reg, uint8_t *buf, size_t len);

/* Reads and decodes I2C_STATE; counts a state poll. */
trustx_rc ifxi2c_phy_read_state(ifxi2c_phy *p, ifxi2c_state *state);

/*
 * Returns nonzero when state announces a frame the host may read: RESP_RDY
 * set and 0 < length <= the negotiated frame size.
 */
int ifxi2c_phy_frame_ready(const ifxi2c_phy *p, const ifxi2c_state *state);

/*
 * Brings the chip to a known state: the bus at 100 kHz, a soft reset unless
 * skip_reset, then negotiation of speed_khz and frame_size. Fails with
 * TRUSTX_E_UNSUPPORTED when the chip has no soft reset or cannot run at
 * speed_khz, and TRUSTX_E_PROTOCOL when it reports a frame size above the
 * requested one or below IFXI2C_FRAME_MIN.
 */
trustx_rc ifxi2c_phy_start(ifxi2c_phy *p, int skip_reset, unsigned speed_khz,
                           unsigned frame_size);

/* Returns the transport's clock in microseconds. */
uint64_t ifxi2c_phy_now(ifxi2c_phy *p);

/* Waits until the transport clock reaches when_us and adds the wait to *account. */
void ifxi2c_phy_sleep_until(ifxi2c_phy *p, uint64_t when_us, uint64_t *account);

#endif
