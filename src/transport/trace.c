/* SPDX-License-Identifier: MIT */
/*
 * The trace decorator: logs every bus transaction of the wrapped transport
 * as a hex dump at TRUSTX_LOG_TRACE, with its outcome and the clock.
 */
#include <stdio.h>
#include <stdlib.h>

#include "trustx/log.h"
#include "trustx/transport.h"

#define TRACE_DUMP_MAX 300   /* bytes shown per transaction; a frame is at most 277 */

static void dump(trustx_transport *inner, const char *dir, uint8_t addr, const uint8_t *buf,
                 size_t len, trustx_rc rc)
{
    char text[TRACE_DUMP_MAX * 3 + 16];
    size_t shown = len < TRACE_DUMP_MAX ? len : TRACE_DUMP_MAX;
    size_t pos = 0;

    if (!trustx_log_enabled(TRUSTX_LOG_TRACE))
        return;

    text[0] = '\0';
    if (rc == TRUSTX_OK && buf != NULL) {
        for (size_t i = 0; i < shown; i++)
            pos += (size_t)snprintf(text + pos, sizeof(text) - pos, " %02X", buf[i]);
        if (shown < len)
            snprintf(text + pos, sizeof(text) - pos, " ...");
    }

    trustx_log(TRUSTX_LOG_TRACE, "bus", "%10llu us %s 0x%02X %3zu:%s%s",
               (unsigned long long)trustx_transport_now_us(inner), dir, addr, len, text,
               rc == TRUSTX_OK ? "" : rc == TRUSTX_E_NACK ? " NACK" : " FAILED");
}

static trustx_rc trace_write(void *ctx, uint8_t addr, const uint8_t *buf, size_t len)
{
    trustx_transport *inner = ctx;
    trustx_rc rc = inner->ops->write(inner->ctx, addr, buf, len);

    dump(inner, "W", addr, buf, len, rc);
    return rc;
}

static trustx_rc trace_read(void *ctx, uint8_t addr, uint8_t *buf, size_t len)
{
    trustx_transport *inner = ctx;
    trustx_rc rc = inner->ops->read(inner->ctx, addr, buf, len);

    dump(inner, "R", addr, buf, len, rc);
    return rc;
}

static trustx_rc trace_set_speed(void *ctx, unsigned khz)
{
    trustx_transport *inner = ctx;

    trustx_log(TRUSTX_LOG_TRACE, "bus", "clock %u kHz", khz);
    return trustx_transport_set_speed(inner, khz);
}

static uint64_t trace_now_us(void *ctx)
{
    return trustx_transport_now_us(ctx);
}

static void trace_sleep_us(void *ctx, uint32_t us)
{
    trustx_transport_sleep_us(ctx, us);
}

static trustx_rc trace_hard_reset(void *ctx)
{
    trustx_transport *inner = ctx;

    trustx_log(TRUSTX_LOG_TRACE, "bus", "hard reset");
    if (inner->ops->hard_reset == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_UNSUPPORTED,
                           "%s transport has no reset line", inner->ops->name);
    return inner->ops->hard_reset(inner->ctx);
}

static void trace_close(void *ctx)
{
    trustx_transport_close(ctx);
}

static const trustx_transport_ops trace_ops = {
    .name = "trace",
    .description = "decorator: hex dump of every bus transaction (trace+DEVICE)",
    .write = trace_write,
    .read = trace_read,
    .set_speed = trace_set_speed,
    .now_us = trace_now_us,
    .sleep_us = trace_sleep_us,
    .hard_reset = trace_hard_reset,
    .close = trace_close,
};

trustx_rc trustx_transport_trace_wrap(trustx_transport *inner, trustx_transport **out)
{
    trustx_rc rc = trustx_transport_new(&trace_ops, inner, out);

    if (rc != TRUSTX_OK)
        return rc;
    (*out)->addr = inner->addr;
    (*out)->speed_khz = inner->speed_khz;
    (*out)->inner = inner;
    return TRUSTX_OK;
}
