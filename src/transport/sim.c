/* SPDX-License-Identifier: MIT */
/*
 * In-process simulator backend: "sim:PATH[,flip=RATE][,seed=S]...". The chip
 * state lives in PATH (created on first use); the fault keys of
 * sim_faults_parse() may follow the path. Time is the simulator's virtual
 * clock, so waiting costs no real time.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends.h"
#include "trustx/log.h"
#include "sim_chip.h"
#include "trustx/sim_transport.h"

#define SIM_PATH_MAX 512
#define SIM_LOCK_WAIT_MS 30000
#define SIM_FAULT_KEYS "flip,nackburst,nackevery,lose,neverready,resetcmd,seed,lockwait"

typedef struct sim_ctx {
    sim_chip *chip;
} sim_ctx;

static trustx_rc sim_write(void *ctx, uint8_t addr, const uint8_t *buf, size_t len)
{
    sim_ctx *c = ctx;

    if (sim_chip_i2c_write(c->chip, addr, buf, len) == SIM_BUS_NACK)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NACK,
                           "simulated chip did not acknowledge address 0x%02x", addr);
    return TRUSTX_OK;
}

static trustx_rc sim_read(void *ctx, uint8_t addr, uint8_t *buf, size_t len)
{
    sim_ctx *c = ctx;

    if (sim_chip_i2c_read(c->chip, addr, buf, len) == SIM_BUS_NACK)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NACK,
                           "simulated chip did not acknowledge address 0x%02x", addr);
    return TRUSTX_OK;
}

static trustx_rc sim_set_speed(void *ctx, unsigned khz)
{
    sim_ctx *c = ctx;

    sim_chip_set_speed(c->chip, khz);
    return TRUSTX_OK;
}

static uint64_t sim_now_us(void *ctx)
{
    sim_ctx *c = ctx;

    return sim_chip_now_us(c->chip);
}

static void sim_sleep_us(void *ctx, uint32_t us)
{
    sim_ctx *c = ctx;

    sim_chip_advance(c->chip, us);
}

static trustx_rc sim_hard_reset(void *ctx)
{
    sim_ctx *c = ctx;

    sim_chip_power_cycle(c->chip);
    return TRUSTX_OK;
}

static void sim_close(void *ctx)
{
    sim_ctx *c = ctx;

    if (c == NULL)
        return;
    sim_chip_free(c->chip);
    free(c);
}

const trustx_transport_ops transport_sim_ops = {
    .name = "sim",
    .description = "in-process simulator: sim:STATE_FILE[,flip=RATE,seed=N,...]",
    .write = sim_write,
    .read = sim_read,
    .set_speed = sim_set_speed,
    .now_us = sim_now_us,
    .sleep_us = sim_sleep_us,
    .hard_reset = sim_hard_reset,
    .close = sim_close,
};

/* Moves "lockwait=MS" out of the fault list. */
static trustx_rc take_lock_wait(char *faults, uint32_t *lock_wait_ms)
{
    char *p = strstr(faults, "lockwait=");
    char *end;
    unsigned long value;

    *lock_wait_ms = SIM_LOCK_WAIT_MS;
    if (p == NULL)
        return TRUSTX_OK;

    value = strtoul(p + 9, &end, 10);
    if (end == p + 9 || (*end != '\0' && *end != ',') || value > 3600000ul)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "sim: invalid lockwait value; expected milliseconds up to 3600000");
    *lock_wait_ms = (uint32_t)value;

    if (*end == ',')
        end++;
    memmove(p, end, strlen(end) + 1);
    if (p > faults && p[-1] == ',' && *p == '\0')
        p[-1] = '\0';
    return TRUSTX_OK;
}

trustx_rc transport_sim_open(const char *args, trustx_transport **out)
{
    char path[SIM_PATH_MAX];
    char fault_spec[SIM_PATH_MAX];
    transport_bus_options opts;
    sim_faults faults;
    uint32_t lock_wait_ms;
    sim_app *app = NULL;
    sim_ctx *c;
    trustx_rc rc;

    rc = transport_parse_args("sim", args, path, sizeof(path), &opts, SIM_FAULT_KEYS, fault_spec,
                              sizeof(fault_spec));
    if (rc == TRUSTX_OK && path[0] == '\0')
        rc = trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                         "sim: no state file given; use sim:PATH (created on first use)");
    if (rc == TRUSTX_OK)
        rc = take_lock_wait(fault_spec, &lock_wait_ms);
    if (rc == TRUSTX_OK)
        rc = sim_faults_parse(fault_spec, &faults);
    if (rc != TRUSTX_OK)
        return rc;

    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NOMEM, "out of memory");

    /* A warning, so that a mistyped path does not silently give a fresh chip. */
    if (access(path, F_OK) != 0)
        trustx_log(TRUSTX_LOG_WARN, "sim", "no state file at %s; creating a new simulated chip",
                   path);

    /* sim_chip_new() owns app from the call on, and closes it when it fails. */
    rc = sim_app_open(path, lock_wait_ms, &app);
    if (rc == TRUSTX_OK)
        rc = sim_chip_new(app, &faults, &c->chip);
    if (rc != TRUSTX_OK) {
        free(c);
        return rc;
    }

    rc = trustx_transport_new(&transport_sim_ops, c, out);
    if (rc != TRUSTX_OK) {
        sim_close(c);
        return rc;
    }
    (*out)->addr = opts.addr;
    (*out)->speed_khz = opts.speed_khz;
    return TRUSTX_OK;
}

trustx_rc trustx_sim_transport_stats(trustx_transport *t, trustx_sim_timing *out)
{
    const sim_time_stats *s;

    while (t != NULL && t->ops != &transport_sim_ops) {
        t = trustx_transport_inner(t);
    }
    if (t == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_UNSUPPORTED,
                           "modeled timing is only available on a sim: device");

    s = sim_chip_stats(((sim_ctx *)t->ctx)->chip);
    memset(out, 0, sizeof(*out));
    out->bus_us = s->bus_us;
    out->guard_us = s->guard_us;
    out->exec_us = s->exec_us;
    out->wait_us = s->wait_us;
    out->transactions = s->transactions;
    out->bytes = s->bytes;
    out->commands = s->commands;
    out->now_us = sim_chip_now_us(((sim_ctx *)t->ctx)->chip);
    return TRUSTX_OK;
}
