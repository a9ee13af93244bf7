/* SPDX-License-Identifier: MIT */
/*
 * The simulated chip on the bus: address decoding, the IFX I2C register
 * file, resets, the virtual clock and fault injection around the chip-side
 * data link (sim_link.c) and the application model (sim_app.h).
 */
#include "sim_chip.h"

#include <stdlib.h>
#include <string.h>

#include "sim_faults.h"
#include "sim_link.h"
#include "sim_timing.h"
#include "trustx/log.h"

/* Registers of the IFX I2C v1.65 register map that Trust X implements. */
#define REG_DATA 0x80u
#define REG_DATA_REG_LEN 0x81u
#define REG_I2C_STATE 0x82u
#define REG_BASE_ADDR 0x83u
#define REG_MAX_SCL_FREQU 0x84u
#define REG_GUARD_TIME 0x85u
#define REG_TRANS_TIMEOUT 0x86u
#define REG_SOFT_RESET 0x88u
#define REG_I2C_MODE 0x89u
#define REG_NONE 0x00u             /* no register selected yet: reads give 0xFF */

/* I2C_STATE byte 0. */
#define STATE_BUSY 0x80u
#define STATE_RESP_RDY 0x40u
#define STATE_SOFT_RESET 0x08u     /* SOFT_RESET supported: always set on Trust X */

/* I2C_MODE bits 2:0 and the persistent flag in its first byte. */
#define MODE_SM 1u
#define MODE_FM 2u
#define MODE_SM_FM 3u              /* factory default */
#define MODE_FM_PLUS 4u
#define PERSISTENT_FLAG 0x80u

#define DEFAULT_ADDR 0x30u
#define ADDR_MASK 0x7Fu
#define NS_PER_US 1000u

struct sim_chip {
    sim_app *app;
    sim_faults faults;
    sim_rng rng;
    sim_link link;
    sim_clock clock;
    sim_time_stats stats;

    unsigned speed_khz;        /* master's clock */
    uint8_t addr;
    uint8_t addr_default;      /* address after a reset (BASE_ADDR written persistently) */
    uint8_t i2c_mode;
    uint8_t i2c_mode_default;  /* mode after a reset (I2C_MODE written persistently) */
    uint16_t data_reg_len;
    uint8_t selected_reg;

    uint64_t guard_until_ns;   /* STOP of the last access + guard time */
    uint64_t exec_until_ns;    /* BUSY until then */
    uint64_t startup_until_ns; /* every transaction is NACKed until then */
    int power_loss_pending;    /* a power loss cuts the running command at power_loss_ns */
    uint64_t power_loss_ns;

    uint64_t addressed;        /* transactions that reached the fault check, for NACK bursts */
    int stuck;                 /* never_ready fault has taken hold */

    uint8_t resp[SIM_LINK_APDU_MAX]; /* response APDU from the application */
};

static uint64_t us_to_ns(uint64_t us)
{
    return us * NS_PER_US;
}

static unsigned max_scl_khz(uint8_t mode)
{
    switch (mode) {
    case MODE_SM:
        return 100;
    case MODE_FM_PLUS:
        return 1000;
    default:
        return 400;
    }
}

static void publish_stats(sim_chip *chip)
{
    chip->stats.bus_us = chip->clock.bus_ns / NS_PER_US;
    chip->stats.guard_us = chip->clock.guard_ns / NS_PER_US;
    chip->stats.exec_us = chip->clock.chip_ns / NS_PER_US;
    chip->stats.wait_us = chip->clock.wait_ns / NS_PER_US;
}

static void reset_registers(sim_chip *chip)
{
    chip->addr = chip->addr_default;
    chip->i2c_mode = chip->i2c_mode_default;
    chip->data_reg_len = SIM_LINK_FRAME_MAX;
    chip->selected_reg = REG_NONE;
}

/* Any reset: the command is cut, the link and the application restart, start-up begins. */
static void reset_chip(sim_chip *chip, uint64_t at_ns, uint32_t startup_us)
{
    if (chip->exec_until_ns > at_ns)
        chip->exec_until_ns = at_ns;
    chip->power_loss_pending = 0;
    sim_link_reset(&chip->link);
    sim_app_reset(chip->app);
    reset_registers(chip);

    chip->startup_until_ns = at_ns + us_to_ns(startup_us);
    sim_clock_set_chip_window(&chip->clock, at_ns, chip->startup_until_ns);
}

