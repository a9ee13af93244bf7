/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the trustx and trustx-sim front ends: global options,
 * error reporting with exit statuses, output helpers. Only the CLI prints.
 */
#ifndef TRUSTX_CLI_H
#define TRUSTX_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trustx/trustx.h"

typedef struct cli_ctx {
    const char *prog;          /* "trustx" or "trustx-sim" */
    const char *device;        /* -d, or TRUSTX_DEVICE */
    int verbose;               /* count of -v */
    int json;                  /* --json */
    int trace;                 /* --trace or -vv */
} cli_ctx;

typedef int (*cli_command_fn)(cli_ctx *ctx, int argc, char **argv);

typedef struct cli_command {
    const char *name;
    cli_command_fn run;
    const char *summary;
} cli_command;

/*
 * Prints "PROG: MESSAGE" for the thread's last library error to stderr, with
 * the layer and device code when -v is given, and returns the exit status
 * for rc (1..5).
 */
int cli_report(const cli_ctx *ctx, trustx_rc rc);

/* Prints "PROG: MESSAGE" to stderr and returns exit status 1 (invalid usage or input). */
int cli_usage_error(const cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints a progress or note line to stderr unless --json is quiet about it. */
void cli_note(const cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Installs the log callback that matches -v / --trace. */
void cli_setup_logging(const cli_ctx *ctx);

/* Returns the device string to use: -d, TRUSTX_DEVICE, or NULL with a message. */
const char *cli_device(const cli_ctx *ctx);

/* Opens the chip named by -d or TRUSTX_DEVICE, wrapping it in trace when asked. */
trustx_rc cli_open_chip(const cli_ctx *ctx, trustx_chip **chip);

/* Writes len bytes as lowercase hex without separators. */
void cli_print_hex(FILE *out, const uint8_t *buf, size_t len);

/* Reads a whole file (at most max bytes) into a malloc'd buffer. */
trustx_rc cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len);

/*
 * Writes data to path through a temporary file and rename, so that a reader
 * never sees a half-written file. path "-" writes to stdout.
 */
trustx_rc cli_write_file(const char *path, const uint8_t *data, size_t len);

#endif
