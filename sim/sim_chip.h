/* SPDX-License-Identifier: MIT */
/*
 * Chip side, bus model: the I2C slave with the IFX I2C registers, the chip's
 * own data link and network layers, a virtual clock and fault injection. The
 * layers are written for the chip's role and share only the CRC with the host
 * stack. The bus model runs the commands on a sim_app.
 *
 * Timing constants (sim_timing.h): 9 bit times per byte at the master's
 * clock, address byte included; 50 us guard time after every STOP; the
 * control ACK readable 100 us after a data frame is accepted; an
 * unacknowledged chip frame presented again after 10 ms; start-up after a
 * reset 10 ms, or 12 ms when the reset cut a command.
 */
#ifndef TRUSTX_SIM_CHIP_H
#define TRUSTX_SIM_CHIP_H

#include <stddef.h>
#include <stdint.h>

#include "sim_app.h"
#include "trustx/error.h"

/*
 * Injected faults. Counters run over the chip object's lifetime and resets
 * do not restart them, so the same seed and the same bus traffic give the
 * same faults.
 */
typedef struct sim_faults {
    double flip_rate;          /* probability that a frame is corrupted, each direction:
                                  one random bit of a frame written to DATA before the chip
                                  checks it, or of a frame read from DATA */
    unsigned nack_burst;       /* length of a NACK burst (transactions) */
    unsigned nack_every;       /* a burst starts every this many transactions; 0 = never.
                                  Transactions to the chip's address are numbered from 1 and
                                  numbers kK+1..kK+N (k >= 1) are not acknowledged */
    unsigned lose_response;    /* the N-th response frame is lost (never presented); 0 = never.
                                  Counts every chip data frame, fragments included */
    int never_ready;           /* nonzero: from the first frame written to DATA on, the chip
                                  accepts frames but never answers (I2C_STATE 88 00 00 00);
                                  resets do not cure it */
    unsigned reset_in_command; /* the N-th command is cut by a power loss; 0 = never. The cut
                                  comes halfway through its execution time. The chip then
                                  starts up again (12 ms) with the application closed and
                                  the data link counters reset */
    uint64_t seed;             /* random seed for reproducible runs (default 1) */
} sim_faults;

/*
 * Parses a comma-separated fault list: flip=RATE, nackburst=N, nackevery=K,
 * lose=N, neverready, resetcmd=N, seed=S. Unknown keys are rejected with a
 * message naming them. spec may be NULL or empty (no faults). nackevery
 * alone gives bursts of one; nackburst needs nackevery and must be smaller.
 * On failure *out is left unchanged.
 */
trustx_rc sim_faults_parse(const char *spec, sim_faults *out);

/*
 * Modeled time, split by cause, for benchmarks. All in microseconds. Every
 * nanosecond of virtual time goes to exactly one of the four time buckets,
 * so bus_us + guard_us + exec_us + wait_us = sim_chip_now_us() (each value
 * is rounded down, so the sum may fall short by up to 3 us). Chip time has
 * priority: whatever the host does while the chip executes a command or
 * starts up after a reset counts as exec_us.
 */
typedef struct sim_time_stats {
    uint64_t bus_us;           /* transactions on the bus outside chip time: 9 bit times per
                                  byte, address byte included, at the master's clock */
    uint64_t guard_us;         /* the first 50 us after each STOP outside chip time,
                                  whether the host waited them or the chip enforced them */
    uint64_t exec_us;          /* chip time: command execution (sim_app_execute's exec_us) and
                                  start-up after a reset, whatever the host did meanwhile */
    uint64_t wait_us;          /* other host waiting (sim_chip_advance) outside chip time:
                                  polling intervals beyond the response, sleeps, timeouts */
    uint64_t transactions;     /* all transactions, NACKed ones included */
    uint64_t bytes;            /* bytes moved, address byte included (1 for an address NACK) */
    uint64_t frames_in_corrupt; /* frames the chip rejected for a bad FCS, length or FCTR */
    uint64_t commands;         /* APDUs executed */
    uint64_t over_speed;       /* transactions clocked faster than MAX_SCL_FREQU allows; the
                                  model still serves them, a real chip may not */
} sim_time_stats;

typedef struct sim_chip sim_chip;

/* Status of one I2C transaction on the master's side. */
typedef enum sim_bus_status { SIM_BUS_ACK = 0, SIM_BUS_NACK = 1 } sim_bus_status;

/*
 * Creates a chip around app (owned by the chip from then on, and closed if
 * this fails). faults may be NULL. The chip starts ready at virtual time 0
 * at address 0x30, with factory I2C mode Sm&Fm (400 kHz) and DATA_REG_LEN
 * 0x0115, and the master's clock at 400 kHz.
 */
trustx_rc sim_chip_new(sim_app *app, const sim_faults *faults, sim_chip **out);

/* Frees the chip and its app. Accepts NULL. */
void sim_chip_free(sim_chip *chip);

/*
 * One master write transaction of len bytes to 7-bit address addr. The
 * first byte selects a register (IFX I2C v1.65 register map), the rest is
 * written to it: a frame for DATA (0x80), a value for DATA_REG_LEN (0x81,
 * stored clamped to 0x0010..0x0115), BASE_ADDR (0x83), SOFT_RESET (0x88) or
 * I2C_MODE (0x89). A write takes effect when the transaction ends. The chip
 * NACKs other addresses, every transaction during start-up after a reset,
 * and writes to DATA while it executes a command. Before the address
 * phase the transaction waits out whatever is left of the guard time.
 */
sim_bus_status sim_chip_i2c_write(sim_chip *chip, uint8_t addr, const uint8_t *buf, size_t len);

/*
 * One master read transaction of len bytes from addr into buf, from the
 * register the last write selected. I2C_STATE and DATA are served while
 * the chip is busy. Bytes past the end of a register, reads of invalid or
 * write-only registers and DATA reads with no frame pending give 0xFF.
 * Reading DATA consumes the presented frame, however many bytes are read.
 * buf is left unchanged when the chip NACKs.
 */
sim_bus_status sim_chip_i2c_read(sim_chip *chip, uint8_t addr, uint8_t *buf, size_t len);

/* Sets the master's bus clock (khz > 0; 0 is ignored); bytes are charged at this rate. */
void sim_chip_set_speed(sim_chip *chip, unsigned khz);

/* Advances the virtual clock by us microseconds (the host waited). */
void sim_chip_advance(sim_chip *chip, uint64_t us);

/* Returns the virtual clock in microseconds. */
uint64_t sim_chip_now_us(const sim_chip *chip);

/*
 * Power-cycles the chip (cold reset): closes the application, resets the
 * data link and the registers (BASE_ADDR and I2C_MODE return to their
 * persistent values) and NACKs for 10 ms of start-up.
 */
void sim_chip_power_cycle(sim_chip *chip);

/* Returns the modeled time split by cause. */
const sim_time_stats *sim_chip_stats(const sim_chip *chip);

/* Returns the application model (still owned by the chip). */
sim_app *sim_chip_app(sim_chip *chip);

#endif
