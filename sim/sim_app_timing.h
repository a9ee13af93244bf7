/* SPDX-License-Identifier: MIT */
/*
 * Chip execution times of the application model, one table in
 * sim_app_timing.c, plus the security event counter (SEC) constants. A
 * benchmark cites these to explain the modeled lower bound of a command.
 */
#ifndef TRUSTX_SIM_APP_TIMING_H
#define TRUSTX_SIM_APP_TIMING_H

#include <stddef.h>
#include <stdint.h>

typedef enum sim_app_op {
    SIM_APP_OP_ERROR = 0,         /* any command that fails */
    SIM_APP_OP_OPEN_APPLICATION,
    SIM_APP_OP_GET_DATA,          /* per byte returned */
    SIM_APP_OP_GET_METADATA,
    SIM_APP_OP_SET_DATA,          /* per byte written */
    SIM_APP_OP_SET_METADATA,
    SIM_APP_OP_GET_RANDOM,        /* per byte returned */
    SIM_APP_OP_CALC_HASH,         /* per byte hashed */
    SIM_APP_OP_GEN_KEY_P256,
    SIM_APP_OP_GEN_KEY_P384,
    SIM_APP_OP_SIGN_P256,
    SIM_APP_OP_SIGN_P384,
    SIM_APP_OP_VERIFY_P256,
    SIM_APP_OP_VERIFY_P384,
    SIM_APP_OP_COUNT
} sim_app_op;

/* One row: time = base_us + per_byte_us * bytes. */
typedef struct sim_app_timing {
    sim_app_op op;
    const char *name;
    uint32_t base_us;
    uint32_t per_byte_us;
    const char *source;           /* where the number comes from, or "estimate" */
} sim_app_timing;

/* Returns the table (SIM_APP_OP_COUNT rows, indexed by sim_app_op). */
const sim_app_timing *sim_app_timing_table(size_t *count);

/* Returns the execution time of op moving bytes bytes, in microseconds. */
uint32_t sim_app_timing_us(sim_app_op op, size_t bytes);

/* The SEC decays by one per tmax of virtual time (Trust X datasheet: 5 s). */
#define SIM_APP_SEC_DECAY_US 5000000u

/*
 * While the SEC is above this value, each private-key use is delayed by
 * SIM_APP_SEC_DELAY_US, so a long burst settles at one use per tmax.
 * NOTE: threshold and delay are estimates; the Trust X datasheet states only
 * that a high SEC adds delays.
 */
#define SIM_APP_SEC_DELAY_THRESHOLD 128u
#define SIM_APP_SEC_DELAY_US 5000000u

#endif
