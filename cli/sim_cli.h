/* SPDX-License-Identifier: MIT */
/*
 * Internal to the trustx-sim front end: the subcommands and the small
 * helpers they share for options, errors and exit statuses.
 */
#ifndef TRUSTX_SIM_CLI_H
#define TRUSTX_SIM_CLI_H

#include "cli.h"

/* How long a subcommand waits for another process to release a chip state file. */
#define SIM_CLI_LOCK_WAIT_MS 2000u

/* Exit statuses of trustx-sim. */
#define SIM_EXIT_OK 0
#define SIM_EXIT_USAGE 1           /* invalid usage or input */
#define SIM_EXIT_IO 2              /* I/O, socket or state file failure */

int sim_cmd_init(cli_ctx *ctx, int argc, char **argv);
int sim_cmd_serve(cli_ctx *ctx, int argc, char **argv);
int sim_cmd_show(cli_ctx *ctx, int argc, char **argv);

/*
 * Prints "trustx-sim: MESSAGE" for the thread's last library error and
 * returns the exit status for rc: 1 for invalid input, 2 otherwise.
 */
int sim_cli_fail(const cli_ctx *ctx, trustx_rc rc);

/* Prints "trustx-sim: MESSAGE" and a pointer to --help; returns SIM_EXIT_USAGE. */
int sim_cli_usage_error(const cli_ctx *ctx, const char *command, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints "trustx-sim: MESSAGE" to stderr. */
void sim_cli_note(const cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns nonzero for -h and --help. */
int sim_cli_is_help(const char *arg);

/*
 * Matches argv[*i] against option name ("--name VALUE" or "--name=VALUE").
 * Returns 0 when it is another argument; otherwise sets *value (NULL when
 * the value is missing), advances *i past a separate value and returns 1.
 */
int sim_cli_option_value(int argc, char **argv, int *i, const char *name, const char **value);

#endif
