/* SPDX-License-Identifier: MIT */
/*
 * Linux i2c-dev backend: "i2c:/dev/i2c-1,addr=0x30,speed=400" or a bare
 * "/dev/i2c-1". Each transaction is one read() or write() on the character
 * device after I2C_SLAVE selects the address. The kernel driver fixes the bus
 * clock, so speed= is recorded for the protocol's timing but not applied.
 */
#include "backends.h"

#ifdef __linux__

#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define I2CDEV_PATH_MAX 256

typedef struct i2cdev_ctx {
    int fd;
    uint8_t selected_addr;
    char path[I2CDEV_PATH_MAX];
} i2cdev_ctx;

static trustx_rc select_addr(i2cdev_ctx *c, uint8_t addr)
{
    if (c->selected_addr == addr)
        return TRUSTX_OK;
    if (ioctl(c->fd, I2C_SLAVE, (unsigned long)addr) < 0)
        return trustx_fail_errno(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, errno,
                                 "%s: cannot select I2C address 0x%02x: %s", c->path, addr,
                                 strerror(errno));
    c->selected_addr = addr;
    return TRUSTX_OK;
}

/*
 * i2c-dev reports an address NACK as EREMOTEIO (most adapters) or ENXIO;
 * both mean "try again later" for a chip that is busy or asleep.
 */
static trustx_rc transfer_error(const i2cdev_ctx *c, const char *what, uint8_t addr, int err)
{
    if (err == EREMOTEIO || err == ENXIO || err == EAGAIN)
        return trustx_fail_errno(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NACK, err,
                                 "%s: address 0x%02x not acknowledged on %s", c->path, addr, what);
    return trustx_fail_errno(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, err, "%s: %s failed: %s",
                             c->path, what, strerror(err));
}

static trustx_rc i2cdev_write(void *ctx, uint8_t addr, const uint8_t *buf, size_t len)
{
    i2cdev_ctx *c = ctx;
    trustx_rc rc = select_addr(c, addr);
    ssize_t n;

    if (rc != TRUSTX_OK)
        return rc;
    n = write(c->fd, buf, len);
    if (n < 0)
        return transfer_error(c, "write", addr, errno);
    if ((size_t)n != len)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "%s: short write (%zd of %zu bytes)", c->path, n, len);
    return TRUSTX_OK;
}

static trustx_rc i2cdev_read(void *ctx, uint8_t addr, uint8_t *buf, size_t len)
{
    i2cdev_ctx *c = ctx;
    trustx_rc rc = select_addr(c, addr);
    ssize_t n;

    if (rc != TRUSTX_OK)
        return rc;
    n = read(c->fd, buf, len);
    if (n < 0)
        return transfer_error(c, "read", addr, errno);
    if ((size_t)n != len)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO,
                           "%s: short read (%zd of %zu bytes)", c->path, n, len);
    return TRUSTX_OK;
}

static void i2cdev_close(void *ctx)
{
    i2cdev_ctx *c = ctx;

    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

const trustx_transport_ops transport_i2cdev_ops = {
    .name = "i2c",
    .description = "Linux i2c-dev: i2c:/dev/i2c-N[,addr=0x30][,speed=400] or /dev/i2c-N",
    .write = i2cdev_write,
    .read = i2cdev_read,
    .set_speed = NULL,
    .now_us = transport_real_now_us,
    .sleep_us = transport_real_sleep_us,
    .hard_reset = NULL,
    .close = i2cdev_close,
};

trustx_rc transport_i2cdev_open(const char *args, trustx_transport **out)
{
    transport_bus_options opts;
    i2cdev_ctx *c;
    trustx_rc rc;
    int err;

    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_NOMEM, "out of memory");
    c->fd = -1;

    rc = transport_parse_args("i2c", args, c->path, sizeof(c->path), &opts, NULL, NULL, 0);
    if (rc == TRUSTX_OK && c->path[0] == '\0')
        rc = trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_INVALID_ARG,
                         "i2c: no device path given; use i2c:/dev/i2c-N");
    if (rc != TRUSTX_OK) {
        free(c);
        return rc;
    }

    c->fd = open(c->path, O_RDWR | O_CLOEXEC);
    if (c->fd < 0) {
        err = errno;
        rc = trustx_fail_errno(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_IO, err,
                                 "cannot open I2C device %s: %s%s", c->path, strerror(err),
                                 err == ENOENT ? " (is i2c-dev loaded? try 'modprobe i2c-dev' and "
                                                 "'ls /dev/i2c-*')"
                                 : err == EACCES ? " (add yourself to the i2c group or see "
                                                   "docs/hardware.md for a udev rule)"
                                                 : "");
        free(c);
        return rc;
    }

    c->selected_addr = 0xFF;
    rc = select_addr(c, opts.addr);
    if (rc == TRUSTX_OK)
        rc = trustx_transport_new(&transport_i2cdev_ops, c, out);
    if (rc != TRUSTX_OK) {
        i2cdev_close(c);
        return rc;
    }
    (*out)->addr = opts.addr;
    (*out)->speed_khz = opts.speed_khz;
    return TRUSTX_OK;
}

#else /* no i2c-dev outside Linux */

static trustx_rc i2cdev_unavailable(void *ctx, uint8_t addr, const uint8_t *buf, size_t len)
{
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_UNSUPPORTED,
                       "i2c: Linux i2c-dev is not available on this system; use ft260:");
}

static trustx_rc i2cdev_unavailable_read(void *ctx, uint8_t addr, uint8_t *buf, size_t len)
{
    return i2cdev_unavailable(ctx, addr, buf, len);
}

const trustx_transport_ops transport_i2cdev_ops = {
    .name = "i2c",
    .description = "Linux i2c-dev (not available on this system)",
    .write = i2cdev_unavailable,
    .read = i2cdev_unavailable_read,
    .now_us = transport_real_now_us,
    .sleep_us = transport_real_sleep_us,
};

trustx_rc transport_i2cdev_open(const char *args, trustx_transport **out)
{
    return trustx_fail(TRUSTX_LAYER_TRANSPORT, TRUSTX_E_UNSUPPORTED,
                       "i2c: Linux i2c-dev is not available on this system ('%s'); use ft260:",
                       args);
}

#endif