/* Carries out a power loss scheduled for a time the clock has reached. */
static void apply_events(sim_chip *chip)
{
    uint64_t at_ns = chip->power_loss_ns;

    if (!chip->power_loss_pending || chip->clock.now_ns < at_ns)
        return;

    trustx_log(TRUSTX_LOG_DEBUG, "sim", "fault: power loss at %llu us cuts command %llu",
               (unsigned long long)(at_ns / NS_PER_US), (unsigned long long)chip->stats.commands);
    sim_app_power_loss(chip->app);
    reset_chip(chip, at_ns, SIM_STARTUP_NVM_US);
}

trustx_rc sim_chip_new(sim_app *app, const sim_faults *faults, sim_chip **out)
{
    sim_chip *chip;

    if (app == NULL || out == NULL) {
        sim_app_close(app);
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_INVALID_ARG,
                           "sim_chip_new needs an application model and an output pointer");
    }

    chip = calloc(1, sizeof(*chip));
    if (chip == NULL) {
        sim_app_close(app);
        return trustx_fail(TRUSTX_LAYER_SIM, TRUSTX_E_NOMEM, "out of memory for the chip model");
    }

    chip->app = app;
    if (faults != NULL)
        chip->faults = *faults;
    else
        chip->faults.seed = SIM_FAULTS_DEFAULT_SEED;
    sim_rng_seed(&chip->rng, chip->faults.seed);
    sim_link_init(&chip->link, chip->faults.lose_response);

    chip->speed_khz = SIM_DEFAULT_KHZ;
    chip->addr_default = DEFAULT_ADDR;
    chip->i2c_mode_default = MODE_SM_FM;
    reset_registers(chip);
    *out = chip;
    return TRUSTX_OK;
}

void sim_chip_free(sim_chip *chip)
{
    if (chip == NULL)
        return;
    sim_app_close(chip->app);
    free(chip);
}

/* Waits out the guard time, then clocks the address byte. */
static void start_transaction(sim_chip *chip)
{
    uint64_t now = chip->clock.now_ns;

    if (now < chip->guard_until_ns)
        sim_clock_spend(&chip->clock, chip->guard_until_ns - now, SIM_TIME_GUARD);

    chip->stats.transactions++;
    if (chip->speed_khz > max_scl_khz(chip->i2c_mode))
        chip->stats.over_speed++;
    sim_clock_spend(&chip->clock, sim_clock_byte_ns(chip->speed_khz), SIM_TIME_BUS);
    chip->stats.bytes++;

    apply_events(chip);
    sim_app_tick(chip->app, chip->clock.now_ns / NS_PER_US);
}

/* Clocks the remaining bytes of a transaction. */
static void clock_bytes(sim_chip *chip, size_t n)
{
    sim_clock_spend(&chip->clock, (uint64_t)n * sim_clock_byte_ns(chip->speed_khz),
                    SIM_TIME_BUS);
    chip->stats.bytes += n;
}

static sim_bus_status stop_transaction(sim_chip *chip, sim_bus_status status)
{
    chip->guard_until_ns = chip->clock.now_ns + us_to_ns(SIM_GUARD_TIME_US);
    publish_stats(chip);
    return status;
}

/* Returns nonzero when an injected NACK burst covers this transaction. */
static int in_nack_burst(sim_chip *chip)
{
    uint64_t number = ++chip->addressed;
    uint64_t every = chip->faults.nack_every;

    if (every == 0 || number <= every)
        return 0;
    return (number - 1) % every < chip->faults.nack_burst;
}

static int address_acknowledged(sim_chip *chip, uint8_t addr)
{
    if (chip->clock.now_ns < chip->startup_until_ns || addr != chip->addr)
        return 0;
    if (in_nack_burst(chip)) {
        trustx_log(TRUSTX_LOG_DEBUG, "sim", "fault: NACK burst, transaction %llu",
                   (unsigned long long)chip->addressed);
        return 0;
    }
    return 1;
}

