/* SPDX-License-Identifier: MIT */
/*
 * The trustx-sim serve socket server: one simulated chip behind a unix or
 * loopback TCP socket, one I2C transaction per request, clients served one
 * after another. The library part only; the front end prints and handles
 * signals.
 *
 * Wire format (all integers big-endian):
 *   request  op(1) addr(1) len(2) [data]
 *     'W'  write len bytes of data to addr
 *     'R'  read len bytes from addr (no data)
 *     'S'  the host waited: data is a 4-byte count of microseconds (len = 4)
 *   reply    status(1) len(2) [data]
 *     status 0 = ACK (data only for 'R'), 1 = address NACK, 2 = bad request
 * Every transaction advances the virtual clock by its bus cost.
 */
#ifndef TRUSTX_SIM_SERVE_H
#define TRUSTX_SIM_SERVE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_chip.h"
#include "trustx/error.h"

/* Largest 'W' or 'R' length served; a Trust X frame is at most 277 bytes plus the register. */
#define SIM_SERVE_MAX_LEN 4096u

#define SIM_SERVE_HEADER 4u        /* op, addr, len */
#define SIM_SERVE_REPLY_HEADER 3u  /* status, len */

#define SIM_SERVE_ACK 0u
#define SIM_SERVE_NACK 1u
#define SIM_SERVE_BAD_REQUEST 2u

typedef struct sim_server sim_server;

typedef struct sim_serve_config {
    const char *socket_path;   /* unix socket to create, or NULL */
    const char *tcp;           /* "127.0.0.1:PORT" (PORT 0 = any free port), or NULL */
    int once;                  /* nonzero: return after the first client disconnects */
} sim_serve_config;

/*
 * Parses "127.0.0.1:PORT" into *port. Any other address is rejected with
 * TRUSTX_E_INVALID_ARG, because the simulator must only be reachable from
 * this machine.
 */
trustx_rc sim_serve_parse_tcp(const char *text, uint16_t *port);

/*
 * Creates the listening socket of cfg (exactly one of socket_path and tcp).
 * A stale unix socket file left by a dead server is replaced. A socket with
 * a live server behind it fails with TRUSTX_E_BUSY, and any other file at
 * that path with TRUSTX_E_IO.
 */
trustx_rc sim_serve_listen(const sim_serve_config *cfg, sim_server **out);

/* Returns the bound TCP port, or 0 for a unix socket. */
unsigned sim_serve_port(const sim_server *server);

/*
 * Serves clients one at a time on chip until *stop becomes nonzero (checked
 * at least every SIM_SERVE_POLL_MS), or after the first client with
 * cfg->once. A request with an unknown op gets status 2 and the server
 * closes the connection, because the rest of the stream cannot be framed.
 * Other bad requests get status 2 and the connection stays open.
 * Returns TRUSTX_OK on a requested stop, TRUSTX_E_IO if accept fails.
 */
trustx_rc sim_serve_run(sim_server *server, sim_chip *chip, const volatile sig_atomic_t *stop);

/* Closes the socket and removes the unix socket file. Accepts NULL. */
void sim_serve_close(sim_server *server);

/* How often a blocked server checks its stop flag. */
#define SIM_SERVE_POLL_MS 200

/*
 * Executes one decoded request on chip and writes the reply into reply
 * (room for SIM_SERVE_REPLY_HEADER + SIM_SERVE_MAX_LEN bytes). data contains
 * len bytes for 'W' and 'S' and is ignored for 'R'. Returns the reply
 * length. Unknown ops, addresses above 0x7F, lengths above
 * SIM_SERVE_MAX_LEN and 'S' with len != 4 get status 2.
 */
size_t sim_serve_execute(sim_chip *chip, uint8_t op, uint8_t addr, const uint8_t *data,
                         size_t len, uint8_t *reply);

#endif
