/* SPDX-License-Identifier: MIT */
/*
 * Internal: the open functions of the built-in transport backends. Each
 * receives the part of the device string after "scheme:" and parses its own
 * options; the registry in transport.c picks one by scheme.
 */
#ifndef TRUSTX_TRANSPORT_BACKENDS_H
#define TRUSTX_TRANSPORT_BACKENDS_H

#include "trustx/transport.h"

/* Common ",addr=0x30,speed=400" options, shared by the bus backends. */
typedef struct transport_bus_options {
    uint8_t addr;
    unsigned speed_khz;
} transport_bus_options;

/*
 * Splits "PATH,key=value,..." into the path (copied into path, cap bytes)
 * and applies addr= and speed= to opts. Keys listed in extra_keys (comma-
 * separated, may be NULL) are left for the caller in *rest; any other key is
 * rejected with a message naming it.
 */
trustx_rc transport_parse_args(const char *scheme, const char *args, char *path, size_t cap,
                               transport_bus_options *opts, const char *extra_keys,
                               char *rest, size_t rest_cap);

trustx_rc transport_i2cdev_open(const char *args, trustx_transport **out);
trustx_rc transport_sim_open(const char *args, trustx_transport **out);
trustx_rc transport_socket_open(const char *args, trustx_transport **out);
trustx_rc transport_tcp_open(const char *args, trustx_transport **out);
trustx_rc transport_ft260_open(const char *args, trustx_transport **out);

extern const trustx_transport_ops transport_i2cdev_ops;
extern const trustx_transport_ops transport_sim_ops;
extern const trustx_transport_ops transport_socket_ops;
extern const trustx_transport_ops transport_ft260_ops;

/* Monotonic clock and sleep for backends that talk to real hardware. */
uint64_t transport_real_now_us(void *ctx);
void transport_real_sleep_us(void *ctx, uint32_t us);

#endif