static void run_command(sim_chip *chip)
{
    const uint8_t *apdu;
    size_t apdu_len;
    size_t resp_len = 0;
    uint32_t exec_us = 0;
    uint64_t now = chip->clock.now_ns;

    apdu = sim_link_command(&chip->link, &apdu_len);
    sim_app_execute(chip->app, apdu, apdu_len, chip->resp, sizeof(chip->resp), &resp_len,
                    &exec_us);
    chip->stats.commands++;

    if (chip->faults.reset_in_command != 0 &&
        chip->stats.commands == chip->faults.reset_in_command) {
        chip->power_loss_pending = 1;
        chip->power_loss_ns = now + us_to_ns(exec_us) / 2;
        chip->exec_until_ns = chip->power_loss_ns;
        sim_clock_set_chip_window(&chip->clock, now,
                                  chip->power_loss_ns + us_to_ns(SIM_STARTUP_NVM_US));
        return;
    }

    chip->exec_until_ns = now + us_to_ns(exec_us);
    sim_clock_set_chip_window(&chip->clock, now, chip->exec_until_ns);
    sim_link_respond(&chip->link, chip->resp, resp_len, chip->exec_until_ns);
}

static void write_frame(sim_chip *chip, const uint8_t *frame, size_t len)
{
    uint8_t copy[SIM_LINK_FRAME_MAX];
    sim_link_event event;

    if (chip->faults.never_ready) {
        if (!chip->stuck)
            trustx_log(TRUSTX_LOG_DEBUG, "sim", "fault: chip stops answering");
        chip->stuck = 1;
        return;
    }

    if (len <= sizeof(copy) && sim_rng_chance(&chip->rng, chip->faults.flip_rate)) {
        memcpy(copy, frame, len);
        sim_rng_flip_bit(&chip->rng, copy, len);
        frame = copy;
    }

    event = sim_link_receive(&chip->link, frame, len, chip->data_reg_len, chip->clock.now_ns);
    if (event == SIM_LINK_CORRUPT)
        chip->stats.frames_in_corrupt++;
    else if (event == SIM_LINK_COMMAND)
        run_command(chip);
}

static void write_register(sim_chip *chip, const uint8_t *buf, size_t len)
{
    uint8_t reg = buf[0];
    unsigned value = len >= 3 ? ((unsigned)buf[1] << 8) | buf[2] : 0;

    chip->selected_reg = reg;
    if (len < 2)
        return;

    switch (reg) {
    case REG_DATA:
        write_frame(chip, buf + 1, len - 1);
        break;
    case REG_DATA_REG_LEN:
        if (len >= 3)
            chip->data_reg_len = (uint16_t)(value < SIM_LINK_FRAME_MIN   ? SIM_LINK_FRAME_MIN
                                             : value > SIM_LINK_FRAME_MAX ? SIM_LINK_FRAME_MAX
                                                                          : value);
        break;
    case REG_BASE_ADDR:
        if (len >= 3 && (buf[2] & ADDR_MASK) != 0) {
            chip->addr = buf[2] & ADDR_MASK;
            if (buf[1] & PERSISTENT_FLAG)
                chip->addr_default = chip->addr;
        }
        break;
    case REG_SOFT_RESET:
        reset_chip(chip, chip->clock.now_ns, SIM_STARTUP_US);
        break;
    case REG_I2C_MODE:
        /* Values other than Sm, Fm, Sm&Fm and Fm+ are ignored. */
        if (len >= 3 && (buf[2] & 7u) >= MODE_SM && (buf[2] & 7u) <= MODE_FM_PLUS) {
            chip->i2c_mode = buf[2] & 7u;
            if (buf[1] & PERSISTENT_FLAG)
                chip->i2c_mode_default = chip->i2c_mode;
        }
        break;
    default:
        break;
    }
}

sim_bus_status sim_chip_i2c_write(sim_chip *chip, uint8_t addr, const uint8_t *buf, size_t len)
{
    start_transaction(chip);
    if (!address_acknowledged(chip, addr))
        return stop_transaction(chip, SIM_BUS_NACK);

    /* A frame written while the chip executes is refused at the register byte. */
    if (len >= 2 && buf[0] == REG_DATA && chip->clock.now_ns < chip->exec_until_ns) {
        clock_bytes(chip, 1);
        return stop_transaction(chip, SIM_BUS_NACK);
    }

    clock_bytes(chip, len);
    if (len > 0)
        write_register(chip, buf, len);
    return stop_transaction(chip, SIM_BUS_ACK);
}

static void put_be(uint8_t *out, size_t size, uint32_t value)
{
    for (size_t i = 0; i < size; i++)
        out[i] = (uint8_t)(value >> (8 * (size - 1 - i)));
}

