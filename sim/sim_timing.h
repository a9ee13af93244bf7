/* SPDX-License-Identifier: MIT */
/*
 * Virtual time of the simulated chip: the timing constants of the bus model
 * and a clock that assigns every elapsed nanosecond to exactly one cause
 * (bus, guard, chip time or host wait), so that a benchmark can split it.
 */
#ifndef TRUSTX_SIM_TIMING_H
#define TRUSTX_SIM_TIMING_H

#include <stdint.h>

/* Minimum gap between the STOP of one access and the START of the next (Trust X datasheet). */
#define SIM_GUARD_TIME_US 50u

/* Bit times per byte on the bus: 8 data bits and the acknowledge bit. */
#define SIM_BITS_PER_BYTE 9u

/*
 * Delay between the STOP of an accepted data frame and the moment its
 * control ACK can be read. It is shorter than the earliest I2C_STATE read a
 * host can make (two guard times plus a register write), so the first poll
 * after a command finds the ACK, as in the datasheet log.
 */
#define SIM_ACK_DELAY_US 100u

/*
 * A chip data frame that the host read but did not acknowledge is
 * presented again after this long (the IFX I2C transmit timeout of Trust X).
 */
#define SIM_TRANS_TIMEOUT_US 10000u

/* Start-up time after a reset, during which the chip does not acknowledge its address. */
#define SIM_STARTUP_US 10000u

/* Start-up time when the reset cut a command, so that an NVM write was pending. */
#define SIM_STARTUP_NVM_US 12000u

/* Bus clock assumed until the master sets one. */
#define SIM_DEFAULT_KHZ 400u

/* What the host was doing while time passed. */
typedef enum sim_time_kind {
    SIM_TIME_BUS,              /* a transaction was on the bus */
    SIM_TIME_GUARD,            /* the guard time after a STOP */
    SIM_TIME_WAIT              /* the host waited for another reason */
} sim_time_kind;

/*
 * The virtual clock. chip_from_ns..chip_until_ns is the window in which the
 * chip executes a command or starts up. Any time inside it counts as chip
 * time whatever the host did, so the chip bucket adds up to the time the
 * chip needed.
 */
typedef struct sim_clock {
    uint64_t now_ns;
    uint64_t chip_from_ns;
    uint64_t chip_until_ns;
    uint64_t bus_ns;
    uint64_t guard_ns;
    uint64_t chip_ns;
    uint64_t wait_ns;
} sim_clock;

/* Advances the clock by ns, counting the time as kind, or as chip time inside the chip window. */
void sim_clock_spend(sim_clock *clock, uint64_t ns, sim_time_kind kind);

/* Sets the chip window; time already spent is not reassigned. */
void sim_clock_set_chip_window(sim_clock *clock, uint64_t from_ns, uint64_t until_ns);

/* Returns the duration of one byte on the bus at khz (khz > 0), in nanoseconds. */
uint64_t sim_clock_byte_ns(unsigned khz);

#endif
