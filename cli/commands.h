/* SPDX-License-Identifier: MIT */
/* The trustx subcommands; each receives argv starting at its own name. */
#ifndef TRUSTX_CLI_COMMANDS_H
#define TRUSTX_CLI_COMMANDS_H

#include "cli.h"

int cmd_info(cli_ctx *ctx, int argc, char **argv);
int cmd_object(cli_ctx *ctx, int argc, char **argv);
int cmd_random(cli_ctx *ctx, int argc, char **argv);
int cmd_diag(cli_ctx *ctx, int argc, char **argv);
int cmd_keygen(cli_ctx *ctx, int argc, char **argv);
int cmd_csr(cli_ctx *ctx, int argc, char **argv);
int cmd_cert(cli_ctx *ctx, int argc, char **argv);
int cmd_personalize(cli_ctx *ctx, int argc, char **argv);
int cmd_aws(cli_ctx *ctx, int argc, char **argv);

#endif