/* Fills reg (4 bytes) with I2C_STATE; announces the presented frame to the next DATA read. */
static void read_state(sim_chip *chip, uint8_t *reg)
{
    uint64_t now = chip->clock.now_ns;
    size_t frame_len = 0;

    reg[0] = STATE_SOFT_RESET;
    if (chip->stuck) {
        reg[0] |= STATE_BUSY;
    } else {
        frame_len = sim_link_peek(&chip->link, now, chip->data_reg_len, 1);
        if (now < chip->exec_until_ns)
            reg[0] |= STATE_BUSY;
        if (frame_len > 0)
            reg[0] |= STATE_RESP_RDY;
    }
    reg[1] = 0;
    put_be(reg + 2, 2, (uint32_t)frame_len);
}

static void read_data(sim_chip *chip, uint8_t *buf, size_t len)
{
    uint8_t frame[SIM_LINK_FRAME_MAX];
    size_t frame_len;

    if (chip->stuck)
        return;
    frame_len = sim_link_take(&chip->link, chip->clock.now_ns, chip->data_reg_len, frame,
                              sizeof(frame));
    if (frame_len == 0)
        return;

    if (frame_len > len)
        frame_len = len;
    memcpy(buf, frame, frame_len);
    if (sim_rng_chance(&chip->rng, chip->faults.flip_rate))
        sim_rng_flip_bit(&chip->rng, buf, frame_len);
}

/* Fills buf with what the selected register returns; bytes past its end stay 0xFF. */
static void read_register(sim_chip *chip, uint8_t *buf, size_t len)
{
    uint8_t reg[4];
    size_t size = 0;

    memset(buf, 0xFF, len);
    switch (chip->selected_reg) {
    case REG_DATA:
        read_data(chip, buf, len);
        return;
    case REG_DATA_REG_LEN:
        put_be(reg, 2, chip->data_reg_len);
        size = 2;
        break;
    case REG_I2C_STATE:
        read_state(chip, reg);
        size = 4;
        break;
    case REG_MAX_SCL_FREQU:
        put_be(reg, 4, max_scl_khz(chip->i2c_mode));
        size = 4;
        break;
    case REG_I2C_MODE:
        /* The persistent flag always reads as 0. */
        reg[0] = 0;
        reg[1] = chip->i2c_mode;
        size = 2;
        break;
    default:
        /* GUARD_TIME and TRANS_TIMEOUT read 0xFFFFFFFF: use the defaults. */
        return;
    }
    memcpy(buf, reg, size < len ? size : len);
}

sim_bus_status sim_chip_i2c_read(sim_chip *chip, uint8_t addr, uint8_t *buf, size_t len)
{
    start_transaction(chip);
    if (!address_acknowledged(chip, addr))
        return stop_transaction(chip, SIM_BUS_NACK);

    if (len > 0)
        read_register(chip, buf, len);
    clock_bytes(chip, len);
    return stop_transaction(chip, SIM_BUS_ACK);
}

void sim_chip_set_speed(sim_chip *chip, unsigned khz)
{
    if (khz > 0)
        chip->speed_khz = khz;
}

void sim_chip_advance(sim_chip *chip, uint64_t us)
{
    uint64_t ns = us_to_ns(us);
    uint64_t now = chip->clock.now_ns;
    uint64_t guard = 0;

    if (now < chip->guard_until_ns)
        guard = chip->guard_until_ns - now < ns ? chip->guard_until_ns - now : ns;
    sim_clock_spend(&chip->clock, guard, SIM_TIME_GUARD);
    sim_clock_spend(&chip->clock, ns - guard, SIM_TIME_WAIT);

    apply_events(chip);
    sim_app_tick(chip->app, chip->clock.now_ns / NS_PER_US);
    publish_stats(chip);
}

uint64_t sim_chip_now_us(const sim_chip *chip)
{
    return chip->clock.now_ns / NS_PER_US;
}

void sim_chip_power_cycle(sim_chip *chip)
{
    reset_chip(chip, chip->clock.now_ns, SIM_STARTUP_US);
    publish_stats(chip);
}

const sim_time_stats *sim_chip_stats(const sim_chip *chip)
{
    return &chip->stats;
}

sim_app *sim_chip_app(sim_chip *chip)
{
    return chip->app;
}
