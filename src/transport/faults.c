/* SPDX-License-Identifier: MIT */
/*
 * The faults decorator, for tests: corrupts frames, NACKs transactions and
 * loses DATA reads of the wrapped transport, reproducibly from a seed. It
 * tracks the last register address written so that it only touches frames
 * (register 0x80), never register reads the protocol has no CRC for.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trustx/ifxi2c.h"
#include "trustx/transport.h"

#define FAULT_SPEC_MAX 256

typedef struct faults_ctx {
    trustx_transport *inner;
    double flip_rate;
    unsigned nack_burst;
    unsigned nack_every;
    unsigned drop_nth;
    uint64_t rng;
    uint64_t transactions;
    uint64_t data_reads;
    unsigned nacks_left;
    uint8_t last_reg;
} faults_ctx;

static uint64_t next_random(faults_ctx *c)
{
    /* xorshift64*: small, deterministic, good enough to pick fault positions. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return c->rng * 0x2545F4914F6CDD1DULL;
}

static int chance(faults_ctx *c, double rate)
{
    return rate > 0 && (double)(next_random(c) >> 11) / 9007199254740992.0 < rate;
}

/* Returns nonzero when this transaction is to be NACKed. */
static int take_nack(faults_ctx *c)
{
    c->transactions++;
    if (c->nack_every > 0 && c->transactions % c->nack_every == 0)
        c->nacks_left = c->nack_burst;
    if (c->nacks_left == 0)
        return 0;
    c->nacks_left--;
    return 1;
}

static void flip_bit(faults_ctx *c, uint8_t *buf, size_t len)
{
    uint64_t bit = next_random(c) % (len * 8);

    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

static trustx_rc faults_write(void *ctx, uint8_t addr, const uint8_t *buf, size_t len)
{
    faults_ctx *c = ctx;
    uint8_t copy[TRUSTX_FRAME_MAX + 1];

    if (take_nack(c))
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NACK,
                           "injected NACK of address 0x%02x", addr);
    if (len > 0)
        c->last_reg = buf[0];

    if (len > 1 && buf[0] == TRUSTX_REG_DATA && len <= sizeof(copy) && chance(c, c->flip_rate)) {
        memcpy(copy, buf, len);
        flip_bit(c, copy + 1, len - 1);
        return c->inner->ops->write(c->inner->ctx, addr, copy, len);
    }
    return c->inner->ops->write(c->inner->ctx, addr, buf, len);
}

static trustx_rc faults_read(void *ctx, uint8_t addr, uint8_t *buf, size_t len)
{
    faults_ctx *c = ctx;
    trustx_rc rc;

    if (take_nack(c))
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NACK,
                           "injected NACK of address 0x%02x", addr);

    rc = c->inner->ops->read(c->inner->ctx, addr, buf, len);
    if (rc != TRUSTX_OK || c->last_reg != TRUSTX_REG_DATA || len == 0)
        return rc;

    c->data_reads++;
    if (c->drop_nth > 0 && c->data_reads == c->drop_nth)
        memset(buf, 0xFF, len);
    else if (chance(c, c->flip_rate))
        flip_bit(c, buf, len);
    return TRUSTX_OK;
}

static trustx_rc faults_set_speed(void *ctx, unsigned khz)
{
    faults_ctx *c = ctx;

    return trustx_transport_set_speed(c->inner, khz);
}

static uint64_t faults_now_us(void *ctx)
{
    faults_ctx *c = ctx;

    return trustx_transport_now_us(c->inner);
}

static void faults_sleep_us(void *ctx, uint32_t us)
{
    faults_ctx *c = ctx;

    trustx_transport_sleep_us(c->inner, us);
}

static trustx_rc faults_hard_reset(void *ctx)
{
    faults_ctx *c = ctx;

    if (c->inner->ops->hard_reset == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_UNSUPPORTED,
                           "%s transport has no reset line", c->inner->ops->name);
    return c->inner->ops->hard_reset(c->inner->ctx);
}

static void faults_close(void *ctx)
{
    faults_ctx *c = ctx;

    if (c == NULL)
        return;
    trustx_transport_close(c->inner);
    free(c);
}

static const trustx_transport_ops faults_ops = {
    .name = "faults",
    .description = "decorator for tests: faults(flip=RATE,nack=N,nackevery=K,drop=N,seed=S)+DEVICE",
    .write = faults_write,
    .read = faults_read,
    .set_speed = faults_set_speed,
    .now_us = faults_now_us,
    .sleep_us = faults_sleep_us,
    .hard_reset = faults_hard_reset,
    .close = faults_close,
};

static trustx_rc parse_item(faults_ctx *c, const char *key, const char *value)
{
    char *end = NULL;

    errno = 0;
    if (strcmp(key, "flip") == 0) {
        c->flip_rate = strtod(value, &end);
        if (c->flip_rate < 0 || c->flip_rate > 1)
            end = NULL;
    } else if (strcmp(key, "nack") == 0) {
        c->nack_burst = (unsigned)strtoul(value, &end, 10);
        c->nacks_left = c->nack_burst;
    } else if (strcmp(key, "nackevery") == 0) {
        c->nack_every = (unsigned)strtoul(value, &end, 10);
    } else if (strcmp(key, "drop") == 0) {
        c->drop_nth = (unsigned)strtoul(value, &end, 10);
    } else if (strcmp(key, "seed") == 0) {
        c->rng = strtoull(value, &end, 0);
        if (c->rng == 0)
            c->rng = 1;
    } else {
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "faults: unknown key '%s'; use flip, nack, nackevery, drop or seed",
                           key);
    }

    if (end == NULL || end == value || *end != '\0' || errno != 0)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "faults: invalid value '%s' for %s", value, key);
    return TRUSTX_OK;
}

static trustx_rc parse_spec(faults_ctx *c, const char *spec)
{
    char copy[FAULT_SPEC_MAX];
    char *save = NULL;

    if (strlen(spec) >= sizeof(copy))
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "faults: specification is longer than %zu bytes", sizeof(copy) - 1);
    strcpy(copy, spec);

    for (char *item = strtok_r(copy, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        trustx_rc rc;

        if (eq == NULL)
            return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                               "faults: '%s' needs a value (KEY=VALUE)", item);
        *eq = '\0';
        rc = parse_item(c, item, eq + 1);
        if (rc != TRUSTX_OK)
            return rc;
    }
    return TRUSTX_OK;
}

trustx_rc trustx_transport_faults_wrap(trustx_transport *inner, const char *spec,
                                       trustx_transport **out)
{
    faults_ctx *c = calloc(1, sizeof(*c));
    trustx_rc rc;

    if (c == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NOMEM, "out of memory");
    c->inner = inner;
    c->rng = 1;

    rc = parse_spec(c, spec ? spec : "");
    if (rc == TRUSTX_OK)
        rc = trustx_transport_new(&faults_ops, c, out);
    if (rc != TRUSTX_OK) {
        free(c);
        return rc;
    }
    (*out)->addr = inner->addr;
    (*out)->speed_khz = inner->speed_khz;
    (*out)->inner = inner;
    return TRUSTX_OK;
}
