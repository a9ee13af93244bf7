/* SPDX-License-Identifier: MIT */
/*
 * Chip side, bus model: the I2C slave with the IFX I2C registers, the chip's
 * own data link and network layers (written for the chip's role, sharing no
 * code with the host stack apart from the CRC), a virtual clock, and fault
 * injection. It drives a sim_app for the commands.
 */
#ifndef TRUSTX_SIM_CHIP_H
#define TRUSTX_SIM_CHIP_H

#include <stddef.h>
#include <stdint.h>

#include "sim_app.h"
#include "trustx/error.h"

typedef struct sim_faults {
    double flip_rate;          /* probability that a frame is corrupted, each direction */
    unsigned nack_burst;       /* length of a NACK burst (transactions) */
    unsigned nack_every;       /* a burst starts every this many transactions; 0 = never */
    unsigned lose_response;    /* the N-th response frame is lost (never presented); 0 = never */
    int never_ready;           /* nonzero: the chip accepts frames but never answers */
    unsigned reset_in_command; /* the N-th command is cut by a power loss; 0 = never */
    uint64_t seed;             /* random seed for reproducible runs */
} sim_faults;

/*
 * Parses a comma-separated fault list: flip=RATE, nackburst=N, nackevery=K,
 * lose=N, neverready, resetcmd=N, seed=S. Unknown keys are rejected with a
 * message naming them. spec may be NULL or empty (no faults).
 */
trustx_rc sim_faults_parse(const char *spec, sim_faults *out);

/* Modeled time, split by cause, for benchmarks. All in microseconds. */
typedef struct sim_time_stats {
    uint64_t bus_us;           /* bytes on the bus at the current clock, 9 bit times each */
    uint64_t guard_us;         /* guard time between accesses */
    uint64_t exec_us;          /* command execution in the chip */
    uint64_t wait_us;          /* host waits not covered by the above (polling overhead) */
    uint64_t transactions;
    uint64_t bytes;            /* bytes moved, address byte included */
    uint64_t frames_in_corrupt; /* frames the chip rejected for a bad FCS or length */
    uint64_t commands;         /* APDUs executed */
} sim_time_stats;

typedef struct sim_chip sim_chip;

/* Status of one I2C transaction as the master sees it. */
typedef enum sim_bus_status { SIM_BUS_ACK = 0, SIM_BUS_NACK = 1 } sim_bus_status;

/* Creates a chip around app (owned by the chip from then on). faults may be NULL. */
trustx_rc sim_chip_new(sim_app *app, const sim_faults *faults, sim_chip **out);

/* Frees the chip and its app. Accepts NULL. */
void sim_chip_free(sim_chip *chip);

/* One master write transaction of len bytes to 7-bit address addr. */
sim_bus_status sim_chip_i2c_write(sim_chip *chip, uint8_t addr, const uint8_t *buf, size_t len);

/* One master read transaction of len bytes from addr into buf. */
sim_bus_status sim_chip_i2c_read(sim_chip *chip, uint8_t addr, uint8_t *buf, size_t len);

/* Sets the master's bus clock; bytes are charged at this rate. */
void sim_chip_set_speed(sim_chip *chip, unsigned khz);

/* Advances the virtual clock by us microseconds (the host waited). */
void sim_chip_advance(sim_chip *chip, uint64_t us);

/* Returns the virtual clock in microseconds. */
uint64_t sim_chip_now_us(const sim_chip *chip);

/* Power-cycles the chip (cold reset). */
void sim_chip_power_cycle(sim_chip *chip);

/* Returns the modeled time split by cause. */
const sim_time_stats *sim_chip_stats(const sim_chip *chip);

/* Returns the application model (still owned by the chip). */
sim_app *sim_chip_app(sim_chip *chip);

#endif
