/* SPDX-License-Identifier: MIT */
/*
 * Transports: how bytes reach a chip. A transport is a const table of
 * operations plus a per-instance context, chosen at run time by a device
 * string. Each operation is one I2C transaction (START, address, bytes,
 * STOP); there is no repeated start and no combined write-then-read.
 *
 * Time also comes from the transport: real backends use the monotonic clock
 * and nanosleep, simulator backends use the simulator's virtual clock, so a
 * protocol layer never reads a clock of its own.
 */
#ifndef TRUSTX_TRANSPORT_H
#define TRUSTX_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "trustx/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TRUSTX_I2C_DEFAULT_ADDR 0x30
#define TRUSTX_I2C_DEFAULT_KHZ 400

typedef struct trustx_transport_ops {
    const char *name;          /* scheme, such as "i2c" or "sim" */
    const char *description;   /* one line for --help */

    /*
     * Writes len bytes to the 7-bit address addr in one transaction.
     * MUST return TRUSTX_E_NACK when the address is not acknowledged and
     * TRUSTX_E_IO (with errno recorded) for any other bus failure.
     */
    trustx_rc (*write)(void *ctx, uint8_t addr, const uint8_t *buf, size_t len);

    /* Reads exactly len bytes from addr in one transaction; same errors as write. */
    trustx_rc (*read)(void *ctx, uint8_t addr, uint8_t *buf, size_t len);

    /* Sets the bus clock in kHz. Optional: NULL means the clock is fixed. */
    trustx_rc (*set_speed)(void *ctx, unsigned khz);

    /* Returns the transport's monotonic clock in microseconds. */
    uint64_t (*now_us)(void *ctx);

    /* Waits us microseconds (or advances a virtual clock by that much). */
    void (*sleep_us)(void *ctx, uint32_t us);

    /*
     * Power-cycles or resets the chip through a reset line. Optional: NULL
     * means the transport has no reset line and callers use a soft reset.
     */
    trustx_rc (*hard_reset)(void *ctx);

    /* Releases the context. MUST accept NULL. */
    void (*close)(void *ctx);
} trustx_transport_ops;

typedef struct trustx_transport {
    const trustx_transport_ops *ops;
    void *ctx;
    uint8_t addr;              /* 7-bit chip address, default 0x30 */
    unsigned speed_khz;        /* requested bus clock, default 400 */
    struct trustx_transport *inner; /* what a decorator wraps; NULL for a backend */
} trustx_transport;

/*
 * Opens the transport named by device:
 *   i2c:/dev/i2c-1[,addr=0x30][,speed=400]   or a bare /dev/i2c-N path
 *   ft260:[/dev/hidrawN | serial=S][,addr=..][,speed=..]
 *   sim:PATH[,options]          in-process simulator, state in PATH
 *   socket:PATH | tcp:127.0.0.1:PORT   a trustx-sim serve process
 * Decorators are prefixed with '+': "trace+sim:/tmp/x" wraps sim: in the
 * trace decorator, "faults(flip=0.01)+sim:/tmp/x" in the faults decorator.
 * On success *out owns the transport; free it with trustx_transport_close().
 * Returns TRUSTX_E_INVALID_ARG for a malformed string (the message names it)
 * and TRUSTX_E_IO when the device cannot be opened (path and OS error).
 */
trustx_rc trustx_transport_open(const char *device, trustx_transport **out);

/* Closes t and everything it wraps. Accepts NULL. */
void trustx_transport_close(trustx_transport *t);

/* Allocates a transport around an ops table and context (for backends and decorators). */
trustx_rc trustx_transport_new(const trustx_transport_ops *ops, void *ctx, trustx_transport **out);

/* Wrappers that call the ops table with t->addr. */
trustx_rc trustx_transport_write(trustx_transport *t, const uint8_t *buf, size_t len);
trustx_rc trustx_transport_read(trustx_transport *t, uint8_t *buf, size_t len);
trustx_rc trustx_transport_set_speed(trustx_transport *t, unsigned khz);
uint64_t trustx_transport_now_us(trustx_transport *t);
void trustx_transport_sleep_us(trustx_transport *t, uint32_t us);

/*
 * Wraps inner in a decorator that logs every transaction as a hex dump at
 * TRUSTX_LOG_TRACE. On success the new transport owns inner.
 */
trustx_rc trustx_transport_trace_wrap(trustx_transport *inner, trustx_transport **out);

/*
 * Fault injection decorator, for tests. spec is a comma-separated list:
 *   flip=RATE     flip one random bit in a transferred frame with probability RATE (0..1)
 *   nack=N        NACK the next N transactions, then work again
 *   nackevery=K   NACK a burst of `nack` transactions every K transactions
 *   drop=N        lose the N-th DATA read (the host sees 0xFF bytes)
 *   seed=S        random seed (default 1), so a run is reproducible
 * On success the new transport owns inner.
 */
trustx_rc trustx_transport_faults_wrap(trustx_transport *inner, const char *spec,
                                       trustx_transport **out);

/* Returns a NULL-terminated list of the built-in backends, for --help. */
const trustx_transport_ops *const *trustx_transport_backends(void);

#ifdef __cplusplus
}
#endif

#endif
