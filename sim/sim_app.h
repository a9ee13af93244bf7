/* SPDX-License-Identifier: MIT */
/*
 * Chip side, application layer: the OPTIGA Trust X command set executed on
 * a model of the chip's data objects, metadata, access conditions, lifecycle
 * states and keys. It sees whole command APDUs and returns whole response
 * APDUs; framing and chaining belong to the bus model (sim_chip.h).
 */
#ifndef TRUSTX_SIM_APP_H
#define TRUSTX_SIM_APP_H

#include <stddef.h>
#include <stdint.h>

#include "trustx/error.h"

typedef struct sim_app sim_app;

/* Value the simulator reports in 0xE0C6 (max comms buffer), as on Trust M. */
#define SIM_APP_MAX_COMMS_BUFFER 0x0615

/*
 * Opens the chip state stored in path, creating a factory-fresh chip (random
 * UID, vendor CA, device certificate in 0xE0E0 for the key in 0xE0F0) when
 * the file does not exist. Takes an exclusive lock on path.lock that is held
 * until sim_app_close(); a second opener waits up to lock_wait_ms and then
 * fails with TRUSTX_E_BUSY. path = NULL gives a volatile chip (no file).
 */
trustx_rc sim_app_open(const char *path, uint32_t lock_wait_ms, sim_app **out);

/* Saves nothing (every change is saved when made), releases the lock, frees. */
void sim_app_close(sim_app *app);

/*
 * Executes one command APDU. Writes the response APDU (Sta, UnDef, OutLen,
 * OutData) into resp (resp_cap >= 4 + SIM_APP_MAX_COMMS_BUFFER) and sets
 * *resp_len. *exec_us receives the chip execution time the command costs in
 * the timing model, including security-event-counter delays. State changes
 * are saved atomically before the function returns.
 * When the save fails, the failure is logged and the command fails with
 * device error 0x06. APDUs longer than SIM_APP_MAX_COMMS_BUFFER fail with
 * 0x04, and OutData is never longer than SIM_APP_MAX_COMMS_BUFFER - 4 bytes.
 */
void sim_app_execute(sim_app *app, const uint8_t *apdu, size_t apdu_len, uint8_t *resp,
                     size_t resp_cap, size_t *resp_len, uint32_t *exec_us);

/*
 * Closes the application context, as any chip reset does: the last error,
 * sessions and a running hash are lost. A data object write still executing
 * counts as completed, so for a power loss call sim_app_power_loss() first.
 */
void sim_app_reset(sim_app *app);

/*
 * Advances the application's view of time (security event counter decay)
 * to now_us on the bus model's virtual clock. A value below the previous
 * one means the clock was restarted.
 */
void sim_app_tick(sim_app *app, uint64_t now_us);

/*
 * Interrupts a command in progress as a power loss would: a data object
 * write that was executing is left in the state a torn NVM write leaves
 * (the first half written). Used by fault injection.
 * A write executes from its sim_app_execute() until the next command,
 * sim_app_reset(), or a sim_app_tick() at or past its start time plus its
 * exec_us. The torn object keeps the new used size and the first half of
 * the programmed bytes. For erase&write the programmed bytes run from offset
 * 0 to the end of the old or the new content, whichever is longer. The torn
 * object is saved to the state file. The power loss also drops the volatile
 * state, as sim_app_reset() does.
 */
void sim_app_power_loss(sim_app *app);

/* Returns the number of NVM writes made to object oid so far (wear counter). */
uint64_t sim_app_write_count(const sim_app *app, uint16_t oid);

/*
 * Writes a description of the chip state as JSON (json != 0) or text into
 * buf; returns the length it needed (like snprintf).
 */
size_t sim_app_describe(const sim_app *app, int json, char *buf, size_t cap);

/* Returns the PEM certificate of the simulated vendor CA that issued 0xE0E0. */
const char *sim_app_vendor_ca_pem(const sim_app *app);

#endif
