/* SPDX-License-Identifier: MIT */
/*
 * Modeled time of an in-process simulated chip, for benchmarks and
 * diagnostics. Only a "sim:" device (possibly under decorators) has it.
 */
#ifndef TRUSTX_SIM_TRANSPORT_H
#define TRUSTX_SIM_TRANSPORT_H

#include <stdint.h>

#include "trustx/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct trustx_sim_timing {
    uint64_t now_us;           /* virtual clock */
    uint64_t bus_us;           /* bytes on the bus at the negotiated clock */
    uint64_t guard_us;         /* guard time between accesses */
    uint64_t exec_us;          /* command execution in the chip */
    uint64_t wait_us;          /* host waiting beyond the above (polling overhead) */
    uint64_t transactions;
    uint64_t bytes;
    uint64_t commands;
} trustx_sim_timing;

/* Fills out with the modeled time of the simulated chip behind t. */
trustx_rc trustx_sim_transport_stats(trustx_transport *t, trustx_sim_timing *out);

/* Returns the transport a decorator wraps, or NULL for a backend. */
trustx_transport *trustx_transport_inner(trustx_transport *t);

#ifdef __cplusplus
}
#endif

#endif
