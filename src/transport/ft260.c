/* SPDX-License-Identifier: MIT */
/* FTDI FT260 USB-HID to I2C bridge backend. */
#include "backends.h"

static trustx_rc ft260_unavailable(void *ctx, uint8_t addr, const uint8_t *buf, size_t len)
{
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_UNSUPPORTED, "ft260: not available");
}

static trustx_rc ft260_unavailable_read(void *ctx, uint8_t addr, uint8_t *buf, size_t len)
{
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_UNSUPPORTED, "ft260: not available");
}

const trustx_transport_ops transport_ft260_ops = {
    .name = "ft260",
    .description = "FTDI FT260 USB-HID bridge: ft260:[/dev/hidrawN|serial=S]",
    .write = ft260_unavailable,
    .read = ft260_unavailable_read,
    .now_us = transport_real_now_us,
    .sleep_us = transport_real_sleep_us,
};

/* TODO: the FT260 HID report protocol is not implemented yet. */
trustx_rc transport_ft260_open(const char *args, trustx_transport **out)
{
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_UNSUPPORTED,
                       "ft260: the FT260 bridge is not supported by this build yet ('%s')", args);
}
