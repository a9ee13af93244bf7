/* SPDX-License-Identifier: MIT */
/* The transport object: an operation table, its context, and the bus address and clock. */
#include <stdlib.h>

#include "trustx/sim_transport.h"
#include "trustx/transport.h"

trustx_rc trustx_transport_new(const trustx_transport_ops *ops, void *ctx, trustx_transport **out)
{
    trustx_transport *t;

    if (ops == NULL || ops->write == NULL || ops->read == NULL || ops->now_us == NULL ||
        ops->sleep_us == NULL || out == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                           "transport operation table is incomplete");

    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NOMEM, "out of memory");

    t->ops = ops;
    t->ctx = ctx;
    t->addr = TRUSTX_I2C_DEFAULT_ADDR;
    t->speed_khz = TRUSTX_I2C_DEFAULT_KHZ;
    *out = t;
    return TRUSTX_OK;
}

void trustx_transport_close(trustx_transport *t)
{
    if (t == NULL)
        return;
    if (t->ops->close != NULL)
        t->ops->close(t->ctx);
    free(t);
}

trustx_rc trustx_transport_write(trustx_transport *t, const uint8_t *buf, size_t len)
{
    return t->ops->write(t->ctx, t->addr, buf, len);
}

trustx_rc trustx_transport_read(trustx_transport *t, uint8_t *buf, size_t len)
{
    return t->ops->read(t->ctx, t->addr, buf, len);
}

trustx_rc trustx_transport_set_speed(trustx_transport *t, unsigned khz)
{
    trustx_rc rc = TRUSTX_OK;

    if (t->ops->set_speed != NULL)
        rc = t->ops->set_speed(t->ctx, khz);
    if (rc == TRUSTX_OK)
        t->speed_khz = khz;
    return rc;
}

uint64_t trustx_transport_now_us(trustx_transport *t)
{
    return t->ops->now_us(t->ctx);
}

void trustx_transport_sleep_us(trustx_transport *t, uint32_t us)
{
    t->ops->sleep_us(t->ctx, us);
}

trustx_transport *trustx_transport_inner(trustx_transport *t)
{
    return t == NULL ? NULL : t->inner;
}
